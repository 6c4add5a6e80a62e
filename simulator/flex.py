"""LINE messages as HTML: text, image, Flex (bubble/carousel), template messages and quick replies.

`render_message(message)` turns one LINE message dict (as `bot.messages.render_dicts` gives them) into
escaped HTML (`markupsafe.Markup`) styled by the stylesheet `STYLESHEET` (console/static/flex.css,
served to the console as `console.static` "flex.css"). Every value from the message is escaped.

The output never has a `style="..."` attribute, because the console's Content-Security-Policy is
`style-src 'self'`. So LINE's keyword values (sizes, spacing, margins, paddings, corner radii, weights,
aspect ratios) become classes (`lf-...`); pixel values are rounded to the nearest keyword. Colours are
kept as `data-color` / `data-background-color` attributes and shown only when they are in `PALETTE`
(the colours the bot's templates use), as `lf-fg-xxxxxx` / `lf-bg-xxxxxx` classes; other colours fall
back to LINE's defaults. Things that are not rendered (position/offsets, width/height of boxes,
gradients, lineSpacing, animated images, video) are ignored or shown as a visible placeholder
(「未対応の要素: ...」); the renderer never raises for odd input.

Actions become `<button type="button" data-action="{json}">` (type/label/data/uri/text/displayText),
so a simulator page can make them tappable with a script of its own.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

from markupsafe import Markup, escape

STYLESHEET = Path(__file__).resolve().parent.parent / "console" / "static" / "flex.css"

# Colours shown in the preview (classes lf-fg-/lf-bg-/lf-btn-<hex> in the stylesheet).
PALETTE = ("1e6fba", "777777", "ffffff", "888888", "333333", "666666", "b85c00", "555555", "999999",
           "f2dede", "000000", "17c950", "06c755", "dcdfe5", "aaaaaa", "eeeeee", "ff0000", "42659a")

SPACING = ("none", "xs", "sm", "md", "lg", "xl", "xxl")
SPACING_PX = {"none": 0, "xs": 2, "sm": 4, "md": 8, "lg": 12, "xl": 16, "xxl": 20}
TEXT_SIZES = ("xxs", "xs", "sm", "md", "lg", "xl", "xxl", "3xl", "4xl", "5xl")
TEXT_SIZE_PX = dict(zip(TEXT_SIZES, (11, 13, 14, 16, 19, 22, 29, 35, 48, 74)))
IMAGE_SIZE_PX = dict(zip(TEXT_SIZES, (40, 60, 80, 100, 120, 140, 160, 180, 200, 220)))
ICON_SIZE_PX = TEXT_SIZE_PX
BUBBLE_SIZES = ("nano", "micro", "deca", "hecto", "kilo", "mega", "giga")
ASPECT_RATIOS = ("1:1", "1.51:1", "1.91:1", "4:3", "3:4", "16:9", "9:16", "20:13", "13:20", "2:1", "1:2",
                 "3:1", "1:3", "3:2", "2:3")
MAX_CLAMP = 10
ACTION_FIELDS = ("type", "label", "data", "displayText", "text", "uri", "mode", "initial", "max", "min",
                 "inputOption", "fillInText")

Rewrite = Callable[[str], str]


def render_message(message: dict, *, rewrite_url: Rewrite | None = None) -> Markup:
    """One LINE message as HTML. `rewrite_url` maps image addresses (e.g. public https -> local)."""
    r = _Renderer(rewrite_url)
    try:
        body = r.message(message if isinstance(message, dict) else {})
    except Exception as exc:  # noqa: BLE001 - the preview must show something rather than fail the page
        body = _placeholder(f"表示できないメッセージ: {type(exc).__name__}")
    kind = message.get("type") if isinstance(message, dict) else None
    quick = r.quick_replies(message.get("quickReply") if isinstance(message, dict) else None)
    return Markup('<div class="lf-message lf-message-{}">{}{}</div>').format(_token(kind), body, quick)


def render_messages(messages: list[dict], *, rewrite_url: Rewrite | None = None) -> list[Markup]:
    return [render_message(m, rewrite_url=rewrite_url) for m in messages]


# ---- helpers ------------------------------------------------------------------------------------

def _token(value) -> str:
    """A value safe inside a class name."""
    return re.sub(r"[^a-z0-9_-]", "", str(value or "").lower())[:30] or "none"


def _placeholder(text: str) -> Markup:
    return Markup('<div class="lf-unknown" role="note">{}</div>').format(text)


def _attrs(attrs: dict) -> Markup:
    parts = [Markup(' {}="{}"').format(k, v) for k, v in attrs.items() if v is not None and v != ""]
    return Markup("").join(parts)


def _tag(name: str, classes: list[str], content: Markup | str = "", **attrs) -> Markup:
    attrs = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
    if name in ("hr", "br", "img"):
        return Markup("<{0} class=\"{1}\"{2}>").format(Markup(name), " ".join(c for c in classes if c), _attrs(attrs))
    return Markup("<{0} class=\"{1}\"{2}>{3}</{0}>").format(
        Markup(name), " ".join(c for c in classes if c), _attrs(attrs), content)


def _px(value) -> float | None:
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)px\s*", str(value or ""))
    return float(found.group(1)) if found else None


def _keyword(value, table: dict, default: str | None = None) -> str | None:
    """A keyword of `table` (keyword -> px) for a keyword or the nearest one for a px value."""
    if value in table:
        return value
    px = _px(value)
    if px is None:
        return default
    return min(table, key=lambda k: abs(table[k] - px))


def _colour(value) -> str | None:
    found = re.fullmatch(r"#([0-9a-fA-F]{6})(?:[0-9a-fA-F]{2})?", str(value or ""))
    if found and found.group(1).lower() in PALETTE:
        return found.group(1).lower()
    return None


def _colour_class(prefix: str, value) -> str:
    colour = _colour(value)
    return f"lf-{prefix}-{colour}" if colour else ""


def _action_json(action) -> str | None:
    if not isinstance(action, dict):
        return None
    return json.dumps({k: action[k] for k in ACTION_FIELDS if k in action}, ensure_ascii=False)


def _action_label(action, fallback: str = "") -> str:
    if isinstance(action, dict):
        return str(action.get("label") or fallback or action.get("type") or "")
    return fallback


class _Renderer:
    def __init__(self, rewrite_url: Rewrite | None):
        self.rewrite_url = rewrite_url

    def url(self, value) -> str | None:
        url = str(value or "")
        if self.rewrite_url and url:
            url = self.rewrite_url(url)
        # Only web addresses and same-site paths; anything else (javascript:, data:) is dropped.
        if re.match(r"(https?://|/(?!/))", url):
            return url
        return None

    # ---- messages ---------------------------------------------------------------------------

    def message(self, m: dict) -> Markup:
        kind = m.get("type")
        if kind == "text":
            return self.text_message(m)
        if kind == "image":
            src = self.url(m.get("previewImageUrl") or m.get("originalContentUrl"))
            return _tag("div", ["lf-image-message"], Markup('<img src="{}" alt="画像" loading="lazy">').format(src or ""),
                        data_original=m.get("originalContentUrl"))
        if kind == "flex":
            contents = m.get("contents") or {}
            return _tag("div", ["lf-flex"], self.container(contents), data_alt_text=m.get("altText"))
        if kind == "template":
            return self.template(m.get("template") or {}, m.get("altText"))
        if kind == "sticker":
            return _tag("div", ["lf-sticker"], "(スタンプ)",
                        data_package_id=m.get("packageId"), data_sticker_id=m.get("stickerId"))
        return _placeholder(f"未対応のメッセージ: {kind}")

    def text_message(self, m: dict) -> Markup:
        text = str(m.get("text") or "")
        lines = Markup("<br>").join(escape(line) for line in text.split("\n"))
        return _tag("div", ["lf-text-message"], lines)

    def quick_replies(self, quick) -> Markup:
        items = (quick or {}).get("items") if isinstance(quick, dict) else None
        if not items:
            return Markup("")
        chips = []
        for item in items:
            action = item.get("action") if isinstance(item, dict) else None
            icon = self.url(item.get("imageUrl")) if isinstance(item, dict) else None
            content = Markup("")
            if icon:
                content += Markup('<img class="lf-chip-icon" src="{}" alt="">').format(icon)
            content += escape(_action_label(action))
            chips.append(_tag("button", ["lf-chip"], content, type="button", data_action=_action_json(action)))
        return _tag("div", ["lf-quick-replies"], Markup("").join(chips), role="group", aria_label="クイックリプライ")

    # ---- template messages ------------------------------------------------------------------

    def template(self, t: dict, alt: str | None) -> Markup:
        kind = t.get("type")
        if kind in ("buttons", "confirm"):
            return self.template_column(t, kind)
        if kind == "carousel":
            columns = [self.template_column(c, "buttons") for c in t.get("columns") or []]
            return _tag("div", ["lf-carousel"], Markup("").join(columns), data_alt_text=alt)
        if kind == "image_carousel":
            columns = []
            for c in t.get("columns") or []:
                image = Markup('<img src="{}" alt="">').format(self.url(c.get("imageUrl")) or "")
                columns.append(_tag("div", ["lf-bubble", "lf-bubble-micro", "lf-template-image"],
                                    image + self.action_button(c.get("action"), "lf-button lf-link")))
            return _tag("div", ["lf-carousel"], Markup("").join(columns), data_alt_text=alt)
        return _placeholder(f"未対応のテンプレート: {kind}")

    def template_column(self, t: dict, kind: str) -> Markup:
        parts = []
        thumb = self.url(t.get("thumbnailImageUrl"))
        if thumb:
            ratio = "lf-ar-1-1" if t.get("imageAspectRatio") == "square" else "lf-ar-1_51-1"
            mode = "lf-fit" if t.get("imageSize") == "contain" else "lf-cover"
            parts.append(_tag("div", ["lf-image", "lf-image-full", ratio, mode],
                              Markup('<img src="{}" alt="">').format(thumb)))
        body = Markup("")
        if t.get("title"):
            body += _tag("p", ["lf-text", "lf-size-md", "lf-bold", "lf-wrap"], t["title"])
        body += _tag("p", ["lf-text", "lf-size-sm", "lf-wrap", "lf-fg-666666" if t.get("title") else ""],
                     t.get("text") or "")
        parts.append(_tag("div", ["lf-body", "lf-box", "lf-vertical", "lf-sp-sm"], body))
        layout = "lf-horizontal" if kind == "confirm" else "lf-vertical"
        buttons = [self.action_button(a, "lf-button lf-link") for a in t.get("actions") or []]
        parts.append(_tag("div", ["lf-footer", "lf-box", layout, "lf-sp-sm"], Markup("").join(buttons)))
        return _tag("div", ["lf-bubble", "lf-bubble-kilo", f"lf-template-{kind}"], Markup("").join(parts),
                    data_default_action=_action_json(t.get("defaultAction")))

    def action_button(self, action, classes: str) -> Markup:
        return _tag("button", classes.split(), _action_label(action), type="button",
                    data_action=_action_json(action))

    # ---- flex -------------------------------------------------------------------------------

    def container(self, c: dict) -> Markup:
        kind = c.get("type") if isinstance(c, dict) else None
        if kind == "bubble":
            return self.bubble(c)
        if kind == "carousel":
            bubbles = [self.bubble(b) if isinstance(b, dict) and b.get("type") == "bubble"
                       else _placeholder(f"未対応の要素: {b.get('type') if isinstance(b, dict) else b}")
                       for b in c.get("contents") or []]
            return _tag("div", ["lf-carousel"], Markup("").join(bubbles), role="list")
        return _placeholder(f"未対応の要素: {kind}")

    def bubble(self, b: dict) -> Markup:
        size = b.get("size") if b.get("size") in BUBBLE_SIZES else "mega"
        styles = b.get("styles") or {}
        parts = []
        for block in ("header", "hero", "body", "footer"):
            node = b.get(block)
            if not isinstance(node, dict):
                continue
            style = styles.get(block) or {}
            classes = [f"lf-{block}", _colour_class("bg", style.get("backgroundColor"))]
            if style.get("separator") and parts:
                parts.append(_tag("hr", ["lf-separator", _colour_class("bd", style.get("separatorColor"))]))
            inner = self.component(node, "vertical", in_block=block)
            parts.append(_tag("div", classes, inner, data_background_color=style.get("backgroundColor")))
        return _tag("div", ["lf-bubble", f"lf-bubble-{size}", "lf-rtl" if b.get("direction") == "rtl" else ""],
                    Markup("").join(parts), role="listitem", data_action=_action_json(b.get("action")))

    def common(self, node: dict, parent: str) -> list[str]:
        """Classes every component takes from its parent box: flex, margin, gravity, alignment."""
        classes = []
        default_flex = 1 if parent in ("horizontal", "baseline") else 0
        flex = node.get("flex", default_flex)
        if isinstance(flex, int) and 0 <= flex <= 12:
            classes.append(f"lf-flex-{flex}")
        margin = _keyword(node.get("margin"), SPACING_PX)
        if margin:
            classes.append(f"lf-m-{margin}")
        if node.get("gravity") in ("top", "center", "bottom"):
            classes.append(f"lf-gravity-{node['gravity']}")
        if node.get("align") in ("start", "end", "center"):
            classes.append(f"lf-align-{node['align']}")
        if node.get("position") == "absolute":
            classes.append("lf-absolute")  # offsets are not rendered
        return classes

    def component(self, node, parent: str, in_block: str | None = None) -> Markup:
        if not isinstance(node, dict):
            return _placeholder(f"未対応の要素: {node!r}"[:60])
        kind = node.get("type")
        handler = {
            "box": self.box, "text": self.text, "image": self.image, "button": self.button, "icon": self.icon,
            "separator": self.separator, "filler": self.filler, "spacer": self.spacer,
        }.get(kind)
        if handler is None:
            return _tag("div", ["lf-unknown", *self.common(node, parent)], f"未対応の要素: {kind}", role="note")
        if kind == "image" and in_block == "hero":
            return self.image(node, parent, hero=True)
        return handler(node, parent)

    def box(self, node: dict, parent: str) -> Markup:
        layout = node.get("layout") if node.get("layout") in ("vertical", "horizontal", "baseline") else "vertical"
        classes = ["lf-box", f"lf-{layout}", *self.common(node, parent)]
        spacing = _keyword(node.get("spacing"), SPACING_PX)
        if spacing:
            classes.append(f"lf-sp-{spacing}")
        for key, prefix in (("paddingAll", "p"), ("paddingTop", "pt"), ("paddingBottom", "pb"),
                            ("paddingStart", "ps"), ("paddingEnd", "pe")):
            value = _keyword(node.get(key), SPACING_PX)
            if value:
                classes.append(f"lf-{prefix}-{value}")
        radius = _keyword(node.get("cornerRadius"), SPACING_PX)
        if radius:
            classes.append(f"lf-r-{radius}")
        if node.get("justifyContent") in ("flex-start", "center", "flex-end", "space-between", "space-around",
                                          "space-evenly"):
            classes.append(f"lf-justify-{node['justifyContent']}")
        if node.get("alignItems") in ("flex-start", "center", "flex-end"):
            classes.append(f"lf-items-{node['alignItems']}")
        classes.append(_colour_class("bg", node.get("backgroundColor")))
        classes.append(_colour_class("bd", node.get("borderColor")))
        if node.get("borderWidth") not in (None, "none"):
            classes.append("lf-border")
        if node.get("action"):
            classes.append("lf-tappable")
        children = Markup("").join(self.component(child, layout) for child in node.get("contents") or [])
        return _tag("div", classes, children, data_background_color=node.get("backgroundColor"),
                    data_action=_action_json(node.get("action")))

    def text_classes(self, node: dict, size_default: str | None = "md") -> list[str]:
        classes = []
        size = _keyword(node.get("size"), TEXT_SIZE_PX, size_default)
        if size:
            classes.append(f"lf-size-{size}")
        if node.get("weight") == "bold":
            classes.append("lf-bold")
        if node.get("style") == "italic":
            classes.append("lf-italic")
        if node.get("decoration") in ("underline", "line-through"):
            classes.append(f"lf-{node['decoration']}")
        classes.append(_colour_class("fg", node.get("color")))
        return classes

    def text(self, node: dict, parent: str) -> Markup:
        classes = ["lf-text", *self.common(node, parent), *self.text_classes(node)]
        wrap = bool(node.get("wrap"))
        classes.append("lf-wrap" if wrap else "lf-nowrap")
        max_lines = node.get("maxLines")
        if wrap and isinstance(max_lines, int) and max_lines > 0:
            classes.append(f"lf-clamp-{min(max_lines, MAX_CLAMP)}")
        if node.get("action"):
            classes.append("lf-tappable")
        spans = node.get("contents")
        if spans:
            content = Markup("").join(
                _tag("span", ["lf-span", *self.text_classes(s, None)], s.get("text") or "",
                     data_color=s.get("color"))
                if isinstance(s, dict) and s.get("type") == "span"
                else _placeholder(f"未対応の要素: {s.get('type') if isinstance(s, dict) else s}")
                for s in spans)
        else:
            text = str(node.get("text") or "")
            content = Markup("<br>").join(escape(line) for line in text.split("\n"))
        return _tag("p", classes, content, data_color=node.get("color"), data_max_lines=max_lines,
                    data_action=_action_json(node.get("action")))

    def image(self, node: dict, parent: str, hero: bool = False) -> Markup:
        classes = ["lf-image", *self.common(node, parent)]
        size = node.get("size", "full" if hero else "md")
        if size == "full" or (isinstance(size, str) and size.endswith("%")):
            classes.append("lf-image-full")
        else:
            classes.append(f"lf-image-{_keyword(size, IMAGE_SIZE_PX, 'md')}")
        ratio = node.get("aspectRatio", "1:1")
        if ratio in ASPECT_RATIOS:
            classes.append("lf-ar-" + ratio.replace(":", "-").replace(".", "_"))
        else:
            classes.append("lf-ar-1-1")
        classes.append("lf-cover" if node.get("aspectMode") == "cover" else "lf-fit")
        classes.append(_colour_class("bg", node.get("backgroundColor")))
        if node.get("action"):
            classes.append("lf-tappable")
        img = Markup('<img src="{}" alt="" loading="lazy">').format(self.url(node.get("url")) or "")
        return _tag("div", classes, img, data_aspect_ratio=ratio, data_url=node.get("url"),
                    data_action=_action_json(node.get("action")))

    def icon(self, node: dict, parent: str) -> Markup:
        size = _keyword(node.get("size"), ICON_SIZE_PX, "md")
        ratio = "lf-icon-wide" if node.get("aspectRatio") in ("2:1", "3:1") else ""
        return Markup('<img class="{}" src="{}" alt="">').format(
            " ".join(c for c in ["lf-icon", f"lf-size-{size}", ratio, *self.common(node, "vertical")] if c),
            self.url(node.get("url")) or "")

    def button(self, node: dict, parent: str) -> Markup:
        style = node.get("style") if node.get("style") in ("primary", "secondary", "link") else "link"
        height = "sm" if node.get("height") == "sm" else "md"
        classes = ["lf-button", f"lf-{style}", f"lf-h-{height}", *self.common(node, parent)]
        colour = _colour(node.get("color"))
        if colour:
            classes.append(f"lf-btn-{colour}" if style != "link" else f"lf-fg-{colour}")
        return _tag("button", classes, _action_label(node.get("action"), "(ラベルなし)"), type="button",
                    data_action=_action_json(node.get("action")), data_color=node.get("color"))

    def separator(self, node: dict, parent: str) -> Markup:
        direction = "lf-separator-v" if parent in ("horizontal", "baseline") else ""
        classes = ["lf-separator", direction, *self.common({**node, "flex": None}, parent),
                   _colour_class("bd", node.get("color"))]
        return _tag("hr" if not direction else "div", classes, data_color=node.get("color"))

    def filler(self, node: dict, parent: str) -> Markup:
        return _tag("div", ["lf-filler", *self.common({"flex": node.get("flex", 1)}, parent)])

    def spacer(self, node: dict, parent: str) -> Markup:
        size = _keyword(node.get("size"), SPACING_PX, "md")
        return _tag("div", ["lf-spacer", f"lf-spacer-{size}"])
