"""Routes webhook events to handler functions, in the spirit of slack_bolt's `app.action(...)`.

Handlers register for event types, postback actions, keywords and text patterns. A handler receives a
Context and returns the messages to reply with (or None). Postback data is a short versioned query
string, `v=1&a=fav.add&j=42040-12345678`, decoded and validated before the handler runs.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

POSTBACK_VERSION = "1"
POSTBACK_MAX = 300  # LINE's limit on postback data


class InvalidPostback(ValueError):
    """Old, tampered or unknown postback data."""


@dataclasses.dataclass
class Context:
    event: Any                 # the linebot.v3 webhook event
    session: Any               # the SQLAlchemy session of this event
    settings: Any
    now: dt.datetime           # UTC, taken once per event
    user: Any = None           # bot.users.Friend (its id) for 1:1 chats, else None
    # The sender's LINE user id in 1:1 chats, read from LINE's JSON: an event the SDK could not fully
    # read (UnknownEvent) has no typed source.user_id.
    line_user_id: str | None = None
    params: dict = dataclasses.field(default_factory=dict)
    text: str = ""             # normalised message text, for text messages
    match: re.Match | None = None
    services: Any = None       # the app's shared services (LINE client, ...)
    conversation: Any = None   # the person's active multi-step flow (bot.conversation), if any
    prepared: Any = None       # what the event type's `prepare` returned (Router.event), if it has one


Handler = Callable[[Context], list | None]
# (services, the sender's LINE user id) -> anything the handler needs, made before the event's transaction.
Prepare = Callable[[Any, str], Any]


def normalise(text: str) -> str:
    """NFKC folds full-width letters/digits and half-width kana, so ０１２ and 012 match alike. Control
    characters other than line breaks and tabs are dropped: they mean nothing in a chat, and NUL cannot
    be stored in PostgreSQL (a search word or note is kept in the database). So are lone surrogates
    (JSON may carry "\\ud800"): no character, they cannot be stored as UTF-8 nor sent back to LINE."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")).strip()


# --- parameter validators: each takes the raw string and returns a value or raises ValueError ---

def integer(lo: int = 0, hi: int = 2**31 - 1) -> Callable[[str], int]:
    def check(raw: str) -> int:
        if not re.fullmatch(r"\d{1,10}", raw):
            raise ValueError("not an integer")
        value = int(raw)
        if not lo <= value <= hi:
            raise ValueError("out of range")
        return value
    return check


def choice(*values: str) -> Callable[[str], str]:
    def check(raw: str) -> str:
        if raw not in values:
            raise ValueError("not one of the choices")
        return raw
    return check


def token(max_len: int = 64, pattern: str = r"[A-Za-z0-9_.:-]+") -> Callable[[str], str]:
    def check(raw: str) -> str:
        if not raw or len(raw) > max_len or not re.fullmatch(pattern, raw):
            raise ValueError("malformed")
        return raw
    return check


def words(max_len: int) -> Callable[[str], str]:
    """Free text carried in a postback (search words): printable, 1 to max_len characters."""
    def check(raw: str) -> str:
        if not 0 < len(raw) <= max_len or not raw.isprintable():
            raise ValueError("not acceptable text")
        return raw
    return check


# Not part of a longer number: 13+ digit strings (card numbers, ids) are not job numbers.
JOB_NUMBER = re.compile(r"(?<!\d)(\d{5})-?(\d{8})(?!\d)")


def job_number(raw: str) -> str:
    match = JOB_NUMBER.fullmatch(normalise(raw))
    if not match:
        raise ValueError("not a job number")
    return f"{match.group(1)}-{match.group(2)}"


@dataclasses.dataclass(frozen=True)
class Action:
    name: str
    handler: Handler
    schema: dict[str, Callable[[str], Any]]
    optional: frozenset[str]


RESERVED = {"v", "a"}  # the version and the action name
_PLAIN = re.compile(r"[A-Za-z0-9_.\-]+")  # what urlencode leaves as it is (quote_plus's safe characters)


def encode_postback(action: str, **params: Any) -> str:
    if RESERVED & set(params):
        raise ValueError(f"postback parameters may not be named {sorted(RESERVED & set(params))}")
    fields = {"v": POSTBACK_VERSION, "a": action, **{k: v for k, v in params.items() if v is not None}}
    # Names, numbers and job numbers need no quoting; a results carousel encodes some twenty of them,
    # so urlencode (which quotes every key and value) is left to the rest. Same output either way.
    if all(isinstance(v, (str, int)) and _PLAIN.fullmatch(k) and _PLAIN.fullmatch(str(v))
           for k, v in fields.items()):
        data = "&".join(f"{k}={str(v)}" for k, v in fields.items())
    else:
        data = urlencode(fields)
    if len(data) > POSTBACK_MAX:
        raise ValueError(f"postback data for {action} is {len(data)} characters (max {POSTBACK_MAX})")
    return data


class Router:
    def __init__(self):
        self._events: dict[str, Handler] = {}
        self._prepare: dict[str, Prepare] = {}
        self._actions: dict[str, Action] = {}
        self._keywords: list[tuple[tuple[str, ...], Handler]] = []
        self._patterns: list[tuple[re.Pattern, Handler]] = []
        self._fallback: Handler | None = None
        self._steps: dict[tuple[str, str], Handler] = {}

    # --- registration -------------------------------------------------------------------------

    def event(self, name: str, prepare: Prepare | None = None):
        """Event types: follow, unfollow, message.text, message (other kinds), postback, join, ...

        `prepare(services, line_user_id)` runs for a 1:1 chat's event before its transaction opens, and
        its result is the handler's `ctx.prepared`: a call to LINE made inside the transaction would
        keep a database lock (on SQLite, every writer's) waiting for LINE's answer."""
        def register(func: Handler) -> Handler:
            self._events[name] = func
            if prepare is not None:
                self._prepare[name] = prepare
            return func
        return register

    def action(self, name: str, optional: tuple[str, ...] = (), **schema: Callable[[str], Any]):
        if RESERVED & set(schema):
            raise ValueError(f"postback parameters may not be named {sorted(RESERVED & set(schema))}")

        def register(func: Handler) -> Handler:
            if name in self._actions:
                raise ValueError(f"postback action {name} registered twice")
            self._actions[name] = Action(name, func, schema, frozenset(optional))
            return func
        return register

    def keyword(self, *words: str):
        def register(func: Handler) -> Handler:
            self._keywords.append((tuple(normalise(w) for w in words), func))
            return func
        return register

    def pattern(self, regex: str | re.Pattern):
        compiled = re.compile(regex) if isinstance(regex, str) else regex

        def register(func: Handler) -> Handler:
            self._patterns.append((compiled, func))
            return func
        return register

    def step(self, flow: str, step: str):
        """Free text while a person is at this step of a flow goes to this handler first."""
        def register(func: Handler) -> Handler:
            self._steps[(flow, step)] = func
            return func
        return register

    def fallback(self, func: Handler) -> Handler:
        self._fallback = func
        return func

    def has_action(self, name: str) -> bool:
        return name in self._actions

    @property
    def actions(self) -> dict[str, Action]:
        return dict(self._actions)

    # --- dispatch -------------------------------------------------------------------------------

    def decode_postback(self, data: str) -> tuple[Action, dict]:
        if not data or len(data) > POSTBACK_MAX:
            raise InvalidPostback("empty or too long")
        try:
            pairs = parse_qsl(data, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            raise InvalidPostback("not a query string") from None
        raw = dict(pairs)
        if len(raw) != len(pairs):
            raise InvalidPostback("repeated parameter")
        if raw.pop("v", None) != POSTBACK_VERSION:
            raise InvalidPostback("unknown version")
        action = self._actions.get(raw.pop("a", ""))
        if action is None:
            raise InvalidPostback("unknown action")
        unknown = set(raw) - set(action.schema)
        missing = set(action.schema) - set(raw) - action.optional
        if unknown or missing:
            raise InvalidPostback("parameters do not match")
        params = {}
        for key, value in raw.items():
            try:
                params[key] = action.schema[key](value)
            except ValueError:
                raise InvalidPostback(f"bad parameter {key}") from None
        return action, params

    def handler_for_text(self, ctx: Context) -> Handler | None:
        conv = ctx.conversation
        if conv is not None and (conv.flow, conv.step) in self._steps:
            return self._steps[(conv.flow, conv.step)]
        for regex, func in self._patterns:
            match = regex.search(ctx.text)
            if match:
                ctx.match = match
                return func
        for words, func in self._keywords:
            if any(word in ctx.text for word in words):
                return func
        return self._fallback

    def handler_for_event(self, name: str) -> Handler | None:
        return self._events.get(name)

    def preparation_for(self, name: str) -> Prepare | None:
        return self._prepare.get(name)
