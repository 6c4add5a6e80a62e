"""Messaging API endpoints: sending, profile, quota, bot info."""
from __future__ import annotations

from flask import request

from .app import Answer, Call
from .errors import LineError, not_found
from .state import EmulatorState
from .validation import USER_ID, validate_send


def reply(state: EmulatorState, call: Call) -> Answer:
    validate_send("reply", call.body)
    token = call.body["replyToken"]
    user_id = state.check_reply_token(token)
    to = state.reachable([user_id]) if user_id else []
    # Replies are free: LINE does not count them against the monthly quota.
    sent = state.deliver(to, call.body["messages"], counted=False)
    state.spend_reply_token(token)
    return Answer(200, {"sentMessages": sent}, to=to)


def push(state: EmulatorState, call: Call) -> Answer:
    validate_send("push", call.body)
    # Blocked user: 200 with nothing delivered and nothing counted (see state.py).
    to = state.push_target(call.body["to"])
    sent = state.deliver(to, call.body["messages"])
    return Answer(200, {"sentMessages": sent}, to=to)


def multicast(state: EmulatorState, call: Call) -> Answer:
    validate_send("multicast", call.body)
    to = state.reachable(call.body["to"])
    state.deliver(to, call.body["messages"])
    return Answer(200, {}, to=to)


def broadcast(state: EmulatorState, call: Call) -> Answer:
    validate_send("broadcast", call.body)
    to = state.followers()
    state.deliver(to, call.body["messages"])
    return Answer(200, {}, to=to)


def narrowcast(state: EmulatorState, call: Call) -> Answer:
    """The emulator has no audiences or demographics: every follower matches
    whatever recipient/filter is given. ``limit`` is applied."""
    validate_send("narrowcast", call.body)
    to = state.followers()
    limit = call.body.get("limit") or {}
    if limit.get("max"):
        to = to[:limit["max"]]
    remaining = state.remaining_quota()
    if limit.get("upToRemainingQuota") and remaining is not None:
        to = to[:remaining]
    state.deliver(to, call.body["messages"])
    state.remember_narrowcast(call.request_id, len(to))
    return Answer(202, {}, to=to)


def validate_messages(state: EmulatorState, call: Call) -> Answer:
    """POST /v2/bot/message/validate/{kind}: the checks of a send, no sending."""
    validate_send("validate", call.body)
    return Answer(200, {})


def narrowcast_progress(state: EmulatorState, call: Call) -> Answer:
    request_id = request.args.get("requestId")
    if not request_id:
        raise LineError(400, "The request has 1 error(s)", reason="validation",
                        details=[{"message": "May not be empty", "property": "requestId"}])
    progress = state.narrowcast_progress(request_id)
    if progress is None:
        raise not_found()
    return Answer(200, progress)


def profile(state: EmulatorState, call: Call) -> Answer:
    user_id = call.params["user_id"]
    if not USER_ID.match(user_id):
        raise LineError(400, "The value for the 'userId' parameter is invalid",
                        reason="validation")
    found = state.profile(user_id)
    if found is None:
        # Unknown users and users who blocked the account look the same.
        raise not_found()
    return Answer(200, found, to=[user_id])


def quota(state: EmulatorState, call: Call) -> Answer:
    limit = state.quota()
    return Answer(200, {"type": "none"} if limit is None else {"type": "limited", "value": limit})


def consumption(state: EmulatorState, call: Call) -> Answer:
    return Answer(200, {"totalUsage": state.consumption()})


def bot_info(state: EmulatorState, call: Call) -> Answer:
    return Answer(200, dict(state.bot_info))


def register(app):
    for path, name, handler in [
        ("reply", "reply", reply),
        ("push", "push", push),
        ("multicast", "multicast", multicast),
        ("broadcast", "broadcast", broadcast),
        ("narrowcast", "narrowcast", narrowcast),
    ]:
        # LINE takes X-Line-Retry-Key on every send except reply.
        app.line_route(f"/v2/bot/message/{path}", name, "POST", handler,
                       json_body=True, retry_key=name != "reply")
    for kind in ("reply", "push", "multicast", "broadcast", "narrowcast"):
        app.line_route(f"/v2/bot/message/validate/{kind}", f"validate.{kind}", "POST",
                       validate_messages, json_body=True)
    app.line_route("/v2/bot/message/progress/narrowcast", "narrowcast.progress", "GET",
                   narrowcast_progress)
    app.line_route("/v2/bot/profile/<user_id>", "profile", "GET", profile)
    app.line_route("/v2/bot/message/quota", "quota", "GET", quota)
    app.line_route("/v2/bot/message/quota/consumption", "quota.consumption", "GET", consumption)
    app.line_route("/v2/bot/info", "info", "GET", bot_info)
