"""What the emulated LINE channel knows: users, tokens, deliveries, quota.

Conclusions about LINE's behaviour that shape this module:

* Reply tokens: LINE says a reply token can be used once, and only within
  one minute of receiving the webhook ("must be used within one minute"),
  so REPLY_TOKEN_TTL is 60 s. After that, or on reuse: 400 "Invalid reply
  token".
* Retry keys: LINE keeps an accepted X-Line-Retry-Key for 24 hours; the same
  key again inside that window gets 409 and is not sent again. A request
  that failed does not consume its key (the retry is what the key is for).
* Quota: LINE counts "messages sent" per recipient per request: a push with
  5 message objects to 1 user counts 1, a multicast with 1 message object to
  3 users counts 3. Replies are free. Users who are not reached (blocked,
  unknown in a multicast) are not counted. The month is the calendar month
  in Japan time (UTC+9), as LINE's plans are.
* Blocked users: LINE answers a push to a user who blocked the account with
  200 (it gives no way to tell a block from delivery) but nothing arrives and
  nothing is counted. So the record shows an empty ``to``. Multicast,
  broadcast and narrowcast skip such users silently. A push to a user id the
  channel has never seen gets 400 "Failed to send messages".
"""
from __future__ import annotations

import copy
import json
import secrets
import threading
import time

from .errors import INVALID_REPLY_TOKEN, MONTHLY_LIMIT, SEND_FAILED, LineError
from .faults import FaultBook, FaultRule
from .richmenus import RichMenuStore
from .validation import USER_ID

REPLY_TOKEN_TTL = 60.0
RETRY_KEY_TTL = 24 * 60 * 60.0
JST = 9 * 60 * 60
# Message types a user can quote: LINE returns a quoteToken for these.
QUOTABLE = {"text", "textV2", "sticker", "image", "video"}


def _copy(value):
    """A deep copy of JSON data (what every call carries), several times faster than copy.deepcopy
    on a Flex carousel; anything else is deep-copied."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return copy.deepcopy(value)


def new_user_id() -> str:
    """A fresh user id in LINE's format (U + 32 hex digits)."""
    return "U" + secrets.token_hex(16)


class EmulatorState:
    """All of the emulator's data, behind one re-entrant lock."""

    def __init__(self, clock=time.time):
        self.lock = threading.RLock()
        self.clock = clock
        self.bot_info = {
            "userId": "U" + "0" * 31 + "b",
            "basicId": "@000emula",
            "displayName": "LINE API emulator",
            "chatMode": "bot",
            "markAsReadMode": "auto",
        }
        self.reset()

    def now(self) -> float:
        return float(self.clock())

    def reset(self):
        """Forget everything: users, calls, tokens, rich menus, faults, quota."""
        with self.lock:
            self._users: dict[str, dict] = {}
            self._records: list[dict] = []
            self._rejected: list[dict] = []
            self._inbox: dict[str, list[dict]] = {}
            self._reply_tokens: dict[str, dict] = {}
            self._retry_keys: dict[str, dict] = {}
            self._narrowcasts: dict[str, dict] = {}
            self._quota: int | None = None
            self._usage: dict[tuple[int, int], int] = {}
            self._faults = FaultBook()
            self.richmenus = RichMenuStore()
            self._next_message_id = 500_000_000_000_000_000
            self._next_call = 1

    # ---- users -----------------------------------------------------------

    def add_user(self, user_id=None, display_name="テストユーザー", picture_url=None, language="ja"):
        """Make a user a friend of the account (again). Returns the profile.

        Adding a known user updates the profile and unblocks (re-follow).
        """
        user_id = user_id or new_user_id()
        if not USER_ID.match(user_id):
            raise ValueError(f"not a LINE user id (U + 32 hex digits): {user_id!r}")
        profile = {"userId": user_id, "displayName": display_name}
        if picture_url:
            profile["pictureUrl"] = picture_url
        if language:
            profile["language"] = language
        with self.lock:
            self._users[user_id] = {"profile": profile, "blocked": False}
        return dict(profile)

    def set_blocked(self, user_id: str, blocked: bool):
        with self.lock:
            if user_id not in self._users:
                raise KeyError(user_id)
            self._users[user_id]["blocked"] = bool(blocked)

    def users(self) -> list[dict]:
        with self.lock:
            return [dict(u["profile"], blocked=u["blocked"]) for u in self._users.values()]

    def profile(self, user_id: str) -> dict | None:
        """The profile LINE would show the bot: none for unknown or blocked users."""
        with self.lock:
            user = self._users.get(user_id)
            if user is None or user["blocked"]:
                return None
            return dict(user["profile"])

    def knows(self, user_id: str) -> bool:
        with self.lock:
            return user_id in self._users

    def reachable(self, user_ids) -> list[str]:
        """The known, unblocked users among ``user_ids``, once each, in order."""
        with self.lock:
            return [uid for uid in dict.fromkeys(user_ids)
                    if (user := self._users.get(uid)) and not user["blocked"]]

    def followers(self) -> list[str]:
        with self.lock:
            return [uid for uid, u in self._users.items() if not u["blocked"]]

    # ---- reply tokens ----------------------------------------------------

    def issue_reply_token(self, user_id: str | None) -> str:
        """A token for one webhook event of ``user_id`` (None: no user)."""
        with self.lock:
            if user_id is not None and user_id not in self._users:
                raise KeyError(user_id)
            token = secrets.token_hex(16)
            self._reply_tokens[token] = {"user": user_id, "issued": self.now(), "used": False}
            return token

    def check_reply_token(self, token) -> str | None:
        """The user a valid token replies to; 400 if unknown, used or expired."""
        with self.lock:
            entry = self._reply_tokens.get(token) if isinstance(token, str) else None
            if entry is None or entry["used"] or self.now() - entry["issued"] > REPLY_TOKEN_TTL:
                raise LineError(400, INVALID_REPLY_TOKEN, reason="reply-token")
            return entry["user"]

    def spend_reply_token(self, token: str):
        with self.lock:
            self._reply_tokens[token]["used"] = True

    # ---- retry keys ------------------------------------------------------

    def accepted_retry_key(self, key: str) -> dict | None:
        """The first accepted call with this key, if within 24 hours."""
        with self.lock:
            entry = self._retry_keys.get(key)
            if entry and self.now() - entry["time"] < RETRY_KEY_TTL:
                return entry
            return None

    def remember_retry_key(self, key: str, request_id: str, response):
        with self.lock:
            self._retry_keys[key] = {"request_id": request_id, "time": self.now(),
                                     "response": _copy(response)}

    # ---- sending ---------------------------------------------------------

    def push_target(self, to: str) -> list[str]:
        """Who a push reaches: [] for a blocked user, 400 for an unknown one."""
        with self.lock:
            user = self._users.get(to)
            if user is None:
                raise LineError(400, SEND_FAILED, reason="unknown-user")
            return [] if user["blocked"] else [to]

    def deliver(self, user_ids: list[str], messages: list[dict], *, counted=True) -> list[dict]:
        """Put ``messages`` in each user's inbox; return LINE's sentMessages."""
        with self.lock:
            if counted:
                self._charge(len(user_ids))
            # Stored as given, shared by every inbox and the call's record: the state only reads them,
            # and messages_for() and records() hand out copies.
            for uid in user_ids:
                self._inbox.setdefault(uid, []).extend(messages)
            sent = []
            for message in messages:
                self._next_message_id += 1
                entry = {"id": str(self._next_message_id)}
                if message.get("type") in QUOTABLE:
                    entry["quoteToken"] = secrets.token_urlsafe(24)
                sent.append(entry)
            return sent

    def remember_narrowcast(self, request_id: str, target_count: int):
        with self.lock:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(self.now()))
            self._narrowcasts[request_id] = {
                "phase": "succeeded", "successCount": target_count, "failureCount": 0,
                "targetCount": target_count, "acceptedTime": stamp, "completedTime": stamp}

    def narrowcast_progress(self, request_id: str) -> dict | None:
        with self.lock:
            entry = self._narrowcasts.get(request_id)
            return dict(entry) if entry else None

    # ---- quota -----------------------------------------------------------

    def _month(self) -> tuple[int, int]:
        jst = time.gmtime(self.now() + JST)
        return jst.tm_year, jst.tm_mon

    def _charge(self, count: int):
        month = self._month()
        used = self._usage.get(month, 0)
        if count and self._quota is not None and used + count > self._quota:
            raise LineError(429, MONTHLY_LIMIT, reason="quota")
        self._usage[month] = used + count

    def set_quota(self, limit: int | None):
        with self.lock:
            if limit is not None and (not isinstance(limit, int) or limit < 0):
                raise ValueError("quota must be a non-negative integer or None")
            self._quota = limit

    def quota(self) -> int | None:
        with self.lock:
            return self._quota

    def remaining_quota(self) -> int | None:
        with self.lock:
            if self._quota is None:
                return None
            return max(0, self._quota - self.consumption())

    def consumption(self) -> int:
        """Messages counted this month (per recipient, as LINE counts)."""
        with self.lock:
            return self._usage.get(self._month(), 0)

    # ---- faults ----------------------------------------------------------

    def inject(self, rule=None, **fields) -> FaultRule:
        """Add a fault rule: a FaultRule, a dict, or the FaultRule fields."""
        if rule is None:
            rule = FaultRule(**fields)
        elif isinstance(rule, dict):
            rule = FaultRule.from_dict({**rule, **fields})
        with self.lock:
            return self._faults.add(rule)

    def clear_faults(self):
        with self.lock:
            self._faults.clear()

    def faults(self) -> list[dict]:
        with self.lock:
            return [r.to_dict() for r in self._faults.rules]

    def take_fault(self, endpoint: str) -> FaultRule | None:
        with self.lock:
            return self._faults.take(endpoint)

    # ---- what happened ---------------------------------------------------

    # Calls and deliveries take their data as given, not copied: it is each request's freshly parsed
    # JSON, which nothing else holds (two copies of a Flex carousel per reply were the emulator's
    # largest cost in the webhook benchmark). Everything read back out is a copy.

    def add_record(self, entry: dict):
        with self.lock:
            self._records.append({"id": self._next_call, **entry})
            self._next_call += 1

    def add_rejected(self, entry: dict):
        with self.lock:
            self._rejected.append({"id": self._next_call, **entry})
            self._next_call += 1

    def records(self, user_id=None, endpoint=None) -> list[dict]:
        """Every accepted call, in order; optionally only those that reached
        ``user_id`` and/or hit ``endpoint``."""
        with self.lock:
            return [_copy(r) for r in self._records
                    if (user_id is None or user_id in r["to"])
                    and (endpoint is None or r["endpoint"] == endpoint)]

    def rejected(self, endpoint=None) -> list[dict]:
        """Every refused call, in order, with its status and reason."""
        with self.lock:
            return [_copy(r) for r in self._rejected
                    if endpoint is None or r["endpoint"] == endpoint]

    def messages_for(self, user_id: str) -> list[dict]:
        """The message objects delivered to ``user_id``, in order."""
        with self.lock:
            return _copy(self._inbox.get(user_id, []))

    def texts_for(self, user_ids) -> dict[str, list]:
        """{user id: the "text" of each message delivered (None for other kinds)}, without copying
        every message: for counting deliveries to many users."""
        with self.lock:
            return {uid: [m.get("text") for m in self._inbox.get(uid, [])] for uid in user_ids}
