"""Processing one webhook event: claim its id once, load the user, run the handler, reply.

A handler's database work and the claim of the event id commit together, so a redelivered event is
skipped and a failed handler leaves no half-done work. A handler that raises is logged with the event
id, the event is still marked processed (LINE would otherwise redeliver into the same failure), and
the person gets an apology instead of silence.
"""
from __future__ import annotations

import logging

from linebot.v3.webhooks import MessageEvent, PostbackEvent, TextMessageContent
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from bot import conversation, messages, users
from bot.db import dialect_of, per_dialect
from bot.line import replies as replies_store
from bot.models import ChatNotice, Conversation, ProcessedEvent, User, utcnow
from bot.router import Context, InvalidPostback, normalise

log = logging.getLogger(__name__)

APOLOGY = ("申し訳ありません。ただいまお手続きを完了できませんでした。"
           "お手数ですが、しばらくしてからもう一度お試しください。")
GROUP_NOTICE = ("ハローワーク大村のLINE公式アカウントです。"
                "このアカウントは1対1のトークでご利用いただけます。"
                "グループやトークルームでのメッセージにはお答えできませんので、"
                "お手数ですがアカウントとの個別のトークからご利用ください。")
# Events that say a person is talking to the bot, and so deserve an answer even when we fail.
ADDRESSED = ("message", "message.text", "postback", "follow")


# The claim also returns the sender's user id (NULL for a new friend or a group), which every 1:1
# event needs next, and whether they are in a flow (most are not, and every text message would look):
# one statement instead of three.
_SENDER = select(User.id).where(User.line_user_id == bindparam("user_id")).scalar_subquery()
# (No join: SQLite names the columns of a RETURNING clause's subqueries without their tables.)
_FLOW = select(Conversation.id).where(Conversation.user_id == _SENDER).scalar_subquery()
_CLAIM = per_dialect(lambda insert: insert(ProcessedEvent.__table__).values(
    webhook_event_id=bindparam("event_id"), event_type=bindparam("event_type"))
    .on_conflict_do_nothing(index_elements=["webhook_event_id"]).returning(ProcessedEvent.id, _SENDER, _FLOW))


class Duplicate(Exception):
    """The event was processed before (LINE redelivered it)."""


def event_name(event) -> str:
    if isinstance(event, MessageEvent):
        return "message.text" if isinstance(event.message, TextMessageContent) else "message"
    return getattr(event, "type", None) or "unknown"


class EventProcessor:
    def __init__(self, services):
        self.services = services
        self.router = services.router
        self.db = services.db

    def process(self, event, raw: dict) -> None:
        """`raw` is LINE's JSON of the event: for kinds this SDK does not know (UnknownEvent) it is
        the only place the user id and reply token are kept."""
        event_id = getattr(event, "webhook_event_id", None)
        name = event_name(event)
        if not event_id:
            log.warning("event without webhookEventId skipped (type=%s)", name)
            return
        source = raw.get("source") if isinstance(raw.get("source"), dict) else {}
        chat = source.get("type")
        user_id = source.get("userId") if chat == "user" else None
        reply_token = raw.get("replyToken") if isinstance(raw.get("replyToken"), str) else None
        if chat == "user" and not user_id:
            log.warning("event %s from a user without userId skipped", event_id)
            return
        held = bool(reply_token and user_id)  # answers that must not be lost (bot.line.replies)
        prepared = self._prepare(name, user_id, event_id)
        try:
            with self.db.session() as session:
                known_id = self._claim(session, event_id, name, user_id)
                replies = self._dispatch(session, event, name, chat, user_id, known_id, prepared)
                if replies and held:
                    replies_store.hold(session, event_id, user_id, reply_token, replies)
        except Duplicate:
            log.info("event %s already processed; skipped", event_id)
            return
        except (OperationalError, InterfaceError):
            raise  # the database is unreachable: nothing was claimed, the webhook asks LINE to redeliver
        except Exception:  # noqa: BLE001 - any handler failure: log, mark done, apologise
            log.exception("handler failed for event %s (%s)", event_id, name)
            replies = [messages.text(APOLOGY)] if name in ADDRESSED and chat == "user" else []
            self._mark_done(event_id, name, (user_id, reply_token, replies) if replies and held else None)
        if replies:
            self._reply(reply_token, user_id, replies, event_id, held)

    # --- steps ----------------------------------------------------------------------------------

    def _prepare(self, name: str, user_id: str | None, event_id: str):
        """The event type's preparation (Router.event), made before any database lock is taken."""
        prepare = self.router.preparation_for(name) if user_id else None
        if prepare is None:
            return None
        try:
            return prepare(self.services, user_id)
        except Exception:  # noqa: BLE001 - the handler goes on without it, as with a failed lookup
            log.exception("preparation failed for event %s (%s)", event_id, name)
            return None

    def _claim(self, session, event_id: str, name: str, user_id: str | None) -> int | None:
        """Claims the event id; returns the sender's user id if they are known already."""
        # ON CONFLICT DO NOTHING instead of a savepoint around an INSERT: a parallel delivery of the
        # same event waits for the first one's commit and then inserts nothing.
        claimed = session.connection().execute(_CLAIM[dialect_of(session)], {
            "event_id": event_id, "event_type": name[:40], "user_id": user_id}).first()
        if claimed is None:
            raise Duplicate(event_id)
        _, sender_id, flow_id = claimed
        if sender_id is not None and flow_id is None:
            conversation.known_to_have_none(session, sender_id)
        return sender_id

    def _mark_done(self, event_id: str, name: str, apology: tuple | None) -> None:
        try:
            with self.db.session() as session:
                session.add(ProcessedEvent(webhook_event_id=event_id, event_type=name[:40]))
                if apology:
                    replies_store.hold(session, event_id, *apology)
        except IntegrityError:
            pass  # a parallel delivery recorded it already

    def _dispatch(self, session, event, name: str, chat: str | None, user_id: str | None,
                  known_id: int | None = None, prepared=None) -> list:
        if chat in ("group", "room"):
            return self._group_notice(session, event, name)
        if chat != "user":
            return []
        ctx = Context(event=event, session=session, settings=self.services.settings, now=utcnow(),
                      services=self.services, line_user_id=user_id, prepared=prepared)
        if name not in ("follow", "unfollow"):
            ctx.user = users.Friend(known_id, user_id) if known_id else users.friend(session, user_id)
        if name == "message.text":
            ctx.text = normalise(event.message.text)
            ctx.conversation = conversation.active(session, ctx.user.id, ctx.now)
            handler = self.router.handler_for_text(ctx)
        elif name == "postback" and isinstance(event, PostbackEvent):
            try:
                action, ctx.params = self.router.decode_postback(event.postback.data)
                handler = action.handler
            except InvalidPostback as exc:
                log.info("invalid postback from event %s: %s", event.webhook_event_id, exc)
                handler = self.router.handler_for_event("postback.invalid")
        else:
            handler = self.router.handler_for_event(name)
        if handler is None:
            return []
        return list(handler(ctx) or [])

    def _group_notice(self, session, event, name: str) -> list:
        """Groups and rooms get one explanation; nothing about their members is stored."""
        if name not in ("join", "message", "message.text", "postback"):
            return []
        source = event.source
        chat_id = getattr(source, "group_id", None) or getattr(source, "room_id", None)
        if not chat_id:
            return []
        if session.scalar(select(ChatNotice.id).where(ChatNotice.chat_id == chat_id)):
            return []
        session.add(ChatNotice(chat_id=chat_id))
        return [messages.text(GROUP_NOTICE)]

    def _reply(self, reply_token: str | None, user_id: str | None, replies: list, event_id: str,
               held: bool) -> None:
        line = self.services.line
        if reply_token:
            result = line.reply(reply_token, replies)
            delivered = result.outcome == "sent"
            if result.outcome == "retry" and result.status is None:
                # A timeout: LINE may have delivered it. A reply has no retry key, but its token is used
                # once: resending tells (accepted, or 400 for a token the first attempt already spent).
                again = line.reply(reply_token, replies)
                delivered = again.outcome == "sent" or again.status == 400
            if delivered:
                if held:
                    self.services.settler.add(event_id)  # settled in a batch (bot.line.replies)
                return
            log.warning("reply for event %s failed (%s); queued as a push", event_id, result.error)
        if not user_id:
            return

        def push_instead(session):
            # The reply token is spent or expired: the same messages go out as a push instead, unless
            # the dispatcher took the held reply meanwhile (then it answers).
            if not held or replies_store.settle(session, event_id):
                replies_store.push_instead(session, user_id, replies, event_id)
        self._after_reply(event_id, push_instead)

    def _after_reply(self, event_id: str, work) -> None:
        try:
            with self.db.session() as session:
                work(session)
        except (OperationalError, InterfaceError) as exc:
            # The event's work is committed and its answer held: the dispatcher settles it once the
            # database is back (bot.line.replies), so the request is still answered 200.
            log.warning("reply for event %s left to the dispatcher: database unavailable (%s)",
                        event_id, type(exc.orig or exc).__name__)
