"""Replies, pushes and multicasts send the checked template JSON as it is (bot.line.checked.Checked,
serialized in one pass by bot.line.client.OnePass): for every Flex template and for text with quick
replies, it means to the SDK exactly what the SDK's own request models would have sent (they only add
default values such as `"animated": false`)."""
from __future__ import annotations

import pytest
from linebot.v3.messaging import Message, PushMessageRequest, ReplyMessageRequest

from bot import messages
from bot.line.client import OnePassMulticastRequest, OnePassPushRequest, OnePassReplyRequest
from tests.test_templates import SAMPLES

CASES = [pytest.param(lambda name=name: messages.render(name, **SAMPLES[name]), id=name) for name in SAMPLES]
CASES.append(pytest.param(lambda: [messages.text("検索しますか?", [
    {"type": "postback", "label": "求人を探す", "data": "v=1&a=search.menu", "displayText": "求人を探す"},
    {"type": "message", "label": "使い方", "text": "使い方"}])], id="text with quick replies"))


def same_meaning(ours: list[dict], sdk: list[dict]) -> bool:
    """The SDK reads both lists of messages into equal models."""
    return [Message.from_dict(m) for m in ours] == [Message.from_dict(m) for m in sdk]


@pytest.mark.parametrize("build", CASES)
def test_same_meaning_as_the_sdks_json(build):
    sent = build()
    stored = messages.to_dicts(sent)
    assert not any(m.get("text") == messages.FALLBACK_TEXT for m in stored), "the template failed"
    ours = OnePassReplyRequest(reply_token="t" * 32, messages=sent).to_dict()
    assert ours["messages"] == stored and ours["replyToken"] == "t" * 32
    sdk = ReplyMessageRequest.from_dict({"replyToken": "t" * 32, "messages": stored}).to_dict()
    assert same_meaning(ours["messages"], sdk["messages"])
    assert {k: v for k, v in ours.items() if k != "messages"} == {k: v for k, v in sdk.items() if k != "messages"}
    # The dispatcher's way: the outbox's dicts, sent as they were stored.
    user = "U" + "1" * 32
    push = OnePassPushRequest(to=user, messages=sent).to_dict()
    assert push["messages"] == stored and push["to"] == user
    assert same_meaning(push["messages"],
                        PushMessageRequest.from_dict({"to": user, "messages": stored}).to_dict()["messages"])
    multicast = OnePassMulticastRequest(to=[user, user[:-1] + "2"], messages=sent).to_dict()
    assert multicast["messages"] == stored and multicast["to"] == [user, user[:-1] + "2"]


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
