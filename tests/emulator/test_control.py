"""The /_emulator/ endpoints, driven over HTTP as another process would."""
import pytest

from .conftest import USER_A, USER_B, text


def control(raw, method, path, body=None):
    return raw(method, "/_emulator" + path, body, token=None)


def test_users_block_unblock_and_messages(raw):
    added = control(raw, "POST", "/users", {"userId": USER_A, "displayName": "大村 花子"})
    assert added.status == 200 and added.json["displayName"] == "大村 花子"
    generated = control(raw, "POST", "/users", {}).json["userId"]
    assert generated.startswith("U") and len(generated) == 33
    assert len(control(raw, "GET", "/users").json["users"]) == 2

    assert control(raw, "POST", f"/users/{USER_A}/block").status == 200
    raw("POST", "/v2/bot/message/push", {"to": USER_A, "messages": [text("blocked")]})
    assert control(raw, "POST", f"/users/{USER_A}/unblock").status == 200
    raw("POST", "/v2/bot/message/push", {"to": USER_A, "messages": [text("open")]})
    assert control(raw, "GET", f"/messages/{USER_A}").json == {"messages": [text("open")]}


def test_unknown_user_and_bad_input(raw):
    assert control(raw, "POST", f"/users/{USER_A}/block").status == 404
    assert control(raw, "POST", "/users", {"userId": "nope"}).status == 400
    assert control(raw, "POST", "/reply-tokens", {"userId": USER_B}).status == 404
    assert raw("POST", "/_emulator/users", data=b"{oops", token=None).status == 400


def test_reply_token_and_records(raw):
    control(raw, "POST", "/users", {"userId": USER_A})
    token = control(raw, "POST", "/reply-tokens", {"userId": USER_A}).json["replyToken"]
    assert raw("POST", "/v2/bot/message/reply",
               {"replyToken": token, "messages": [text("返信")]}).status == 200
    raw("GET", "/v2/bot/info")

    everything = control(raw, "GET", "/records").json["records"]
    assert [r["endpoint"] for r in everything] == ["reply", "info"]
    only = control(raw, "GET", f"/records?userId={USER_A}&endpoint=reply").json["records"]
    assert len(only) == 1 and only[0]["to"] == [USER_A]
    assert only[0]["body"]["messages"] == [text("返信")]


def test_faults_over_http(raw):
    control(raw, "POST", "/users", {"userId": USER_A})
    rule = control(raw, "POST", "/faults", {"endpoint": "push", "status": 429, "times": 1})
    assert rule.status == 200 and rule.json["times"] == 1
    assert len(control(raw, "GET", "/faults").json["faults"]) == 1
    push = {"to": USER_A, "messages": [text()]}
    assert raw("POST", "/v2/bot/message/push", push).status == 429
    assert raw("POST", "/v2/bot/message/push", push).status == 200

    control(raw, "POST", "/faults", {"endpoint": "*", "status": 500})
    assert control(raw, "DELETE", "/faults").status == 200
    assert raw("POST", "/v2/bot/message/push", push).status == 200
    assert control(raw, "POST", "/faults", {"endpoint": "push", "colour": "red"}).status == 400

    refused = control(raw, "GET", "/rejected").json["rejected"]
    assert [(r["status"], r["reason"]) for r in refused] == [(429, "fault")]


def test_quota_and_reset(raw, state):
    control(raw, "POST", "/users", {"userId": USER_A})
    answer = control(raw, "POST", "/quota", {"limit": 1})
    assert answer.json == {"limit": 1, "consumption": 0}
    push = {"to": USER_A, "messages": [text()]}
    assert raw("POST", "/v2/bot/message/push", push).status == 200
    assert raw("POST", "/v2/bot/message/push", push).status == 429
    assert control(raw, "GET", "/quota").json == {"limit": 1, "consumption": 1}
    assert control(raw, "POST", "/quota", {"limit": None}).json["limit"] is None
    assert control(raw, "POST", "/quota", {}).status == 400

    assert control(raw, "POST", "/reset").status == 200
    assert state.users() == [] and state.records() == [] and state.rejected() == []
    assert state.quota() is None


@pytest.mark.parametrize("path", ["/records", "/rejected", f"/messages/{USER_A}", "/users"])
def test_control_answers_need_no_token(raw, path):
    assert control(raw, "GET", path).status == 200
