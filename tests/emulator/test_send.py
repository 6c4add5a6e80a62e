"""Push, multicast, broadcast, narrowcast, profile: delivery and records."""
import pytest
from linebot.v3.messaging import (ApiException, BroadcastRequest, FlexContainer, FlexMessage,
                                  MulticastRequest, NarrowcastRequest, PushMessageRequest,
                                  ReplyMessageRequest, StickerMessage, TextMessage)
from linebot.v3.messaging.exceptions import NotFoundException
from linebot.v3.messaging.models import Limit

from .conftest import USER_A, USER_B, USER_C, text

UNKNOWN = "U" + "d" * 32


def test_push_delivers_and_answers_sent_messages(api, state, users):
    answer = api.push_message(PushMessageRequest(
        to=USER_A, messages=[TextMessage(text="求人のお知らせ"),
                             StickerMessage(package_id="446", sticker_id="1988")]))
    assert len(answer.sent_messages) == 2
    assert all(m.id.isdigit() and m.quote_token for m in answer.sent_messages)
    assert state.messages_for(USER_A) == [
        {"type": "text", "text": "求人のお知らせ"},
        {"type": "sticker", "packageId": "446", "stickerId": "1988"}]
    assert state.messages_for(USER_B) == []


def test_records_per_user_keep_call_order_across_endpoints(api, state, users):
    api.push_message(PushMessageRequest(to=USER_A, messages=[TextMessage(text="1")]))
    api.multicast(MulticastRequest(to=[USER_A, USER_B], messages=[TextMessage(text="2")]))
    token = state.issue_reply_token(USER_A)
    api.reply_message(ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="3")]))
    api.broadcast(BroadcastRequest(messages=[TextMessage(text="4")]))
    api.narrowcast(NarrowcastRequest(messages=[TextMessage(text="5")]))

    assert [r["endpoint"] for r in state.records(user_id=USER_A)] == [
        "push", "multicast", "reply", "broadcast", "narrowcast"]
    assert [r["endpoint"] for r in state.records(user_id=USER_B)] == [
        "multicast", "broadcast", "narrowcast"]
    assert [m["text"] for m in state.messages_for(USER_A)] == ["1", "2", "3", "4", "5"]
    assert [m["text"] for m in state.messages_for(USER_C)] == ["4", "5"]

    push = state.records(endpoint="push")[0]
    assert push["method"] == "POST" and push["path"] == "/v2/bot/message/push"
    assert push["body"]["messages"] == [{"type": "text", "text": "1"}]
    assert push["to"] == [USER_A] and push["retry_key"] is None
    assert len(push["request_id"]) == 36 and isinstance(push["time"], float)
    ids = [r["id"] for r in state.records()]
    assert ids == sorted(ids)


def test_flex_message_from_json_is_delivered_as_sent(api, state, users):
    bubble = {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [
        {"type": "text", "text": "大村市の求人"},
        {"type": "button", "action": {"type": "uri", "label": "詳細", "uri": "https://example.com/j/1"}}]}}
    api.push_message(PushMessageRequest(to=USER_A, messages=[
        FlexMessage(alt_text="求人", contents=FlexContainer.from_dict(bubble))]))
    delivered = state.messages_for(USER_A)[0]
    assert delivered["altText"] == "求人"
    assert delivered["contents"]["body"]["contents"][0]["text"] == "大村市の求人"


def test_push_to_unknown_user_is_refused(api, state, users):
    with pytest.raises(ApiException) as caught:
        api.push_message(PushMessageRequest(to=UNKNOWN, messages=[TextMessage(text="x")]))
    assert caught.value.status == 400
    assert '"Failed to send messages"' in caught.value.body
    assert state.records() == []


def test_push_to_blocked_user_is_accepted_but_not_delivered(api, state, users):
    state.set_blocked(USER_A, True)
    answer = api.push_message(PushMessageRequest(to=USER_A, messages=[TextMessage(text="x")]))
    assert len(answer.sent_messages) == 1
    assert state.messages_for(USER_A) == []
    assert state.records(endpoint="push")[0]["to"] == []
    assert state.consumption() == 0


def test_unblocked_user_receives_again(api, state, users):
    state.set_blocked(USER_A, True)
    state.set_blocked(USER_A, False)
    api.push_message(PushMessageRequest(to=USER_A, messages=[TextMessage(text="x")]))
    assert state.messages_for(USER_A) == [text("x")]


def test_push_with_malformed_user_id_is_a_validation_error(raw, users):
    answer = raw("POST", "/v2/bot/message/push", {"to": "Uxyz", "messages": [text()]})
    assert answer.status == 400
    assert answer.json["details"] == [{"message": "Invalid user, group or room ID",
                                       "property": "to"}]


def test_multicast_skips_blocked_and_unknown_users(api, state, users):
    state.set_blocked(USER_B, True)
    api.multicast(MulticastRequest(to=[USER_A, USER_B, UNKNOWN, USER_A],
                                   messages=[TextMessage(text="m")]))
    assert state.records(endpoint="multicast")[0]["to"] == [USER_A]
    assert state.messages_for(USER_A) == [text("m")]
    assert state.messages_for(USER_B) == []
    assert state.consumption() == 1


@pytest.mark.parametrize("to, prop", [
    ([], "to"),
    ([USER_A] * 501, "to"),
    (["Uabc"], "to[0]"),
    ([USER_A, "C" + "a" * 32], "to[1]"),
])
def test_multicast_recipients_must_be_1_to_500_user_ids(raw, users, to, prop):
    answer = raw("POST", "/v2/bot/message/multicast", {"to": to, "messages": [text()]})
    assert answer.status == 400
    assert prop in [d.get("property") for d in answer.json["details"]]


def test_multicast_of_500_user_ids_is_accepted(raw, users):
    answer = raw("POST", "/v2/bot/message/multicast", {"to": [USER_A] * 500, "messages": [text()]})
    assert answer.status == 200


def test_broadcast_reaches_every_follower_but_blocked_ones(api, state, users):
    state.set_blocked(USER_C, True)
    assert api.broadcast(BroadcastRequest(messages=[TextMessage(text="b")])) is not None
    assert state.records(endpoint="broadcast")[0]["to"] == [USER_A, USER_B]
    assert state.messages_for(USER_C) == []


def test_narrowcast_is_accepted_with_202_and_reports_progress(api, state, users):
    answer = api.narrowcast_with_http_info(NarrowcastRequest(
        messages=[TextMessage(text="n")], limit=Limit(max=2)))
    assert answer.status_code == 202
    request_id = answer.headers["X-Line-Request-Id"]
    progress = api.get_narrowcast_progress(request_id)
    assert progress.phase == "succeeded"
    assert progress.target_count == 2 and progress.success_count == 2
    assert state.records(endpoint="narrowcast")[0]["to"] == [USER_A, USER_B]


def test_narrowcast_progress_of_unknown_request_is_404(api, users):
    with pytest.raises(NotFoundException):
        api.get_narrowcast_progress("00000000-0000-0000-0000-000000000000")


def test_profile_of_a_friend(api, state):
    state.add_user(USER_A, display_name="大村 太郎", picture_url="https://example.com/p.png",
                   language="ja")
    profile = api.get_profile(USER_A)
    assert (profile.display_name, profile.user_id, profile.language) == (
        "大村 太郎", USER_A, "ja")
    assert profile.picture_url == "https://example.com/p.png"


@pytest.mark.parametrize("blocked", [False, True])
def test_profile_of_unknown_or_blocked_user_is_404(api, state, users, blocked):
    user_id = USER_A if blocked else UNKNOWN
    if blocked:
        state.set_blocked(USER_A, True)
    with pytest.raises(NotFoundException) as caught:
        api.get_profile(user_id)
    assert caught.value.body == '{"message": "Not found"}'


def test_bot_info(api):
    info = api.get_bot_info()
    assert info.user_id.startswith("U") and info.basic_id.startswith("@")


def test_validate_endpoint_checks_without_sending(raw, state, users):
    ok = raw("POST", "/v2/bot/message/validate/push", {"messages": [text()]})
    bad = raw("POST", "/v2/bot/message/validate/push", {"messages": [text("x" * 5001)]})
    assert (ok.status, bad.status) == (200, 400)
    assert state.messages_for(USER_A) == []
