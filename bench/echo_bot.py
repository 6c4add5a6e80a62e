"""The webhook benchmark's baseline: a minimal echo bot, as line-bot-sdk v3's README writes one.

    gunicorn bench.echo_bot:app ...     # run by bench/webhook.py with the Procfile's web settings

WebhookHandler checks the signature and dispatches; each event is answered with one reply through
MessagingApi, with an ApiClient opened per event as the SDK's documented usage does. Beyond the README's
text echo it also answers postbacks and follows, so that every event of the benchmark's mix costs one
reply here as it does in the bot. Settings come from the same variables as the bot's.
"""
from __future__ import annotations

import os

from flask import Flask, abort, request
from linebot.v3 import WebhookHandler
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, ReplyMessageRequest, TextMessage
from linebot.v3.webhooks import FollowEvent, MessageEvent, PostbackEvent, TextMessageContent

app = Flask(__name__)

configuration = Configuration(host=os.environ.get("LINE_API_BASE_URL", "https://api.line.me"),
                              access_token=os.environ["LINE_CHANNEL_ACCESS_TOKEN"])
handler = WebhookHandler(os.environ["LINE_CHANNEL_SECRET"])


@app.route("/callback", methods=["POST"])
def callback():
    signature = request.headers["X-Line-Signature"]
    body = request.get_data(as_text=True)
    app.logger.info("Request body: " + body)
    try:
        handler.handle(body, signature)
    except InvalidSignatureError:
        abort(400)
    return "OK"


@app.get("/healthz")
def healthz():
    return "OK"


def _reply(event, text: str) -> None:
    with ApiClient(configuration) as api_client:
        line_bot_api = MessagingApi(api_client)
        line_bot_api.reply_message_with_http_info(
            ReplyMessageRequest(reply_token=event.reply_token, messages=[TextMessage(text=text)]))


@handler.add(MessageEvent, message=TextMessageContent)
def handle_message(event):
    _reply(event, event.message.text)


@handler.add(PostbackEvent)
def handle_postback(event):
    _reply(event, event.postback.data)


@handler.add(FollowEvent)
def handle_follow(event):
    _reply(event, "Thanks for adding me as a friend!")
