"""Each of LINE's message limits, just inside and just outside."""
import copy

import pytest
from linebot.v3.messaging import (ApiException, ButtonsTemplate, FlexContainer, FlexMessage,
                                  PushMessageRequest, TemplateMessage, TextMessage, URIAction)

from .conftest import USER_A, text

PUSH = "/v2/bot/message/push"


def push(raw, *messages):
    return raw("POST", PUSH, {"to": USER_A, "messages": list(messages)})


def properties(answer):
    return [d.get("property") for d in answer.json.get("details", [])]


def bubble(body_text="x"):
    return {"type": "bubble", "body": {"type": "box", "layout": "vertical",
                                       "contents": [{"type": "text", "text": body_text}]}}


def flex(contents, alt="求人"):
    return {"type": "flex", "altText": alt, "contents": contents}


def postback(data="a=1", label="見る"):
    return {"type": "postback", "label": label, "data": data}


def buttons(actions, **fields):
    template = {"type": "buttons", "text": "本文", "actions": actions, **fields}
    return {"type": "template", "altText": "ボタン", "template": template}


def quick(items_count, label="はい"):
    item = {"type": "action", "action": {"type": "message", "label": label, "text": "はい"}}
    return {**text(), "quickReply": {"items": [copy.deepcopy(item) for _ in range(items_count)]}}


@pytest.fixture(autouse=True)
def friend(users):
    return users


def test_errors_use_lines_shape_with_property_paths(raw, state):
    answer = push(raw, text(), {"type": "text"}, {"type": "video"}, {"type": "nope"})
    assert answer.status == 400
    assert answer.json["message"] == "The request body has 4 error(s)"
    assert properties(answer) == ["messages[1].text", "messages[2].originalContentUrl",
                                  "messages[2].previewImageUrl", "messages[3].type"]
    assert state.records() == [] and state.messages_for(USER_A) == []
    refused = state.rejected()[-1]
    assert (refused["status"], refused["reason"]) == (400, "validation")
    assert refused["details"] == answer.json["details"]


@pytest.mark.parametrize("count, ok", [(0, False), (1, True), (5, True), (6, False)])
def test_one_to_five_messages_per_request(raw, count, ok):
    answer = push(raw, *[text(str(i)) for i in range(count)])
    assert (answer.status == 200) is ok
    if not ok:
        assert "messages" in properties(answer)


def test_text_of_5000_characters_passes_and_5001_fails_through_the_sdk(api):
    api.push_message(PushMessageRequest(to=USER_A, messages=[TextMessage(text="あ" * 5000)]))
    with pytest.raises(ApiException) as caught:
        api.push_message(PushMessageRequest(to=USER_A, messages=[TextMessage(text="あ" * 5001)]))
    assert caught.value.status == 400
    assert "messages[0].text" in caught.value.body


def test_text_length_counts_emoji_as_two(raw):
    assert push(raw, text("😀" * 2500)).status == 200
    assert push(raw, text("😀" * 2500 + "a")).status == 400


def test_empty_text_is_refused(raw):
    answer = push(raw, text(""))
    assert answer.status == 400 and properties(answer) == ["messages[0].text"]


@pytest.mark.parametrize("length, ok", [(1500, True), (1501, False)])
def test_flex_alt_text_at_most_1500(raw, length, ok):
    assert (push(raw, flex(bubble(), alt="a" * length)).status == 200) is ok


@pytest.mark.parametrize("length, ok", [(1500, True), (1501, False)])
def test_template_alt_text_at_most_1500(raw, length, ok):
    message = buttons([postback()])
    message["altText"] = "a" * length
    assert (push(raw, message).status == 200) is ok


@pytest.mark.parametrize("count, ok", [(12, True), (13, False)])
def test_flex_carousel_at_most_12_bubbles(raw, count, ok):
    answer = push(raw, flex({"type": "carousel", "contents": [bubble()] * count}))
    assert (answer.status == 200) is ok


def test_flex_bubble_at_most_30_kb(raw):
    assert push(raw, flex(bubble("x" * 29_000))).status == 200
    answer = push(raw, flex(bubble("x" * 30_000)))
    assert answer.status == 400 and properties(answer) == ["messages[0].contents"]


def test_flex_carousel_at_most_50_kb(raw):
    assert push(raw, flex({"type": "carousel", "contents": [bubble("x" * 9_000)] * 5})).status == 200
    answer = push(raw, flex({"type": "carousel", "contents": [bubble("x" * 9_000)] * 6}))
    assert answer.status == 400 and properties(answer) == ["messages[0].contents"]


def test_flex_built_with_the_sdk_is_checked_too(api):
    huge = FlexContainer.from_dict(bubble("x" * 31_000))
    with pytest.raises(ApiException) as caught:
        api.push_message(PushMessageRequest(to=USER_A, messages=[
            FlexMessage(alt_text="求人", contents=huge)]))
    assert caught.value.status == 400


@pytest.mark.parametrize("count, ok", [(13, True), (14, False)])
def test_quick_reply_at_most_13_items(raw, count, ok):
    assert (push(raw, quick(count)).status == 200) is ok


@pytest.mark.parametrize("label, ok", [("あ" * 20, True), ("あ" * 21, False), (None, False)])
def test_quick_reply_label_required_and_at_most_20(raw, label, ok):
    message = quick(1, label=label)
    if label is None:
        del message["quickReply"]["items"][0]["action"]["label"]
    answer = push(raw, message)
    assert (answer.status == 200) is ok
    if not ok:
        assert properties(answer) == ["messages[0].quickReply.items[0].action.label"]


@pytest.mark.parametrize("length, ok", [(300, True), (301, False)])
def test_postback_data_at_most_300(raw, length, ok):
    answer = push(raw, buttons([postback(data="d" * length)]))
    assert (answer.status == 200) is ok


@pytest.mark.parametrize("uri, ok", [
    ("https://example.com/" + "a" * 980, True),
    ("https://example.com/" + "a" * 981, False),
    ("http://example.com/", True),
    ("line://nv/location", True),
    ("tel:0957-52-8609", True),
    ("ftp://example.com/file", False),
    ("javascript:alert(1)", False),
    ("", False),
])
def test_uri_action_length_and_scheme(raw, uri, ok):
    action = {"type": "uri", "label": "開く", "uri": uri}
    answer = push(raw, buttons([action]))
    assert (answer.status == 200) is ok, answer.json
    if not ok:
        assert "messages[0].template.actions[0].uri" in properties(answer)


def test_uri_action_inside_flex_is_checked(raw):
    content = bubble()
    content["body"]["contents"].append(
        {"type": "button", "action": {"type": "uri", "label": "x", "uri": "ftp://example.com"}})
    answer = push(raw, flex(content))
    assert properties(answer) == ["messages[0].contents.body.contents[1].action.uri"]


@pytest.mark.parametrize("count, ok", [(4, True), (5, False), (0, False)])
def test_buttons_template_at_most_4_actions(raw, count, ok):
    answer = push(raw, buttons([postback(data=str(i)) for i in range(count)]))
    assert (answer.status == 200) is ok


@pytest.mark.parametrize("length, ok", [(40, True), (41, False)])
def test_buttons_title_at_most_40(raw, length, ok):
    answer = push(raw, buttons([postback()], title="t" * length, text="短い本文"))
    assert (answer.status == 200) is ok


@pytest.mark.parametrize("fields, length, ok", [
    ({}, 160, True),
    ({}, 161, False),
    ({"title": "求人"}, 60, True),
    ({"title": "求人"}, 61, False),
    ({"thumbnailImageUrl": "https://example.com/i.jpg"}, 61, False),
])
def test_buttons_text_160_or_60_with_image_or_title(raw, fields, length, ok):
    answer = push(raw, buttons([postback()], **{**fields, "text": "t" * length}))
    assert (answer.status == 200) is ok


def test_buttons_action_label_at_most_20_through_the_sdk(api):
    def send(label):
        template = ButtonsTemplate(text="本文", actions=[
            URIAction(label=label, uri="https://example.com")])
        api.push_message(PushMessageRequest(to=USER_A, messages=[
            TemplateMessage(alt_text="ボタン", template=template)]))
    send("あ" * 20)
    with pytest.raises(ApiException) as caught:
        send("あ" * 21)
    assert "messages[0].template.actions[0].label" in caught.value.body


def test_image_urls_must_be_https(raw):
    image = {"type": "image", "originalContentUrl": "https://example.com/a.jpg",
             "previewImageUrl": "https://example.com/a_s.jpg"}
    assert push(raw, image).status == 200
    answer = push(raw, {**image, "previewImageUrl": "http://example.com/a_s.jpg"})
    assert properties(answer) == ["messages[0].previewImageUrl"]


def test_top_level_fields_are_checked_by_the_sdk_model(raw):
    answer = raw("POST", PUSH, {"to": 42, "messages": [text()], "notificationDisabled": "yes"})
    assert answer.status == 400
    assert set(properties(answer)) == {"to", "notificationDisabled"}
