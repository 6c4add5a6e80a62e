"""Reply tokens: single use, 60 seconds, and only for the event's user."""
import datetime as dt

import pytest
import time_machine
from linebot.v3.messaging import ApiException, ReplyMessageRequest, TextMessage

from simulator.emulator import REPLY_TOKEN_TTL

from .conftest import USER_A, USER_B, text

START = dt.datetime(2025, 4, 1, 9, 0, tzinfo=dt.timezone.utc)


def reply(api, token, words="はい"):
    return api.reply_message(ReplyMessageRequest(reply_token=token,
                                                 messages=[TextMessage(text=words)]))


def assert_invalid(api, token):
    with pytest.raises(ApiException) as caught:
        reply(api, token)
    assert caught.value.status == 400
    assert caught.value.body == '{"message": "Invalid reply token"}'


def test_ttl_is_lines_one_minute():
    assert REPLY_TOKEN_TTL == 60


def test_reply_goes_to_the_user_of_the_event(api, state, users):
    token = state.issue_reply_token(USER_A)
    answer = reply(api, token, "ご用件をどうぞ")
    assert len(answer.sent_messages) == 1
    assert state.messages_for(USER_A) == [text("ご用件をどうぞ")]
    assert state.messages_for(USER_B) == []
    assert state.records(endpoint="reply")[0]["to"] == [USER_A]


def test_reused_token_is_invalid(api, state, users):
    token = state.issue_reply_token(USER_A)
    reply(api, token)
    assert_invalid(api, token)
    assert len(state.messages_for(USER_A)) == 1
    assert state.rejected()[-1]["reason"] == "reply-token"


def test_unknown_token_is_invalid(api, users):
    assert_invalid(api, "0" * 32)


def test_token_expires_after_60_seconds(api, state, users):
    with time_machine.travel(START, tick=False) as traveller:
        fresh = state.issue_reply_token(USER_A)
        stale = state.issue_reply_token(USER_A)
        traveller.shift(59)
        reply(api, fresh)
        traveller.shift(2)
        assert_invalid(api, stale)
    assert len(state.messages_for(USER_A)) == 1


def test_a_refused_reply_does_not_spend_the_token(api, raw, state, users):
    token = state.issue_reply_token(USER_A)
    bad = raw("POST", "/v2/bot/message/reply",
              {"replyToken": token, "messages": [text("x" * 5001)]})
    assert bad.status == 400
    reply(api, token)
    assert len(state.messages_for(USER_A)) == 1


def test_reply_does_not_count_against_the_quota(api, state, users):
    state.set_quota(0)
    reply(api, state.issue_reply_token(USER_A))
    assert state.consumption() == 0
    assert len(state.messages_for(USER_A)) == 1


def test_tokens_for_unknown_users_are_not_issued(state):
    with pytest.raises(KeyError):
        state.issue_reply_token(USER_A)
