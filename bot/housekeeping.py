"""Jobs that keep the database small: old webhook event ids, finished outbox rows, old failed sign-ins."""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete

from bot.models import OutboxMessage, ProcessedEvent, SignInAttempt, utcnow
from bot.models.outbox import CANCELLED, MERGED, SENT
from bot.scheduler import scheduled

log = logging.getLogger(__name__)

# LINE redelivers a failed webhook for a limited time only; a week is far beyond it.
EVENT_ID_RETENTION = dt.timedelta(days=7)
# Sent rows are kept a while for delivery figures and support questions.
OUTBOX_RETENTION = dt.timedelta(days=90)
SIGN_IN_ATTEMPT_RETENTION = dt.timedelta(days=1)


def _purge(services, statement, what: str) -> int:
    with services.db.session() as session:
        count = session.execute(statement).rowcount
    log.info("purged %d %s", count, what)
    return count


@scheduled("purge-event-ids", "Forget webhook event ids older than a week", hour=3, minute=30)
def purge_event_ids(services) -> int:
    return _purge(services, delete(ProcessedEvent).where(
        ProcessedEvent.received_at < utcnow() - EVENT_ID_RETENTION), "old webhook event ids")


@scheduled("purge-outbox", "Delete delivered outbox rows older than 90 days", hour=3, minute=40)
def purge_outbox(services) -> int:
    return _purge(services, delete(OutboxMessage).where(
        OutboxMessage.status.in_([SENT, CANCELLED, MERGED]),
        OutboxMessage.updated_at < utcnow() - OUTBOX_RETENTION), "outbox rows")


@scheduled("purge-sign-in-attempts", "Delete failed console sign-ins older than a day", hour=3, minute=50)
def purge_sign_in_attempts(services) -> int:
    # console.auth counts them over 15 minutes only; they hold a client address, so they go soon.
    return _purge(services, delete(SignInAttempt).where(
        SignInAttempt.at < utcnow() - SIGN_IN_ATTEMPT_RETENTION), "old sign-in attempts")
