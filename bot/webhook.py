"""POST /callback: signature, parsing, de-duplication, dispatch, reply.

Every valid request is answered 200, even when a handler fails: LINE would otherwise redeliver, and the
failure is ours to log, not LINE's to retry. Invalid requests get 400 and leave no trace in the database.
The one exception is an unreachable database: 503, so that LINE redelivers once it is back.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re

from flask import Blueprint, current_app, request
from flask.sessions import SecureCookieSessionInterface
from linebot.v3 import WebhookParser
from sqlalchemy.exc import InterfaceError, OperationalError

from bot.event_processor import EventProcessor
from bot.line.limits import USER_ID

log = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__)
PATH = "/callback"

# LINE's webhook bodies are a few KB; anything this large is not from LINE.
MAX_BODY = 256 * 1024
# LINE's ids have fixed shapes (webhookEventId is a ULID). An event with any other id did not come from
# LINE, cannot be answered, and would not fit the columns that keep these ids: it is dropped.
EVENT_ID = re.compile(r"[0-9A-Za-z]{1,64}\Z")
SOURCE_IDS = (("userId", USER_ID), ("groupId", re.compile(r"C[0-9a-f]{32}\Z")),
              ("roomId", re.compile(r"R[0-9a-f]{32}\Z")))


class SessionsButNotForLine(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except on the webhook: LINE sends no cookies and is sent none,
    and opening a session builds its signing serializer on every request."""

    def open_session(self, app, request):
        if request.path == PATH:  # the URL is matched to a view only after the session is opened
            return None  # Flask uses a null session: read as empty, never written
        return super().open_session(app, request)


def valid_signature(secret: str, body: bytes, signature: str | None) -> bool:
    if not signature:
        return False
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.encode("utf-8", "replace"))


def malformed_id(raw: dict) -> str | None:
    """The name of the first id in this event that LINE would never send, or None."""
    event_id = raw.get("webhookEventId")
    if event_id is not None and not (isinstance(event_id, str) and EVENT_ID.match(event_id)):
        return "webhookEventId"
    source = raw.get("source") if isinstance(raw.get("source"), dict) else {}
    for key, pattern in SOURCE_IDS:
        value = source.get(key)
        if value is not None and not (isinstance(value, str) and pattern.match(value)):
            return key
    return None


def _parse(parser: WebhookParser, text: str, data: dict) -> list[tuple]:
    """(event, raw dict) for every event LINE sent; one the SDK cannot read at all is dropped."""
    try:
        return list(zip(parser.parse(text, ""), data["events"], strict=True))
    except Exception:  # noqa: BLE001 - one malformed event must not sink the others
        pairs = []
        for raw in data["events"]:
            try:
                pairs.extend((event, raw) for event in parser.parse(json.dumps({"events": [raw]}), ""))
            except Exception:  # noqa: BLE001
                log.warning("dropped an event the SDK could not parse (type=%r)", raw.get("type"))
        return pairs


@bp.post(PATH)
def callback():
    services = current_app.extensions["bot"]
    length = request.content_length
    if length is not None and length > MAX_BODY:
        return {"message": "body too large"}, 400
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY:
        return {"message": "body too large"}, 400
    if not valid_signature(services.settings.channel_secret, body, request.headers.get("X-Line-Signature")):
        log.info("webhook rejected: missing or invalid signature")
        return {"message": "invalid signature"}, 400
    try:
        text = body.decode("utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"message": "body is not JSON"}, 400
    if not isinstance(data, dict) or not isinstance(data.get("events"), list) \
            or not all(isinstance(e, dict) for e in data["events"]):
        return {"message": "body is not a webhook payload"}, 400

    parser = WebhookParser(services.settings.channel_secret, skip_signature_verification=lambda: True)
    processor = EventProcessor(services)
    try:
        for event, raw in _parse(parser, text, data):
            wrong = malformed_id(raw)
            if wrong:
                log.warning("dropped an event with a malformed %s (type=%r)", wrong, raw.get("type"))
                continue
            processor.process(event, raw)
    except (OperationalError, InterfaceError) as exc:
        # The database is down: not a 200, so that LINE redelivers (webhook redelivery on); events of
        # this request already processed are then skipped by their webhookEventId.
        log.error("webhook answered 503, the database is unavailable: %s", type(exc.orig or exc).__name__)
        return {"message": "database unavailable"}, 503
    return "OK", 200

