"""The one-pass serialization of replies, pushes and multicasts (bot.line.client.OnePass) sends the same
JSON as the SDK's own request models, for every Flex template and for text with quick replies."""
from __future__ import annotations

import pytest
from linebot.v3.messaging import MulticastRequest, PushMessageRequest, ReplyMessageRequest

from bot import messages
from bot.line.client import OnePassMulticastRequest, OnePassPushRequest, OnePassReplyRequest
from tests.test_templates import SAMPLES

CASES = [pytest.param(lambda name=name: messages.render(name, **SAMPLES[name]), id=name) for name in SAMPLES]
CASES.append(pytest.param(lambda: [messages.text("検索しますか?", [
    {"type": "postback", "label": "求人を探す", "data": "v=1&a=search.menu", "displayText": "求人を探す"},
    {"type": "message", "label": "使い方", "text": "使い方"}])], id="text with quick replies"))


@pytest.mark.parametrize("build", CASES)
def test_same_json_as_the_sdk(build):
    sent = build()
    assert not any(m.to_dict().get("text") == messages.FALLBACK_TEXT for m in sent), "the template failed"
    ours = OnePassReplyRequest(reply_token="t" * 32, messages=sent).to_dict()
    assert ours == ReplyMessageRequest(reply_token="t" * 32, messages=sent).to_dict()
    assert ours["messages"] and ours["replyToken"] == "t" * 32
    # The dispatcher's way: outbox dicts back into SDK objects, as the SDK's from_dict builds them.
    stored = messages.to_dicts(sent)
    user = "U" + "1" * 32
    assert OnePassPushRequest(to=user, messages=sent).to_dict() == \
        PushMessageRequest.from_dict({"to": user, "messages": stored}).to_dict()
    assert OnePassMulticastRequest(to=[user, user[:-1] + "2"], messages=sent).to_dict() == \
        MulticastRequest.from_dict({"to": [user, user[:-1] + "2"], "messages": stored}).to_dict()


def test_the_sdk_keeps_our_request_through_its_argument_validation(emulator, settings):
    """reply_message_with_http_info validates its argument (pydantic copies it): the copy must still
    serialize in one pass, and the emulator must accept what is sent."""
    from bot.line.client import LineClient

    user = emulator.add_user()["userId"]
    line = LineClient(settings)
    calls = []
    original = OnePassReplyRequest.to_dict

    def counting(self):
        calls.append(type(self).__name__)
        return original(self)

    OnePassReplyRequest.to_dict = counting
    try:
        result = line.reply(emulator.issue_reply_token(user), messages.render("job_results.json.j2",
                                                                               **SAMPLES["job_results.json.j2"]))
    finally:
        OnePassReplyRequest.to_dict = original
        line.close()
    assert result.outcome == "sent"
    assert calls == ["OnePassReplyRequest"]
    assert emulator.messages_for(user)[0]["type"] == "flex"
