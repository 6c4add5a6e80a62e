"""Every Flex template renders with sample data into messages LINE would accept."""
from __future__ import annotations

import pytest

from bot import links, messages
from bot.line.limits import LimitError, check_messages
from handlers.menu import quick_replies

SAMPLES = {
    "greeting.json.j2": dict(name="大村 花子\"<>", came_back=False, privacy_url="https://hw-omura.test/privacy",
                             office="ハローワーク大村", quick_replies=quick_replies()),
    "login.json.j2": dict(links=links),
    "help.json.j2": dict(links=links, quick_replies=quick_replies()),
}


def test_every_template_has_sample_data():
    assert sorted(SAMPLES) == messages.template_names()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_template_renders_to_valid_messages(name):
    dicts = messages.render_dicts(name, **SAMPLES[name])
    check_messages(dicts)
    assert all(m.to_dict() for m in messages.render(name, **SAMPLES[name]))


def test_values_cannot_break_the_json():
    [greeting, _] = messages.render_dicts("greeting.json.j2", **{**SAMPLES["greeting.json.j2"],
                                                                 "name": '"},{"type":"x'})
    assert greeting["text"].startswith('"},{"type":"x')


def test_a_broken_template_becomes_the_plain_text_fallback(caplog):
    [message] = messages.render("greeting.json.j2")  # missing values
    assert message.text == messages.FALLBACK_TEXT
    assert "greeting.json.j2" in caplog.text


@pytest.mark.parametrize("bad", [
    [],
    [{"type": "text", "text": "x"}] * 6,
    [{"type": "text", "text": "あ" * 5001}],
    [{"type": "flex", "altText": "", "contents": {"type": "bubble"}}],
    [{"type": "text", "text": "x", "quickReply": {"items": [
        {"type": "action", "action": {"type": "message", "label": "あ" * 21, "text": "x"}}]}}],
    [{"type": "text", "text": "x", "quickReply": {"items": [
        {"type": "action", "action": {"type": "message", "label": "a", "text": "x"}}] * 14}}],
    [{"type": "flex", "altText": "x", "contents": {"type": "bubble", "footer": {"type": "box", "layout": "vertical",
      "contents": [{"type": "button", "action": {"type": "postback", "label": "x", "data": "d" * 301}}]}}}],
    [{"type": "flex", "altText": "x", "contents": {"type": "carousel", "contents": [{"type": "bubble"}] * 13}}],
    [{"type": "flex", "altText": "x", "contents": {"type": "bubble", "footer": {"type": "box", "layout": "vertical",
      "contents": [{"type": "button", "action": {"type": "uri", "label": "x", "uri": "javascript:alert(1)"}}]}}}],
])
def test_limits(bad):
    with pytest.raises(LimitError):
        check_messages(bad)
