"""The one place that talks to LINE: line-bot-sdk v3 clients pointed at the configured base URLs."""
from __future__ import annotations

import dataclasses
import logging

import urllib3
from linebot.v3.messaging import (
    ApiClient,
    BroadcastRequest,
    Configuration,
    MessagingApi,
    MessagingApiBlob,
    MulticastRequest,
    NarrowcastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
)
from linebot.v3.messaging.exceptions import ApiException

from bot.config import Settings
from bot.line.checked import Checked

log = logging.getLogger(__name__)


class OnePass:
    """Makes an SDK request model serialize in one pass.

    The SDK's generated to_dict() of every nested model calls pydantic's dict() on its whole subtree and
    then again on each child, so a Flex carousel costs its size times its depth; it was the largest
    item of a webhook's CPU (docs/performance.md). pydantic's own dict(), as the generated code calls
    it, gives the same JSON in one pass (tests/test_reply_serialization.py checks every template)."""

    def to_dict(self):
        return self.dict(by_alias=True, exclude_none=True)


class JsonApiClient(ApiClient):
    """The SDK's ApiClient, except that a OnePass request's dict is taken as the JSON it already is:
    the SDK walks every body value by value again before encoding it, which for a Flex carousel cost
    about as much as the rest of the reply."""

    def sanitize_for_serialization(self, obj):
        if isinstance(obj, OnePass):
            return obj.to_dict()
        return super().sanitize_for_serialization(obj)


class OnePassReplyRequest(OnePass, ReplyMessageRequest):
    pass


class OnePassPushRequest(OnePass, PushMessageRequest):
    pass


class OnePassMulticastRequest(OnePass, MulticastRequest):
    pass


# The SDK's own methods without their pydantic validate_arguments wrappers, which build and validate a
# model of each call around a request that was validated when it was built (bot.messages for replies,
# bot.line.outbox for pushes). It is the only part of a call that is not the request.
_REPLY = MessagingApi.reply_message_with_http_info.raw_function
_PUSH = MessagingApi.push_message_with_http_info.raw_function
_MULTICAST = MessagingApi.multicast_with_http_info.raw_function


@dataclasses.dataclass(frozen=True)
class SendResult:
    outcome: str  # "sent", "retry" (try again later) or "failed" (LINE refused it for good)
    request_id: str | None = None
    error: str | None = None
    status: int | None = None
    retry_after: float | None = None


def _header(headers, name):
    if not headers:
        return None
    if isinstance(headers, urllib3.HTTPHeaderDict):  # what the SDK's responses carry: found in any case
        return headers.get(name)
    for key, value in dict(headers).items():
        if key.lower() == name.lower():
            return value
    return None


def classify_error(exc: Exception) -> SendResult:
    """Turns an SDK or transport error into what the dispatcher should do next."""
    if isinstance(exc, ApiException):
        status = exc.status or 0
        body = (exc.body or b"")
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        headers = getattr(exc, "headers", None)
        if status == 409:
            # Our retry key was accepted before (e.g. we timed out after LINE took the request).
            return SendResult("sent", _header(headers, "x-line-accepted-request-id"), status=409)
        if status == 429 or status >= 500:
            retry_after = _header(headers, "retry-after")
            return SendResult("retry", error=f"{status} {text[:300]}", status=status,
                              retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None)
        return SendResult("failed", error=f"{status} {text[:500]}", status=status)
    if isinstance(exc, (urllib3.exceptions.HTTPError, OSError, TimeoutError)):
        return SendResult("retry", error=f"transport: {type(exc).__name__}")
    raise exc


class LineClient:
    def __init__(self, settings: Settings, *, pool_size: int = 32):
        self.timeout = (3.0, settings.line_timeout)
        # One client per host: the SDK sends every call to its configuration's host, so the data API
        # (rich menu images) needs a client of its own.
        self.api_client = JsonApiClient(self._configuration(settings, settings.api_base_url, pool_size))
        self.data_client = ApiClient(self._configuration(settings, settings.data_api_base_url, 4))
        self.messaging = MessagingApi(self.api_client)
        self.blob = MessagingApiBlob(self.data_client)

    @staticmethod
    def _configuration(settings: Settings, host: str, pool_size: int) -> Configuration:
        configuration = Configuration(host=host, access_token=settings.channel_access_token)
        # The dispatcher owns retries (with the retry key); urllib3 must not resend a POST on its own.
        configuration.retries = urllib3.Retry(total=0, connect=0, read=0, redirect=0, status=0)
        # Enough connections for the dispatcher's threads, so none is thrown away after use.
        configuration.connection_pool_maxsize = pool_size
        return configuration

    def close(self) -> None:
        self.api_client.close()
        self.data_client.close()

    def reply(self, reply_token: str, messages: list) -> SendResult:
        try:
            response = _REPLY(self.messaging, OnePassReplyRequest(reply_token=reply_token, messages=messages),
                              _request_timeout=self.timeout, _preload_content=False)
        except Exception as exc:  # noqa: BLE001 - classified below, re-raised if unknown
            return classify_error(exc)
        return SendResult("sent", _header(response.headers, "x-line-request-id"))

    @property
    def _send_options(self) -> dict:
        # The answer's body is not parsed: only its status and headers matter, and parsing costs CPU
        # (and would fail on a 2xx body the SDK does not expect, after LINE accepted the request).
        return {"_request_timeout": self.timeout, "_preload_content": False}

    def send(self, kind: str, recipients: list[str], payload: dict, retry_key: str) -> SendResult:
        """Sends one outbox row: push, multicast, broadcast or narrowcast."""
        messages = payload["messages"]
        # Outbox payloads were checked when queued (bot.line.outbox): sent as they are.
        objects = lambda: [Checked.of(m) for m in messages]  # noqa: E731
        call = {
            "push": lambda: _PUSH(
                self.messaging, OnePassPushRequest(to=recipients[0], messages=objects()),
                x_line_retry_key=retry_key, **self._send_options),
            "multicast": lambda: _MULTICAST(
                self.messaging, OnePassMulticastRequest(to=recipients, messages=objects()),
                x_line_retry_key=retry_key, **self._send_options),
            "broadcast": lambda: self.messaging.broadcast_with_http_info(
                BroadcastRequest.from_dict({"messages": messages}),
                x_line_retry_key=retry_key, **self._send_options),
            "narrowcast": lambda: self.messaging.narrowcast_with_http_info(
                NarrowcastRequest.from_dict({"messages": messages, **payload.get("narrowcast", {})}),
                x_line_retry_key=retry_key, **self._send_options),
        }[kind]
        try:
            response = call()
        except Exception as exc:  # noqa: BLE001
            return classify_error(exc)
        return SendResult("sent", _header(response.headers, "x-line-request-id"), status=response.status_code)

    def display_name(self, user_id: str) -> str | None:
        """The friend's display name, or None when LINE does not answer (never blocks a follow)."""
        try:
            profile = self.messaging.get_profile(user_id, _request_timeout=(2.0, 3.0))
        except Exception as exc:  # noqa: BLE001 - a missing name is fine
            log.info("profile lookup failed: %s", type(exc).__name__)
            return None
        return profile.display_name
