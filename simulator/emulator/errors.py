"""Errors the emulator answers with, in LINE's error-response shape.

LINE answers every error as ``{"message": "...", "details": [...]}`` where
``details`` (a list of ``{"message", "property"}``) is left out when empty.
"""
from __future__ import annotations

from http import HTTPStatus

# Wording LINE uses in its answers (Messaging API reference, "Error responses"
# and the per-endpoint notes). Where LINE documents no wording, the emulator's
# own is used and marked so in the module that raises it.
AUTH_MISSING = ("Authorization header required. "
                "Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'")
AUTH_FAILED = ("Authentication failed. "
               "Confirm that the access token in the authorization header is valid.")
NOT_FOUND = "Not found"
INVALID_REPLY_TOKEN = "Invalid reply token"
RETRY_KEY_ACCEPTED = "The retry key is already accepted"
MONTHLY_LIMIT = "You have reached your monthly limit."
RATE_LIMIT = "The API rate limit has been exceeded. Try again later."
SEND_FAILED = "Failed to send messages"
NOT_JSON = "The request body could not be parsed as JSON"

FAULT_MESSAGES = {
    429: RATE_LIMIT,
    500: "Internal Server Error",
}


class LineError(Exception):
    """An answer other than 2xx.

    ``reason`` is the emulator's own short category ("auth", "validation",
    "fault", ...) kept in ``EmulatorState.rejected()`` so tests can tell why a
    call was refused without parsing LINE's wording.
    """

    def __init__(self, status: int, message: str, details=None, *,
                 reason: str = "invalid", headers=None, extra=None):
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.details = list(details or [])
        self.reason = reason
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self) -> dict:
        body = {"message": self.message}
        if self.details:
            body["details"] = self.details
        body.update(self.extra)
        return body


def invalid_body(problems: list[dict]) -> LineError:
    """The 400 LINE gives for a request body that breaks its rules."""
    return LineError(400, f"The request body has {len(problems)} error(s)",
                     problems, reason="validation")


def not_found(message: str = NOT_FOUND) -> LineError:
    return LineError(404, message, reason="not-found")


def fault_message(status: int) -> str:
    if status in FAULT_MESSAGES:
        return FAULT_MESSAGES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
