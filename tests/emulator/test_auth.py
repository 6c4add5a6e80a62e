"""Access tokens, request ids, and answers to what is not JSON or not a route."""
import json

import pytest
from linebot.v3.messaging import (ApiClient, Configuration, MessagingApi, PushMessageRequest,
                                  TextMessage)
from linebot.v3.messaging.exceptions import UnauthorizedException

from .conftest import USER_A, text


def test_wrong_token_is_refused_with_lines_message(base_url, users, state):
    config = Configuration(host=base_url, access_token="not-a-channel-token")
    with ApiClient(config) as client, pytest.raises(UnauthorizedException) as caught:
        MessagingApi(client).push_message(
            PushMessageRequest(to=USER_A, messages=[TextMessage(text="hi")]))
    assert caught.value.status == 401
    assert '"message": "Authentication failed.' in caught.value.body
    assert state.messages_for(USER_A) == []
    assert state.records() == []
    assert [r["reason"] for r in state.rejected()] == ["auth"]


def test_missing_authorization_header_is_refused(raw, users):
    answer = raw("POST", "/v2/bot/message/push", {"to": USER_A, "messages": [text()]},
                 token=None)
    assert answer.status == 401
    assert answer.json["message"].startswith("Authorization header required")


def test_any_configured_token_is_accepted(raw, users):
    answer = raw("GET", "/v2/bot/info", token="second-token")
    assert answer.status == 200
    assert answer.json["chatMode"] in ("chat", "bot")


@pytest.mark.parametrize("method, path, token", [
    ("GET", "/v2/bot/info", "demo-token"),
    ("GET", "/v2/bot/info", "wrong"),
    ("GET", "/v2/bot/no-such-endpoint", "demo-token"),
    ("GET", "/_emulator/records", None),
])
def test_every_answer_carries_a_request_id(raw, method, path, token):
    answer = raw(method, path, token=token)
    assert len(answer.headers["X-Line-Request-Id"]) == 36


def test_request_ids_differ_between_calls(raw):
    first = raw("GET", "/v2/bot/info").headers["X-Line-Request-Id"]
    second = raw("GET", "/v2/bot/info").headers["X-Line-Request-Id"]
    assert first != second


@pytest.mark.parametrize("data", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b'"text"',
                                  # lone surrogates: JSON's grammar allows them, no character is one
                                  b'{"to": "U' + b"0" * 32 + b'", "messages": [{"type": "text", "text": "\\ud800"}]}',
                                  b'{"to": "U' + b"0" * 32 + b'", "messages": [{"type": "text", "text": "a\\uDFFFb"}]}'])
def test_body_that_is_not_a_json_object_is_refused(raw, users, state, data):
    answer = raw("POST", "/v2/bot/message/push", data=data,
                 headers={"Content-Type": "application/json"})
    assert answer.status == 400
    assert "JSON" in answer.json["message"]
    assert state.rejected()[-1]["reason"] == "not-json"


def test_unknown_route_is_404_json(raw, state):
    answer = raw("POST", "/v2/bot/message/nothing", {"x": 1})
    assert answer.status == 404
    assert answer.json == {"message": "Not found"}
    assert state.rejected()[-1]["reason"] == "no-route"


def test_an_escaped_surrogate_pair_is_one_character_and_delivered(raw, users, state):
    # What json.dumps sends by default for an emoji: the pair is a character, not a lone surrogate.
    body = json.dumps({"to": USER_A, "messages": [{"type": "text", "text": "求人🙇 \udbff\udfff"}]})
    assert "\\ud83d\\ude47" in body
    answer = raw("POST", "/v2/bot/message/push", data=body.encode(),
                 headers={"Content-Type": "application/json"})
    assert answer.status == 200
    assert state.messages_for(USER_A) == [{"type": "text", "text": "求人🙇 \U0010ffff"}]
