"""simulator.flex: LINE messages rendered as HTML (every bot template, escaping, odd input, the console preview)."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from bot import messages
from simulator.flex import PALETTE, STYLESHEET, render_message
from tests.test_templates import SAMPLES, VARIANTS


class Page(HTMLParser):
    """Visible text, the buttons (label, data-action) and every tag with its attributes."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.texts, self.buttons, self.tags, self._button = [], [], [], None
        self.feed(html)
        self.close()
        self.text = "".join(self.texts)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "button":
            self._button = {"label": "", "action": json.loads(attrs.get("data-action") or "null")}
        elif tag == "br":
            self.texts.append("\n")

    def handle_endtag(self, tag):
        if tag == "button" and self._button is not None:
            self.buttons.append(self._button)
            self._button = None

    def handle_data(self, data):
        self.texts.append(data)
        if self._button is not None:
            self._button["label"] += data


def _walk(node):
    """Texts and actions of a message dict, as LINE would show them."""
    texts, actions = [], []

    def walk(n):
        if isinstance(n, dict):
            if n.get("type") in ("text", "span") and isinstance(n.get("text"), str):
                texts.append(n["text"])
            if isinstance(n.get("action"), dict):
                actions.append(n["action"])
            for key, value in n.items():
                if key != "action":
                    walk(value)
        elif isinstance(n, list):
            for item in n:
                walk(item)

    walk(node)
    return texts, actions


@pytest.mark.parametrize("name, values", list(SAMPLES.items()) + VARIANTS,
                         ids=[n for n in SAMPLES] + [f"{n}-variant" for n, _ in VARIANTS])
def test_every_template_renders_with_its_texts_and_buttons(name, values):
    for message in messages.render_dicts(name, **values):
        html = render_message(message)
        page = Page(str(html))
        texts, actions = _walk(message)
        for text in texts:
            assert text in page.text, f"{name}: text missing: {text[:40]!r}"
        labels = [b["label"] for b in page.buttons]
        for action in actions:
            assert action["label"] in labels, f"{name}: button missing: {action['label']}"
        assert {json.dumps(b["action"], sort_keys=True) for b in page.buttons} >= \
            {json.dumps(a, sort_keys=True) for a in actions}
        assert "未対応" not in page.text
        assert not any("style" in attrs for _, attrs in page.tags), "inline styles break the console's CSP"
        assert "<script" not in html


def test_every_colour_of_the_templates_is_in_the_palette_and_the_stylesheet():
    css = STYLESHEET.read_text()
    for colour in PALETTE:
        for prefix in ("fg", "bg", "bd"):
            assert f".lf-{prefix}-{colour} " in css
    for name, values in list(SAMPLES.items()) + VARIANTS:
        for message in messages.render_dicts(name, **values):
            for found in re.findall(r'"(?:color|backgroundColor)": "#([0-9A-Fa-f]{6})"', json.dumps(message)):
                assert found.lower() in PALETTE, f"{name}: #{found} would not be shown"


def test_every_class_used_is_in_the_stylesheet():
    css = STYLESHEET.read_text()
    used = set()
    for name, values in list(SAMPLES.items()) + VARIANTS:
        for message in messages.render_dicts(name, **values):
            for tag, attrs in Page(str(render_message(message))).tags:
                used.update((attrs.get("class") or "").split())
    missing = sorted(c for c in used if not re.search(r"\." + re.escape(c) + r"(?![\w-])", css))
    assert missing == []


def test_carousel_bubbles_sizes_and_layouts():
    [message] = messages.render_dicts("job_results.json.j2", **SAMPLES["job_results.json.j2"])
    page = Page(str(render_message(message)))
    classes = [set((attrs.get("class") or "").split()) for _, attrs in page.tags]
    assert sum("lf-carousel" in c for c in classes) == 1
    assert sum({"lf-bubble", "lf-bubble-kilo"} <= c for c in classes) == 11
    assert any({"lf-box", "lf-baseline"} <= c for c in classes)
    assert any({"lf-text", "lf-clamp-3", "lf-wrap", "lf-fg-ffffff"} <= c for c in classes)  # the header title
    assert any({"lf-button", "lf-primary", "lf-h-sm"} <= c for c in classes)
    assert any({"lf-header", "lf-bg-1e6fba"} <= c or {"lf-box", "lf-bg-1e6fba"} <= c for c in classes)


def test_hero_image_and_url_rewriting():
    [message] = messages.render_dicts("events.json.j2", **SAMPLES["events.json.j2"])
    html = str(render_message(message, rewrite_url=lambda u: u.replace("https://hw-omura.test", "")))
    assert '<div class="lf-hero">' in html
    assert 'src="/media/events/a.jpg"' in html and "lf-ar-20-13" in html and "lf-cover" in html


def test_text_message_keeps_line_breaks_and_escapes():
    html = str(render_message({"type": "text", "text": "一行目\n<script>alert(1)</script> & \"x\""}))
    assert "<script>" not in html
    assert "一行目<br>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;x&#34;" in html
    page = Page(html)
    assert page.text == "一行目\n<script>alert(1)</script> & \"x\""


def test_hostile_values_everywhere_are_escaped():
    evil = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    message = {"type": "flex", "altText": evil, "contents": {"type": "bubble", "size": evil, "body": {
        "type": "box", "layout": evil, "spacing": evil, "backgroundColor": evil, "contents": [
            {"type": "text", "text": evil, "size": evil, "color": evil, "flex": evil, "margin": evil},
            {"type": "text", "contents": [{"type": "span", "text": evil, "color": evil}]},
            {"type": "image", "url": "javascript:alert(3)", "aspectRatio": evil, "size": evil},
            {"type": "icon", "url": evil},
            {"type": "button", "style": evil, "color": evil, "action": {"type": "uri", "label": evil, "uri": evil}},
            {"type": evil},
        ]}}, "quickReply": {"items": [{"type": "action", "imageUrl": evil,
                                       "action": {"type": "message", "label": evil, "text": evil}}]}}
    html = str(render_message(message))
    assert "<script" not in html and "<img src=x" not in html
    page = Page(html)
    assert all(not (attrs.get("src") or "").startswith("javascript:") for _, attrs in page.tags)
    assert [tag for tag, _ in page.tags if tag in ("script", "iframe")] == []
    assert all(not k.startswith("on") for _, attrs in page.tags for k in attrs)
    assert page.text.count(evil) >= 2 and any(b["label"] == evil for b in page.buttons)
    assert "未対応の要素: " + evil in page.text


def test_unknown_components_and_messages_are_placeholders():
    message = {"type": "flex", "altText": "x", "contents": {"type": "bubble", "body": {
        "type": "box", "layout": "vertical", "contents": [{"type": "video", "url": "https://x.test/v.mp4"},
                                                          "not a dict", {"type": "text", "text": "続き"}]}}}
    page = Page(str(render_message(message)))
    assert "未対応の要素: video" in page.text and "続き" in page.text
    assert "未対応の要素: " in page.text.replace("未対応の要素: video", "")
    assert "未対応のメッセージ: location" in Page(str(render_message({"type": "location"}))).text
    assert "未対応の要素: nope" in Page(str(render_message({"type": "flex", "contents": {"type": "nope"}}))).text
    for odd in ({}, {"type": "flex"}, {"type": "flex", "contents": {"type": "carousel", "contents": [None]}},
                {"type": "text", "text": None, "quickReply": {"items": [None, {}]}}, {"type": "template"}):
        assert str(render_message(odd)).startswith('<div class="lf-message')


def test_quick_replies_are_chips_under_the_message():
    [_, privacy] = messages.render_dicts("greeting.json.j2", **SAMPLES["greeting.json.j2"])
    html = str(render_message(privacy))
    page = Page(html)
    items = privacy["quickReply"]["items"]
    assert len(items) > 1
    assert [b["label"] for b in page.buttons] == [i["action"]["label"] for i in items]
    assert [b["action"] for b in page.buttons] == [i["action"] for i in items]
    assert html.index("lf-text-message") < html.index("lf-quick-replies")


def test_spans_image_message_template_messages():
    html = str(render_message({"type": "flex", "altText": "x", "contents": {"type": "bubble", "body": {
        "type": "box", "layout": "baseline", "contents": [
            {"type": "icon", "url": "https://x.test/i.png", "size": "sm"},
            {"type": "text", "contents": [{"type": "span", "text": "太字", "weight": "bold"},
                                          {"type": "span", "text": "赤", "color": "#FF0000", "size": "xl"}]},
            {"type": "filler"}, {"type": "separator"}]}}}))
    assert '<span class="lf-span lf-bold">太字</span>' in html
    assert "lf-fg-ff0000" in html and "lf-size-xl" in html and "lf-icon" in html and "lf-filler" in html
    assert "lf-separator-v" in html
    image = str(render_message({"type": "image", "originalContentUrl": "https://x.test/a.jpg",
                                "previewImageUrl": "https://x.test/p.jpg"}))
    assert '<img src="https://x.test/p.jpg" alt="画像"' in image
    confirm = Page(str(render_message({"type": "template", "altText": "確認", "template": {
        "type": "confirm", "text": "参加しますか?", "actions": [
            {"type": "message", "label": "はい", "text": "はい"}, {"type": "message", "label": "いいえ", "text": "いいえ"}]}})))
    assert "参加しますか?" in confirm.text and [b["label"] for b in confirm.buttons] == ["はい", "いいえ"]
    buttons = Page(str(render_message({"type": "template", "altText": "b", "template": {
        "type": "buttons", "title": "題", "text": "本文", "thumbnailImageUrl": "https://x.test/t.jpg",
        "actions": [{"type": "uri", "label": "開く", "uri": "https://x.test"}]}})))
    assert "題" in buttons.text and buttons.buttons[0]["action"]["uri"] == "https://x.test"


# The console preview of a broadcast: tests/console/test_flex_preview_browser.py (it needs the console fixtures).
