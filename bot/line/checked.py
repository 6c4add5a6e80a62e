"""LINE message JSON that was checked once, then carried and sent as it is.

Building line-bot-sdk's pydantic models of a Flex carousel costs 10–20 ms of CPU, and the models were
only ever turned back into the same JSON (docs/performance.md). `Checked` is an SDK `Message` holding
the checked JSON: the SDK's request models and `MessagingApi` calls take it like any message and
serialize it without walking a model tree.

Checking keeps its full strength: `check(dicts)` runs the SDK's models on a message whose *shape* was
never seen before, and LINE's limits (bot.line.limits) on every message. The shape is the JSON with the
values of free-text fields (SHAPE_FREE_TEXT) left out; those are plain strings to the SDK, whose only
checks on them are their type and lengths that LINE's own limits, checked every time, keep shorter.
Every other value (types, layouts, sizes, colours, numbers) is part of the shape, so a message that
differs in anything the SDK validates is parsed by the SDK again.
"""
from __future__ import annotations

from linebot.v3.messaging import Message
from pydantic.v1 import PrivateAttr

from bot.line.limits import MESSAGE_TYPES, LimitError, Problems, check_message_limits, check_messages

# Keys whose string values come from data (job titles, postback data, links) and that the SDK only
# types as strings; LINE's limits on their lengths are checked for every message.
SHAPE_FREE_TEXT = frozenset({"text", "altText", "label", "data", "uri", "displayText", "url"})
_KNOWN_SHAPES: dict = {}
_MAX_SHAPES = 4096  # templates give a few hundred; the bound only guards memory


class Checked(Message):
    """An SDK message whose JSON was checked already; serialized as that JSON."""

    _json: dict = PrivateAttr()

    class Config:
        # The request models keep this object as it is instead of copying it field by field.
        copy_on_model_validation = "none"

    @classmethod
    def of(cls, data: dict) -> "Checked":
        message = cls.construct(type=data["type"])
        message._json = data
        return message

    def dict(self, **_options) -> dict:  # what pydantic calls for a nested model
        return self._json

    def to_dict(self) -> dict:
        return self._json


def _shape(value, key=None):
    if isinstance(value, dict):
        return tuple((k, _shape(v, k)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_shape(v) for v in value)
    if isinstance(value, str) and key in SHAPE_FREE_TEXT:
        return str
    return (type(value), value)


def _sdk_refusal(message: dict) -> str | None:
    """Why the SDK's models refuse this message, or None; an accepted shape is remembered."""
    shape = _shape(message)
    if shape in _KNOWN_SHAPES:
        return None
    try:
        Message.from_dict(message)
    except Exception as exc:  # noqa: BLE001 - whatever the SDK refuses
        return str(exc)[:200] or type(exc).__name__
    if len(_KNOWN_SHAPES) >= _MAX_SHAPES:
        _KNOWN_SHAPES.clear()
    _KNOWN_SHAPES[shape] = True
    return None


def check(dicts: list[dict]) -> list[Checked]:
    """The messages as `Checked` objects; LimitError (LINE's wording) for anything LINE would refuse."""
    if not 1 <= len(dicts) <= 5 or any(not isinstance(d, dict) or d.get("type") not in MESSAGE_TYPES
                                       for d in dicts):
        check_messages(dicts)
        raise LimitError([{"message": "Invalid value: not a list of 1 to 5 message objects"}])
    refusal = next(filter(None, map(_sdk_refusal, dicts)), None)
    if refusal:
        check_messages(dicts)  # says what is wrong the way LINE would, where it can
        raise LimitError([{"message": f"Invalid value: {refusal}"}])
    problems = Problems()
    for i, message in enumerate(dicts):
        check_message_limits(message, f"messages[{i}]", problems)
    if problems:
        raise LimitError(problems)
    return [Checked.of(d) for d in dicts]
