"""Checking messages once by shape (bot.line.checked): a message whose shape was accepted before skips
the SDK's models, and still nothing LINE would refuse gets through."""
from __future__ import annotations

import copy

import pytest

from bot.line import checked
from bot.line.limits import BUBBLE_MAX_BYTES, CAROUSEL_MAX_BYTES, LimitError, json_size


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


def _carousel(bubbles: list[dict], alt: str = "求人") -> dict:
    return {"type": "flex", "altText": alt, "contents": {"type": "carousel", "contents": bubbles}}


def _padded_to(size: int, bubbles: list[dict]) -> dict:
    """The carousel with its last bubble's text lengthened so that its compact JSON is `size` bytes."""
    message = _carousel(copy.deepcopy(bubbles))
    short = json_size(message["contents"])
    message["contents"]["contents"][-1]["body"]["contents"][0]["text"] += "x" * (size - short)
    assert json_size(message["contents"]) == size
    return message


@pytest.mark.parametrize("known_first", [False, True])
def test_a_carousel_is_held_to_50_kb_to_the_byte(known_first):
    """The size is summed from the bubbles' own sizes: at the limit it passes, a byte more is refused,
    whether its bubbles were seen before or not."""
    bubbles = [bubble(f"求人{i}" + "あ" * 2_500, uri=f"https://example.org/job/{i}")["contents"] for i in range(6)]
    if known_first:
        checked.check([_carousel(bubbles)])
    at_limit = _padded_to(CAROUSEL_MAX_BYTES, bubbles)
    assert checked.check([at_limit])[0].to_dict() == at_limit
    with pytest.raises(LimitError, match="50 KB or less"):
        checked.check([_padded_to(CAROUSEL_MAX_BYTES + 1, bubbles)])


def _bubble_of(size: int) -> dict:
    padded = bubble("求人")["contents"]
    padded["body"]["contents"][0]["text"] += "x" * (size - json_size(padded))
    assert json_size(padded) == size
    return padded


def test_a_bubble_in_a_carousel_is_held_to_30_kb_to_the_byte():
    small = bubble("求人")["contents"]
    checked.check([_carousel([small, _bubble_of(BUBBLE_MAX_BYTES)])])
    over = _bubble_of(BUBBLE_MAX_BYTES + 1)
    with pytest.raises(LimitError) as caught:
        checked.check([_carousel([small, over])])
    assert [p["property"] for p in caught.value.problems] == ["messages[0].contents.contents[1]"]


def test_known_bubbles_do_not_carry_a_new_shape_or_frame_through():
    """Bubbles and a carousel accepted before: a bubble of a shape the SDK refuses beside them, or the
    same bubbles under a frame LINE would refuse, are still refused."""
    bubbles = [bubble(f"求人{i}", uri=f"https://example.org/job/{i}")["contents"] for i in range(3)]
    checked.check([_carousel(bubbles)])
    odd = copy.deepcopy(bubbles[0])
    odd["body"]["contents"][0]["weight"] = "heavy"
    with pytest.raises(LimitError, match="weight"):
        checked.check([_carousel(bubbles + [odd])])
    with pytest.raises(LimitError, match="altText"):
        checked.check([_carousel(bubbles, alt="あ" * 1501)])
    with pytest.raises(LimitError, match="between 1 and 12"):
        checked.check([_carousel(bubbles * 5)])
