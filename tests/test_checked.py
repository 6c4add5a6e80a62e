"""Checking messages once by shape (bot.line.checked): a message whose shape was accepted before skips
the SDK's models, and still nothing LINE would refuse gets through."""
from __future__ import annotations

import copy

import pytest

from bot.line import checked
from bot.line.limits import LimitError


def bubble(text: str, size: str = "md", uri: str = "https://example.org/job/1") -> dict:
    return {"type": "flex", "altText": text[:20] or "求人", "contents": {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": [
            {"type": "text", "text": text, "size": size, "wrap": True}]},
        "footer": {"type": "box", "layout": "vertical", "contents": [
            {"type": "button", "action": {"type": "uri", "label": "詳しく見る", "uri": uri}},
            {"type": "button", "style": "link", "action": {"type": "postback", "label": "お気に入り",
                                                            "data": "v=1&a=fav.add&j=1"}}]}}}


def test_messages_of_a_known_shape_are_sent_as_they_are():
    first = checked.check([bubble("介護職員")])
    second = checked.check([bubble("別の求人のタイトル", uri="https://example.org/job/2")])
    assert first[0].to_dict() == bubble("介護職員")
    assert second[0].to_dict()["contents"]["body"]["contents"][0]["text"] == "別の求人のタイトル"


@pytest.mark.parametrize("change", [
    lambda m: m["contents"]["body"]["contents"][0].update(weight="heavy"),       # not a weight LINE knows
    lambda m: m["contents"]["body"]["contents"][0].update(align="middle"),
    lambda m: m["contents"]["body"].update(layout="diagonal"),                   # not a layout
    lambda m: m["contents"]["footer"]["contents"][1].update(style="fancy"),
    lambda m: m["contents"]["body"]["contents"][0].update(wrap="yes"),           # not a boolean
    lambda m: m["contents"]["body"]["contents"][0].update(text=12345),           # not a string
    lambda m: m["contents"]["footer"]["contents"][0]["action"].update(uri="javascript:alert(1)"),
    lambda m: m.update(altText="あ" * 1501),                                    # over LINE's limits
    lambda m: m["contents"]["footer"]["contents"][1]["action"].update(data="d" * 301),
    lambda m: m["contents"]["body"]["contents"][0].update(text="あ" * 20001),
])
def test_a_known_shape_does_not_let_a_bad_value_through(change):
    checked.check([bubble("介護職員")])  # the shape is known now
    bad = copy.deepcopy(bubble("介護職員"))
    change(bad)
    with pytest.raises(LimitError):
        checked.check([bad])


def test_sdk_refusals_keep_the_sdks_reason():
    with pytest.raises(LimitError) as caught:
        checked.check([{"type": "flex", "altText": "x", "contents": {"type": "bubble", "body": {
            "type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "x", "weight": "heavy"}]}}}])
    assert "weight" in str(caught.value)


def test_not_a_list_of_one_to_five_messages():
    for bad in ([], [{"type": "text", "text": "x"}] * 6, [{"type": "nope"}], ["text"]):
        with pytest.raises(LimitError):
            checked.check(bad)


def test_a_message_accepted_before_is_checked_again_once_it_changes():
    """Identical messages are remembered by their exact JSON; the same object edited afterwards is not."""
    message = bubble("介護職員")
    assert checked.check([message])[0].to_dict() == message
    assert checked.check([copy.deepcopy(message)])[0].to_dict() == message  # remembered: still accepted
    message["altText"] = "あ" * 1501
    with pytest.raises(LimitError):
        checked.check([message])


def test_a_known_bubble_in_a_carousel_does_not_let_a_changed_one_through():
    def carousel(*uris):
        return {"type": "flex", "altText": "求人", "contents": {"type": "carousel", "contents": [
            bubble(f"求人{i}", uri=uri)["contents"] for i, uri in enumerate(uris)]}}

    checked.check([carousel("https://example.org/job/1", "https://example.org/job/2")])
    checked.check([carousel("https://example.org/job/1", "https://example.org/job/3")])  # one bubble known
    with pytest.raises(LimitError) as caught:
        checked.check([carousel("https://example.org/job/1", "javascript:alert(1)")])
    assert "contents[1]" in str(caught.value.problems)
