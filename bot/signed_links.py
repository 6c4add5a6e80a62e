"""Short-lived links bound to one LINE user, for pages opened from the chat (LIFF-compatible)."""
from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

DEFAULT_MAX_AGE = 30 * 60  # seconds a link opened from LINE stays valid


class LinkError(Exception):
    """The link is expired or not ours; `expired` tells which, for a fitting message."""

    def __init__(self, expired: bool):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _serializer(settings, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=f"link:{purpose}")


def make(settings, purpose: str, line_user_id: str, path: str) -> str:
    token = _serializer(settings, purpose).dumps({"u": line_user_id})
    return f"{settings.public_base_url}{path}?t={token}"


def read(settings, purpose: str, token: str, max_age: int = DEFAULT_MAX_AGE) -> str:
    """The LINE user id the link was made for; raises LinkError."""
    try:
        data = _serializer(settings, purpose).loads(token or "", max_age=max_age)
    except SignatureExpired:
        raise LinkError(expired=True) from None
    except BadSignature:
        raise LinkError(expired=False) from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), str):
        raise LinkError(expired=False)
    return data["u"]
