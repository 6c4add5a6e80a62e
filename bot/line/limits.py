"""LINE's documented limits on message objects: the SDK's own models, then the limits LINE documents
in its reference that the models do not carry (text length, altText, flex sizes, template shapes,
action fields). The bot's renderer and outbox, and the emulator, judge messages by these same rules, so
a message the bot would send and one LINE would refuse cannot drift apart.

Lengths are counted in UTF-16 code units, as LINE's servers count them: a character outside the BMP
(most emoji) counts as 2. Sizes in "KB" are read as 1000 bytes. Both are the stricter readings.
"""
from __future__ import annotations

import hashlib
import json
import re
from urllib.parse import urlsplit

from linebot.v3.messaging import models
from pydantic.v1 import ValidationError

MAX_MULTICAST = 500  # recipients of one multicast request

USER_ID = re.compile(r"U[0-9a-f]{32}\Z")
# push may also go to a group (C...) or a multi-person chat (R...).
CHAT_ID = re.compile(r"[UCR][0-9a-f]{32}\Z")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")

MESSAGE_TYPES = ["text", "textV2", "sticker", "image", "video", "audio", "location",
                 "imagemap", "template", "flex", "coupon"]
URI_SCHEMES = {"http", "https", "line", "tel"}
# LINE's documented "KB" is read as 1000 bytes: the stricter reading.
BUBBLE_MAX_BYTES = 30_000
CAROUSEL_MAX_BYTES = 50_000



def units(text: str) -> int:
    """Length as LINE counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


# One encoder for every compact encoding: json.dumps with arguments builds a new one on each call.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_size(value) -> int:
    return len(_COMPACT.encode(value).encode("utf-8"))


def carousel_size(frame_size: int, bubble_sizes: list[int]) -> int:
    """The compact JSON size of a carousel from its parts: `frame_size` is its contents' size with an
    empty bubble list, into which the bubbles' texts go, joined by commas."""
    return frame_size + sum(bubble_sizes) + max(len(bubble_sizes) - 1, 0)


class Problems(list):
    """LINE's ``details`` entries collected while checking one body."""

    def add(self, prop: str | None, message: str):
        entry = {"message": message}
        if prop:
            entry["property"] = prop
        self.append(entry)

    def text(self, value, prop: str, max_len: int, *, required=True, min_len=1):
        if value is None:
            if required:
                self.add(prop, "May not be empty")
            return
        if not isinstance(value, str):
            self.add(prop, "Must be a string")
        elif units(value) < min_len or units(value) > max_len:
            if units(value) == 0:
                self.add(prop, "May not be empty")
            else:
                self.add(prop, f"Length must be between {min_len} and {max_len}")

    def url(self, value, prop: str, *, schemes=URI_SCHEMES, max_len=1000, required=True):
        if value is None and not required:
            return
        if not isinstance(value, str) or not value:
            self.add(prop, "May not be empty")
            return
        if units(value) > max_len:
            self.add(prop, f"Length must be between 1 and {max_len}")
        scheme = urlsplit(value).scheme.lower()
        if scheme not in schemes:
            self.add(prop, f"Invalid URI scheme; must be one of {sorted(schemes)}")

    def https(self, value, prop: str, *, required=True):
        self.url(value, prop, schemes={"https"}, max_len=2000, required=required)


def _property(prefix: str, loc) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part != "__root__":
            out = f"{out}.{part}" if out else str(part)
    return out


def model_problems(model, data, prefix: str = "") -> Problems:
    """Build ``model`` from ``data`` as the SDK would and report what fails."""
    problems = Problems()
    try:
        model.from_dict(data)
    except ValidationError as exc:
        for err in exc.errors():
            text = "May not be empty" if err["type"] == "type_error.none.not_allowed" else err["msg"]
            problems.add(_property(prefix, err["loc"]), text)
    except KeyError as exc:
        problems.add(_property(prefix, [str(exc.args[0])]), "May not be empty")
    except (ValueError, TypeError, AttributeError) as exc:
        problems.add(prefix or None, f"Invalid value: {str(exc)[:200]}")
    return problems


# ---- actions -------------------------------------------------------------

def check_action(action, path: str, problems: Problems, *, label_max=None, label_required=False):
    if not isinstance(action, dict):
        problems.add(path, "Must be an object")
        return
    label = action.get("label")
    if label_required or label is not None:
        problems.text(label, f"{path}.label", label_max or 10_000, required=label_required)
    kind = action.get("type")
    if kind == "postback":
        problems.text(action.get("data"), f"{path}.data", 300, min_len=0)
        problems.text(action.get("displayText"), f"{path}.displayText", 300, required=False)
        problems.text(action.get("text"), f"{path}.text", 300, required=False)
    elif kind == "message":
        problems.text(action.get("text"), f"{path}.text", 300)
    elif kind == "uri":
        problems.url(action.get("uri"), f"{path}.uri")
        alt = action.get("altUri")
        if isinstance(alt, dict):
            problems.url(alt.get("desktop"), f"{path}.altUri.desktop", required=False)
    elif kind == "datetimepicker":
        problems.text(action.get("data"), f"{path}.data", 300, min_len=0)
        if action.get("mode") not in ("date", "time", "datetime"):
            problems.add(f"{path}.mode", "Must be one of the following values: [date, time, datetime]")
    elif kind == "richmenuswitch":
        problems.text(action.get("richMenuAliasId"), f"{path}.richMenuAliasId", 32)
        problems.text(action.get("data"), f"{path}.data", 300, min_len=0)
    elif kind == "clipboard":
        problems.text(action.get("clipboardText"), f"{path}.clipboardText", 1000)


def check_actions(actions, path, problems, *, low, high, label_max=20, label_required=True):
    if not isinstance(actions, list) or not low <= len(actions) <= high:
        problems.add(path, f"Size must be between {low} and {high}")
        return
    for i, action in enumerate(actions):
        check_action(action, f"{path}[{i}]", problems,
                     label_max=label_max, label_required=label_required)


# ---- message objects -----------------------------------------------------

def check_quick_reply(quick, path, problems):
    items = quick.get("items") if isinstance(quick, dict) else None
    if not isinstance(items, list) or not 1 <= len(items) <= 13:
        problems.add(f"{path}.items", "Size must be between 1 and 13")
        return
    for i, item in enumerate(items):
        item_path = f"{path}.items[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("action"), dict):
            problems.add(f"{item_path}.action", "May not be empty")
            continue
        problems.https(item.get("imageUrl"), f"{item_path}.imageUrl", required=False)
        check_action(item["action"], f"{item_path}.action", problems,
                     label_max=20, label_required=True)


def check_flex_actions(node, path, problems):
    """Every action inside a flex container (buttons, boxes, images...)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "action" and isinstance(value, dict):
                check_action(value, f"{path}.action", problems)
            elif isinstance(value, (dict, list)):  # paths are built only where actions can be
                check_flex_actions(value, f"{path}.{key}", problems)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, (dict, list)):
                check_flex_actions(value, f"{path}[{i}]", problems)


def check_flex(message, path, problems, bubbles: list[Bubble] | None = None):
    """`bubbles`: `Bubble(b)` for each of the carousel's bubbles in order, if the caller has them.

    Called once the SDK's models have accepted the message, so a carousel's contents are a list."""
    contents = message.get("contents")
    cpath = f"{path}.contents"
    if contents.get("type") != "carousel":
        bubble = Bubble(contents)
        if bubble.size > BUBBLE_MAX_BYTES:
            problems.add(cpath, "The size of a bubble must be 30 KB or less")
        _check_bubble_actions(bubble, cpath, problems)
        return
    if bubbles is None:
        bubbles = [Bubble(b) for b in contents.get("contents") or []]
    if not 1 <= len(bubbles) <= 12:
        problems.add(f"{cpath}.contents", "Size must be between 1 and 12")
    for i, bubble in enumerate(bubbles):
        if bubble.size > BUBBLE_MAX_BYTES:
            problems.add(f"{cpath}.contents[{i}]", "The size of a bubble must be 30 KB or less")
    if carousel_size(json_size({**contents, "contents": []}), [b.size for b in bubbles]) > CAROUSEL_MAX_BYTES:
        problems.add(cpath, "The size of a carousel must be 50 KB or less")
    for i, bubble in enumerate(bubbles):
        _check_bubble_actions(bubble, f"{cpath}.contents[{i}]", problems)


def _check_bubble_actions(bubble: Bubble, path, problems):
    """The actions of one bubble, unless this exact bubble passed before: the carousels of one search
    or list differ in a bubble or two (paging, the person's search id), the job bubbles repeat."""
    if bubble.known:
        return
    before = len(problems)
    check_flex_actions(bubble.value, path, problems)
    if len(problems) == before:
        _remember_bubble(bubble)


def _column_text(obj, path, problems, long_max):
    has_image_or_title = bool(obj.get("thumbnailImageUrl") or obj.get("title"))
    problems.text(obj.get("title"), f"{path}.title", 40, required=False)
    problems.text(obj.get("text"), f"{path}.text", 60 if has_image_or_title else long_max)
    problems.https(obj.get("thumbnailImageUrl"), f"{path}.thumbnailImageUrl", required=False)
    if obj.get("defaultAction") is not None:
        check_action(obj["defaultAction"], f"{path}.defaultAction", problems)


def check_template(template, path, problems):
    kind = template.get("type")
    if kind == "buttons":
        _column_text(template, path, problems, long_max=160)
        check_actions(template.get("actions"), f"{path}.actions", problems, low=1, high=4)
    elif kind == "confirm":
        problems.text(template.get("text"), f"{path}.text", 240)
        check_actions(template.get("actions"), f"{path}.actions", problems, low=2, high=2)
    elif kind == "carousel":
        columns = template.get("columns") or []
        if not 1 <= len(columns) <= 10:
            problems.add(f"{path}.columns", "Size must be between 1 and 10")
        counts = set()
        for i, column in enumerate(columns):
            cpath = f"{path}.columns[{i}]"
            _column_text(column, cpath, problems, long_max=120)
            check_actions(column.get("actions"), f"{cpath}.actions", problems, low=1, high=3)
            counts.add(len(column.get("actions") or []))
        if len(counts) > 1:
            problems.add(f"{path}.columns", "All columns must have the same number of actions")
    elif kind == "image_carousel":
        columns = template.get("columns") or []
        if not 1 <= len(columns) <= 10:
            problems.add(f"{path}.columns", "Size must be between 1 and 10")
        for i, column in enumerate(columns):
            cpath = f"{path}.columns[{i}]"
            problems.https(column.get("imageUrl"), f"{cpath}.imageUrl")
            check_action(column.get("action"), f"{cpath}.action", problems, label_max=12)


def check_message_limits(message: dict, path: str, problems: Problems, bubbles: list[Bubble] | None = None):
    """`bubbles`: see check_flex."""
    kind = message["type"]
    if kind in ("text", "textV2"):
        problems.text(message.get("text"), f"{path}.text", 5000)
    elif kind in ("image", "video"):
        problems.https(message.get("originalContentUrl"), f"{path}.originalContentUrl")
        problems.https(message.get("previewImageUrl"), f"{path}.previewImageUrl")
    elif kind == "audio":
        problems.https(message.get("originalContentUrl"), f"{path}.originalContentUrl")
    elif kind == "location":
        problems.text(message.get("title"), f"{path}.title", 100)
        problems.text(message.get("address"), f"{path}.address", 100)
    elif kind == "imagemap":
        problems.https(message.get("baseUrl"), f"{path}.baseUrl")
    if kind in ("flex", "template", "imagemap"):
        problems.text(message.get("altText"), f"{path}.altText", 1500)
    if kind == "flex":
        check_flex(message, path, problems, bubbles)
    elif kind == "template":
        check_template(message.get("template") or {}, f"{path}.template", problems)
    if message.get("quickReply") is not None:
        check_quick_reply(message["quickReply"], f"{path}.quickReply", problems)


# ---- the SDK's models, once per shape --------------------------------------------------------------
#
# Building line-bot-sdk's pydantic models of a Flex carousel costs 10-20 ms of CPU. A message's *shape*
# is its JSON with the values of free-text fields left out: to the SDK those are plain strings (its
# length constraints on them are shorter than, or the same as, the limits above, which are checked on
# every message). Every other value (types, layouts, sizes, colours, numbers) is part of the shape, so
# a message that differs in anything else the SDK validates goes through the SDK again.

SHAPE_FREE_TEXT = ("text", "altText", "label", "data", "uri", "displayText", "url")
# A free-text key and its string value in json.dumps' output, with or without the space after the colon.
# Inside a JSON string a quote is always escaped, so a match can only start at a real key.
_FREE_TEXT_VALUE = re.compile(r'"(' + "|".join(SHAPE_FREE_TEXT) + r')": ?"(?:[^"\\]|\\.)*"')
_ACCEPTED_SHAPES: set[bytes] = set()


def _blank_value(match: re.Match) -> str:
    # A function rather than the template r'"\1": ""', which re expands in Python code for every match.
    return f'"{match.group(1)}": ""'


# Whole messages that passed every check, by their exact JSON: the same message is checked again and
# again (menus, help, a job's card), and the checks depend on nothing else. A message differing in a
# single character is checked in full. A carousel (its bubbles a list) is judged bubble by bubble instead.
_ACCEPTED_MESSAGES: set[bytes] = set()
# Flex bubbles whose actions passed: their exact JSON's digest -> their shape's digest (sizes are always checked).
_ACCEPTED_BUBBLES: dict[bytes, bytes] = {}
_MAX_REMEMBERED = 4096  # templates give a few hundred shapes; the bound only guards memory


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _remember(accepted: set, key: bytes) -> None:
    if len(accepted) >= _MAX_REMEMBERED:
        accepted.clear()
    accepted.add(key)


def _remember_bubble(bubble: Bubble) -> None:
    if len(_ACCEPTED_BUBBLES) >= _MAX_REMEMBERED:
        _ACCEPTED_BUBBLES.clear()
    _ACCEPTED_BUBBLES[bubble.exact] = bubble.shape


def shape_key(message: dict, text: str | None = None) -> bytes:
    """`text`: the message's json.dumps (ensure_ascii=False), when the caller has it already."""
    text = text if text is not None else json.dumps(message, ensure_ascii=False)
    return _digest(_FREE_TEXT_VALUE.sub(_blank_value, text))


class Bubble:
    """One Flex bubble encoded once, for its size, its exact digest and (when needed) its shape.

    A results carousel is new each time (its last bubble carries the person's search id) while its job
    bubbles repeat, so a carousel is judged by its bubbles: a known one costs an encoding and a lookup."""

    __slots__ = ("value", "text", "size", "exact", "known", "_shape")

    def __init__(self, value):
        self.value = value
        self.text = _COMPACT.encode(value)
        raw = self.text.encode()
        self.size = len(raw)
        self.exact = hashlib.blake2b(raw, digest_size=16).digest()
        self._shape = _ACCEPTED_BUBBLES.get(self.exact)
        self.known = self._shape is not None

    @property
    def shape(self) -> bytes:
        if self._shape is None:
            self._shape = _digest(_FREE_TEXT_VALUE.sub(_blank_value, self.text))
        return self._shape


def carousel_bubbles(message: dict) -> list[Bubble] | None:
    """The bubbles of a Flex carousel message, encoded; None for any other message."""
    contents = message.get("contents") if message.get("type") == "flex" else None
    if not isinstance(contents, dict) or contents.get("type") != "carousel" \
            or not isinstance(contents.get("contents"), list):
        return None
    return [Bubble(b) for b in contents["contents"]]


def carousel_shape_key(message: dict, bubbles: list[Bubble]) -> bytes:
    """The shape of a carousel from its frame's and its bubbles' shapes: equal keys, equal shapes."""
    frame = json.dumps({**message, "contents": {**message["contents"], "contents": []}}, ensure_ascii=False)
    return _digest("carousel " + _FREE_TEXT_VALUE.sub(_blank_value, frame)
                   + "".join(b.shape.hex() for b in bubbles))


def message_model_problems(message: dict, path: str, shape: bytes | None = None) -> Problems:
    """What the SDK's Message model refuses in this message; a shape it accepted is not built again."""
    if shape is None:
        shape = shape_key(message)
    if shape in _ACCEPTED_SHAPES:
        return Problems()
    found = model_problems(models.Message, message, path)
    if not found:
        _remember(_ACCEPTED_SHAPES, shape)
    return found


def collect_problems(messages, problems: Problems):
    if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
        problems.add("messages", "Size must be between 1 and 5")
        return
    for i, message in enumerate(messages):
        path = f"messages[{i}]"
        if not isinstance(message, dict):
            problems.add(path, "Must be an object")
            continue
        if message.get("type") not in MESSAGE_TYPES:
            problems.add(f"{path}.type", "Must be one of the following values: "
                         f"[{', '.join(MESSAGE_TYPES)}]")
            continue
        bubbles = carousel_bubbles(message)
        if bubbles is not None:  # judged bubble by bubble
            exact, shape = None, carousel_shape_key(message, bubbles)
        else:
            text = json.dumps(message, ensure_ascii=False)
            exact = _digest(text)
            if exact in _ACCEPTED_MESSAGES:
                continue
            shape = shape_key(message, text)
        found = message_model_problems(message, path, shape)
        if found:
            problems.extend(found)
            continue
        before = len(problems)
        check_message_limits(message, path, problems, bubbles)
        if exact is not None and len(problems) == before:
            _remember(_ACCEPTED_MESSAGES, exact)


class LimitError(ValueError):
    """Messages LINE would refuse; `problems` holds LINE-style details."""

    def __init__(self, problems: list[dict]):
        first = problems[0]
        super().__init__(f"{first.get('property', 'messages')}: {first['message']}")
        self.problems = problems


def check_messages(messages) -> None:
    """Raises LimitError when LINE would refuse these messages (a list of message dicts)."""
    problems = Problems()
    collect_problems(messages, problems)
    if problems:
        raise LimitError(problems)
