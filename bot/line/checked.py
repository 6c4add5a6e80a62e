"""LINE message JSON that was checked once, then carried and sent as it is.

Building line-bot-sdk's pydantic models of a Flex carousel costs 10-20 ms of CPU, and the models were
only ever turned back into the same JSON (docs/performance.md). `Checked` is an SDK `Message` holding
the checked JSON: the SDK's request models and `MessagingApi` calls take it like any message and
serialize it without walking a model tree.

Checking keeps its full strength: `check(dicts)` runs the SDK's models on a message whose shape was
never seen before, and LINE's limits on every message (bot.line.limits, `message_model_problems`).
"""
from __future__ import annotations

from linebot.v3.messaging import Message
from pydantic.v1 import PrivateAttr

from bot.line.limits import check_messages


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


def check(dicts: list[dict]) -> list[Checked]:
    """The messages as `Checked` objects; LimitError (LINE's wording) for anything LINE would refuse."""
    check_messages(dicts)
    return [Checked.of(d) for d in dicts]
