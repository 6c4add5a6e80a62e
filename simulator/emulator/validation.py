"""Request-body checks of the emulator: the SDK's request models, then LINE's documented limits on
the messages inside (bot.line.limits, shared with the bot's own renderer and outbox)."""
from __future__ import annotations

from linebot.v3.messaging import models

from bot.line.limits import (  # noqa: F401 - re-exported for the routes
    CHAT_ID, USER_ID, UUID, Problems, check_action, collect_problems, model_problems)

from .errors import invalid_body

REQUEST_MODELS = {
    "reply": models.ReplyMessageRequest,
    "push": models.PushMessageRequest,
    "multicast": models.MulticastRequest,
    "broadcast": models.BroadcastRequest,
    "narrowcast": models.NarrowcastRequest,
    "validate": models.ValidateMessageRequest,
}


def validate_send(kind: str, body: dict):
    """Check a reply/push/multicast/broadcast/narrowcast body; raise a 400."""
    problems = Problems()
    collect_problems(body.get("messages"), problems)
    # The request model is checked with a stand-in message so that its own
    # fields are reported with their names, not hidden behind message errors.
    stand_in = dict(body, messages=[{"type": "text", "text": "-"}])
    problems.extend(model_problems(REQUEST_MODELS[kind], stand_in))
    if not problems:
        if kind == "push" and not CHAT_ID.match(body["to"]):
            problems.add("to", "Invalid user, group or room ID")
        if kind == "multicast":
            for i, user_id in enumerate(body["to"]):
                if not USER_ID.match(user_id):
                    problems.add(f"to[{i}]", "Invalid user ID")
    if problems:
        raise invalid_body(problems)


def validate_model(model, body: dict, extra_check=None):
    """Check a body against one SDK model, plus an optional extra check."""
    problems = model_problems(model, body)
    if not problems and extra_check:
        extra_check(body, problems)
    if problems:
        raise invalid_body(problems)
