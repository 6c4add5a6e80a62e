"""Builds and signs webhook requests as LINE sends them (for the simulator, tests and benchmarks)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import uuid

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_event_id() -> str:
    """A ULID-shaped id, as LINE's webhookEventId is."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def new_user_id() -> str:
    return "U" + uuid.uuid4().hex


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _base(kind: str, user_id: str | None, *, source: dict | None = None, redelivery: bool = False,
          event_id: str | None = None) -> dict:
    return {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": source or {"type": "user", "userId": user_id},
        "webhookEventId": event_id or new_event_id(),
        "deliveryContext": {"isRedelivery": redelivery},
    }


def follow(user_id: str, reply_token: str, **kw) -> dict:
    return {**_base("follow", user_id, **kw), "replyToken": reply_token, "follow": {"isUnblocked": False}}


def unfollow(user_id: str, **kw) -> dict:
    return _base("unfollow", user_id, **kw)


def text(user_id: str | None, reply_token: str, body: str, **kw) -> dict:
    message = {"id": str(uuid.uuid4().int)[:18], "type": "text", "text": body,
               "quoteToken": uuid.uuid4().hex}
    return {**_base("message", user_id, **kw), "replyToken": reply_token, "message": message}


def message(user_id: str, reply_token: str, content: dict, **kw) -> dict:
    """Any other message kind (sticker, image, location, ...): `content` is LINE's message object."""
    extra = {"quoteToken": uuid.uuid4().hex} if content.get("type") in ("text", "sticker", "image", "video") else {}
    return {**_base("message", user_id, **kw), "replyToken": reply_token,
            "message": {"id": str(uuid.uuid4().int)[:18], **extra, **content}}


def postback(user_id: str, reply_token: str, data: str, params: dict | None = None, **kw) -> dict:
    body = {"data": data}
    if params:
        body["params"] = params
    return {**_base("postback", user_id, **kw), "replyToken": reply_token, "postback": body}


def join_group(group_id: str, reply_token: str, **kw) -> dict:
    return {**_base("join", None, source={"type": "group", "groupId": group_id}, **kw),
            "replyToken": reply_token}


def json_bytes(value) -> bytes:
    """UTF-8 JSON as LINE sends it; a lone surrogate ("\\ud800"), which UTF-8 cannot carry, only as
    JSON's escape, the one way it can arrive."""
    try:
        return json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(value).encode()


def payload(*events: dict, destination: str = "U" + "0" * 32) -> bytes:
    return json_bytes({"destination": destination, "events": list(events)})
