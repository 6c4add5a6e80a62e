"""The WSGI app: one pipeline every emulated LINE call goes through.

Order of checks for a LINE endpoint, as LINE's gateway would apply them:
access token -> injected fault -> retry-key format -> JSON body ->
retry-key conflict -> the endpoint's own checks and work. The last two run
under the state lock, so a retry key can never be accepted twice.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field

from flask import Flask, Response, g, request

from simulator.webhook_events import json_bytes

from .errors import (AUTH_FAILED, AUTH_MISSING, NOT_FOUND, NOT_JSON, RETRY_KEY_ACCEPTED,
                     LineError, fault_message)
from .state import EmulatorState
from .validation import UUID


# "\ud800" alone is JSON by its grammar but no character: no text can carry it, and the message checks
# (which measure UTF-16 and UTF-8 lengths) cannot read it. The emulator refuses it with the other bodies
# it cannot read; only a body with a surrogate escape is looked at twice.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _parse_body(raw: bytes):
    body = json.loads(raw.decode("utf-8"))
    if _SURROGATE_ESCAPE.search(raw):
        json.dumps(body, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError: a lone surrogate
    return body


@dataclass
class Call:
    """One request to an emulated LINE endpoint, as a handler sees it."""
    endpoint: str
    method: str
    path: str
    request_id: str
    params: dict
    raw: bytes
    retry_key: str | None = None
    body: object = None
    body_error: bool = False


@dataclass
class Answer:
    """What a handler answers. ``to`` lists the users the call reached."""
    status: int = 200
    body: object = field(default_factory=dict)  # dict (JSON) or bytes
    content_type: str = "application/json"
    to: list = field(default_factory=list)


def json_response(status: int, body, headers=None) -> Response:
    return Response(json_bytes(body), status=status, mimetype="application/json", headers=headers)


class Emulator(Flask):
    """A LINE Messaging API emulator; ``.state`` holds everything it knows."""

    def __init__(self, state: EmulatorState, access_tokens):
        super().__init__(__name__)
        self.state = state
        self.access_tokens = frozenset(access_tokens)
        self.before_request(self._start)
        self.after_request(self._finish)
        self.register_error_handler(404, self._no_route)
        self.register_error_handler(405, self._no_route)

    # ---- hooks -----------------------------------------------------------

    @staticmethod
    def _start():
        g.request_id = str(uuid.uuid4())

    @staticmethod
    def _finish(response):
        # LINE puts a request id on every answer, errors included.
        response.headers.setdefault("X-Line-Request-Id", g.get("request_id") or str(uuid.uuid4()))
        return response

    def _no_route(self, exc):
        status = getattr(exc, "code", 404)
        message = NOT_FOUND if status == 404 else "Method Not Allowed"
        if request.path.startswith("/v2/"):
            self.state.add_rejected({
                "endpoint": None, "method": request.method, "path": request.path,
                "status": status, "reason": "no-route", "message": message, "details": [],
                "body": None, "retry_key": None, "request_id": g.get("request_id"),
                "time": self.state.now()})
        return json_response(status, {"message": message})

    # ---- routing ---------------------------------------------------------

    def line_route(self, rule: str, name: str, method: str, handler, *,
                   json_body=False, retry_key=False):
        """Register an emulated LINE endpoint called ``name``."""
        def view(**params):
            return self._line_call(name, handler, params, json_body, retry_key)
        self.add_url_rule(rule, endpoint=name, view_func=view, methods=[method])

    def _line_call(self, name, handler, params, json_body, uses_retry_key) -> Response:
        state = self.state
        call = Call(endpoint=name, method=request.method, path=request.path,
                    request_id=g.request_id, params=params, raw=request.get_data())
        if uses_retry_key:
            call.retry_key = request.headers.get("X-Line-Retry-Key")
        if json_body:
            try:
                call.body = _parse_body(call.raw)
            except (UnicodeError, ValueError):
                call.body_error = True
        try:
            self._authenticate()
            self._apply_fault(name)
            if call.retry_key is not None and not UUID.match(call.retry_key):
                raise LineError(400, "The retry key must be a UUID", reason="retry-key",
                                details=[{"message": "Must be a UUID",
                                          "property": "X-Line-Retry-Key"}])
            if json_body and (call.body_error or not isinstance(call.body, dict)):
                raise LineError(400, NOT_JSON, reason="not-json")
            with state.lock:
                self._check_retry_key(call)
                answer = handler(state, call)
                self._accept(call, answer)
        except LineError as exc:
            self._refuse(call, exc)
            return json_response(exc.status, exc.body(), exc.headers)
        if isinstance(answer.body, bytes):
            return Response(answer.body, status=answer.status, content_type=answer.content_type)
        return json_response(answer.status, answer.body)

    def _authenticate(self):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header or scheme.lower() != "bearer":
            raise LineError(401, AUTH_MISSING, reason="auth")
        if token.strip() not in self.access_tokens:
            raise LineError(401, AUTH_FAILED, reason="auth")

    def _apply_fault(self, name: str):
        rule = self.state.take_fault(name)
        if rule is None:
            return
        if rule.delay:
            # Sleep outside the lock: other calls keep being served meanwhile.
            time.sleep(rule.delay)
        if rule.status is not None:
            raise LineError(int(rule.status), rule.message or fault_message(int(rule.status)),
                            reason="fault")

    def _check_retry_key(self, call: Call):
        if call.retry_key is None:
            return
        first = self.state.accepted_retry_key(call.retry_key)
        if first is None:
            return
        extra = {}
        if isinstance(first["response"], dict) and "sentMessages" in first["response"]:
            extra["sentMessages"] = first["response"]["sentMessages"]
        raise LineError(409, RETRY_KEY_ACCEPTED, reason="retry-key-conflict", extra=extra,
                        headers={"X-Line-Accepted-Request-Id": first["request_id"]})

    # ---- bookkeeping -----------------------------------------------------

    def _entry(self, call: Call) -> dict:
        body = call.body if not call.body_error else call.raw[:2000].decode("utf-8", "replace")
        return {"endpoint": call.endpoint, "method": call.method, "path": call.path,
                "body": body, "retry_key": call.retry_key, "request_id": call.request_id,
                "time": self.state.now()}

    def _accept(self, call: Call, answer: Answer):
        if call.retry_key is not None:
            self.state.remember_retry_key(call.retry_key, call.request_id, answer.body)
        response = answer.body if not isinstance(answer.body, bytes) else None
        self.state.add_record({**self._entry(call), "to": list(answer.to),
                               "status": answer.status, "response": response})

    def _refuse(self, call: Call, exc: LineError):
        self.state.add_rejected({**self._entry(call), "status": exc.status,
                                 "reason": exc.reason, "message": exc.message,
                                 "details": exc.details})


def create_emulator(access_tokens=("demo-token",), *, clock=time.time) -> Emulator:
    """A fresh emulator (a WSGI app) accepting the given channel access tokens."""
    from . import control, richmenu_routes, routes

    if isinstance(access_tokens, str):
        access_tokens = (access_tokens,)
    app = Emulator(EmulatorState(clock=clock), access_tokens)
    routes.register(app)
    richmenu_routes.register(app)
    control.register(app)
    return app
