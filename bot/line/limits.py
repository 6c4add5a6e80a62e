"""LINE's documented limits on message objects, checked before anything is sent.

The bot's renderer and the emulator both use these checks, so a message the bot would send and a
message LINE would refuse are judged by the same rules.
"""
from __future__ import annotations

import json
from urllib.parse import urlsplit

MAX_MESSAGES = 5
MAX_TEXT = 5000
MAX_ALT_TEXT = 1500
MAX_CAROUSEL_BUBBLES = 12
MAX_BUBBLE_BYTES = 30 * 1024
MAX_CAROUSEL_BYTES = 50 * 1024
MAX_QUICK_REPLY_ITEMS = 13
MAX_QUICK_REPLY_LABEL = 20
MAX_POSTBACK_DATA = 300
MAX_URI = 1000
MAX_TEMPLATE_ACTIONS = 4
MAX_TEMPLATE_TITLE = 40
MAX_TEMPLATE_TEXT = 160
MAX_TEMPLATE_TEXT_WITH_IMAGE = 60
MAX_MULTICAST = 500
URI_SCHEMES = ("http", "https", "line", "tel")
ACTION_TYPES = {"postback", "message", "uri", "datetimepicker", "camera", "cameraRoll", "location",
                "richmenuswitch", "clipboard"}


class LimitError(ValueError):
    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _size(obj) -> int:
    return len(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def check_action(action: dict, path: str, max_label: int | None = None) -> None:
    if not isinstance(action, dict) or action.get("type") not in ACTION_TYPES:
        raise LimitError(path, "unknown action type")
    label = action.get("label")
    if max_label is not None and label is not None and len(label) > max_label:
        raise LimitError(f"{path}.label", f"longer than {max_label} characters")
    if action["type"] == "postback":
        data = action.get("data", "")
        if not 1 <= len(data) <= MAX_POSTBACK_DATA:
            raise LimitError(f"{path}.data", f"must be 1-{MAX_POSTBACK_DATA} characters")
    if action["type"] == "uri":
        uri = action.get("uri", "")
        if not 1 <= len(uri) <= MAX_URI:
            raise LimitError(f"{path}.uri", f"must be 1-{MAX_URI} characters")
        if urlsplit(uri).scheme not in URI_SCHEMES:
            raise LimitError(f"{path}.uri", "scheme must be http, https, line or tel")


def _walk_actions(node, path: str) -> None:
    """Checks every action found anywhere inside a Flex container."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "action" and isinstance(value, dict):
                check_action(value, f"{path}.action")
            else:
                _walk_actions(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _walk_actions(item, f"{path}[{i}]")


def _check_flex(message: dict, path: str) -> None:
    contents = message.get("contents") or {}
    if contents.get("type") == "carousel":
        bubbles = contents.get("contents") or []
        if not 1 <= len(bubbles) <= MAX_CAROUSEL_BUBBLES:
            raise LimitError(f"{path}.contents.contents", f"a carousel holds 1-{MAX_CAROUSEL_BUBBLES} bubbles")
        if _size(contents) > MAX_CAROUSEL_BYTES:
            raise LimitError(f"{path}.contents", "carousel larger than 50 KB")
        for i, bubble in enumerate(bubbles):
            if _size(bubble) > MAX_BUBBLE_BYTES:
                raise LimitError(f"{path}.contents.contents[{i}]", "bubble larger than 30 KB")
    elif _size(contents) > MAX_BUBBLE_BYTES:
        raise LimitError(f"{path}.contents", "bubble larger than 30 KB")
    _walk_actions(contents, f"{path}.contents")


def _check_template(message: dict, path: str) -> None:
    template = message.get("template") or {}
    actions = template.get("actions") or []
    if template.get("type") in ("buttons", "confirm") and len(actions) > MAX_TEMPLATE_ACTIONS:
        raise LimitError(f"{path}.template.actions", f"at most {MAX_TEMPLATE_ACTIONS} actions")
    if len(template.get("title") or "") > MAX_TEMPLATE_TITLE:
        raise LimitError(f"{path}.template.title", f"longer than {MAX_TEMPLATE_TITLE} characters")
    limit = MAX_TEMPLATE_TEXT_WITH_IMAGE if (template.get("thumbnailImageUrl") or template.get("title")) \
        else MAX_TEMPLATE_TEXT
    if len(template.get("text") or "") > limit:
        raise LimitError(f"{path}.template.text", f"longer than {limit} characters")
    for i, action in enumerate(actions):
        check_action(action, f"{path}.template.actions[{i}]", max_label=20)


def check_message(message: dict, path: str = "messages[0]") -> None:
    if not isinstance(message, dict):
        raise LimitError(path, "must be an object")
    kind = message.get("type")
    if kind == "text":
        body = message.get("text")
        if not isinstance(body, str) or not 1 <= len(body) <= MAX_TEXT:
            raise LimitError(f"{path}.text", f"must be 1-{MAX_TEXT} characters")
    if kind in ("flex", "template"):
        alt = message.get("altText")
        if not isinstance(alt, str) or not 1 <= len(alt) <= MAX_ALT_TEXT:
            raise LimitError(f"{path}.altText", f"must be 1-{MAX_ALT_TEXT} characters")
    if kind == "flex":
        _check_flex(message, path)
    if kind == "template":
        _check_template(message, path)
    quick = message.get("quickReply")
    if quick is not None:
        items = quick.get("items") if isinstance(quick, dict) else None
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS:
            raise LimitError(f"{path}.quickReply.items", f"must hold 1-{MAX_QUICK_REPLY_ITEMS} items")
        for i, item in enumerate(items):
            check_action((item or {}).get("action"), f"{path}.quickReply.items[{i}].action",
                         max_label=MAX_QUICK_REPLY_LABEL)


def check_messages(messages: list) -> None:
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        raise LimitError("messages", f"must hold 1-{MAX_MESSAGES} messages")
    for i, message in enumerate(messages):
        check_message(message, f"messages[{i}]")
