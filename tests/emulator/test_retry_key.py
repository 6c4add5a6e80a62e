"""X-Line-Retry-Key: one delivery per key for 24 hours."""
import datetime as dt
import json
import uuid

import pytest
import time_machine
from linebot.v3.messaging import (ApiException, BroadcastRequest, MulticastRequest,
                                  NarrowcastRequest, PushMessageRequest, TextMessage)

from .conftest import USER_A, USER_B, text

START = dt.datetime(2025, 4, 1, 9, 0, tzinfo=dt.timezone.utc)


def push(api, key, words="求人"):
    return api.push_message_with_http_info(
        PushMessageRequest(to=USER_A, messages=[TextMessage(text=words)]), x_line_retry_key=key)


def test_same_key_again_is_409_with_the_first_request_id(api, state, users):
    key = str(uuid.uuid4())
    first = push(api, key)
    with pytest.raises(ApiException) as caught:
        push(api, key)
    conflict = caught.value
    assert conflict.status == 409
    assert conflict.headers["X-Line-Accepted-Request-Id"] == first.headers["X-Line-Request-Id"]
    body = json.loads(conflict.body)
    assert body["message"] == "The retry key is already accepted"
    assert body["sentMessages"] == [m.to_dict() for m in first.data.sent_messages]
    assert state.messages_for(USER_A) == [text("求人")]
    assert len(state.records()) == 1
    assert state.rejected()[-1]["reason"] == "retry-key-conflict"


@pytest.mark.parametrize("send", [
    lambda api, key: api.multicast(MulticastRequest(to=[USER_A, USER_B],
                                                    messages=[TextMessage(text="m")]),
                                   x_line_retry_key=key),
    lambda api, key: api.broadcast(BroadcastRequest(messages=[TextMessage(text="m")]),
                                   x_line_retry_key=key),
    lambda api, key: api.narrowcast(NarrowcastRequest(messages=[TextMessage(text="m")]),
                                    x_line_retry_key=key),
], ids=["multicast", "broadcast", "narrowcast"])
def test_other_sends_honour_the_key(api, state, users, send):
    key = str(uuid.uuid4())
    send(api, key)
    with pytest.raises(ApiException) as caught:
        send(api, key)
    assert caught.value.status == 409
    assert state.messages_for(USER_B) == [text("m")]


def test_key_must_be_a_uuid(raw, state, users):
    answer = raw("POST", "/v2/bot/message/push", {"to": USER_A, "messages": [text()]},
                 headers={"X-Line-Retry-Key": "not-a-uuid"})
    assert answer.status == 400
    assert answer.json["details"][0]["property"] == "X-Line-Retry-Key"
    assert state.messages_for(USER_A) == []


def test_key_of_a_failed_request_is_not_consumed(api, raw, state, users):
    key = str(uuid.uuid4())
    bad = raw("POST", "/v2/bot/message/push", {"to": USER_A, "messages": [text("")]},
              headers={"X-Line-Retry-Key": key})
    assert bad.status == 400
    state.inject(endpoint="push", status=500, times=1)
    with pytest.raises(ApiException) as caught:
        push(api, key)
    assert caught.value.status == 500
    assert push(api, key).status_code == 200
    assert state.messages_for(USER_A) == [text("求人")]


def test_key_is_remembered_for_24_hours_only(api, state, users):
    key = str(uuid.uuid4())
    with time_machine.travel(START, tick=False) as traveller:
        push(api, key, "1")
        traveller.shift(24 * 3600 - 1)
        with pytest.raises(ApiException) as caught:
            push(api, key, "2")
        assert caught.value.status == 409
        traveller.shift(2)
        assert push(api, key, "3").status_code == 200
    assert [m["text"] for m in state.messages_for(USER_A)] == ["1", "3"]


def test_different_keys_are_different_requests(api, state, users):
    push(api, str(uuid.uuid4()))
    push(api, str(uuid.uuid4()))
    assert len(state.messages_for(USER_A)) == 2
    assert [r["retry_key"] is not None for r in state.records()] == [True, True]
