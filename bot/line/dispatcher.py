"""Delivers outbox rows to LINE: exactly once, in spite of crashes, timeouts, 429s and 5xx.

Each row carries its own X-Line-Retry-Key, kept across attempts. A row is claimed with a lease
(FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite serialises writers, so a plain UPDATE claims safely) and
sent; if the process dies mid-send, the lease runs out, another dispatcher resends with the same key and
LINE answers 409 for what it had already accepted, which counts as delivered.

Pending single pushes with identical messages that were never attempted are folded into multicasts of
at most 500 (a new row with its own key), which is what LINE's rate limits favour.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
import os
import random
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import click
from sqlalchemy import and_, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm.attributes import set_committed_value

from bot.line import replies
from bot.line.client import SendResult
from bot.line.limits import MAX_MULTICAST
from bot import preferences
from bot.models import OutboxMessage, utcnow
from bot.models.outbox import CANCELLED, FAILED, MERGED, PENDING, SENDING, SENT

log = logging.getLogger(__name__)

# Requests per second per endpoint, under LINE's published limits (push 2,000/s, multicast 200/s,
# broadcast 60/min, narrowcast 60/h).
# Pushes beyond one batch that may be folded into its multicasts (same messages, never attempted).
MAX_SIBLINGS = 5000
DEFAULT_RATES = {"push": 1800.0, "multicast": 180.0, "broadcast": 0.9, "narrowcast": 1 / 65}


@dataclasses.dataclass
class DispatcherConfig:
    batch_size: int = 200
    threads: int = 16
    lease_seconds: float = 60.0
    max_attempts: int = 15
    backoff_base: float = 2.0
    backoff_max: float = 600.0
    idle_wait: float = 1.0
    # Seconds a web process has to confirm its reply before the dispatcher sends it (bot.line.replies):
    # past a normal reply (milliseconds), within the token's minute. Any value is safe: whoever
    # deletes the held row sends it.
    reply_grace: float = 15.0
    reply_check_every: float = 5.0
    rates: dict = dataclasses.field(default_factory=lambda: dict(DEFAULT_RATES))


class TokenBucket:
    """Allows `rate` acquisitions a second on average, with bursts up to `rate` (at least 1)."""

    def __init__(self, rate: float, stop: threading.Event):
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.lock = threading.Lock()
        self.stop = stop

    def acquire(self) -> bool:
        while not self.stop.is_set():
            with self.lock:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return True
                wait = (1 - self.tokens) / self.rate
            self.stop.wait(wait)
        return False


def backoff(attempts: int, config: DispatcherConfig, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter, so that many rows failing together do not retry together."""
    delay = min(config.backoff_max, config.backoff_base * 2 ** max(0, attempts - 1))
    delay = random.uniform(delay / 2, delay)
    return max(delay, retry_after or 0.0)


class Dispatcher:
    def __init__(self, services, config: DispatcherConfig | None = None, name: str | None = None):
        self.services = services
        self.db = services.db
        self.line = services.line
        self.config = config or DispatcherConfig()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.stop = threading.Event()
        self.buckets = {kind: TokenBucket(rate, self.stop) for kind, rate in self.config.rates.items()}
        self.pool = ThreadPoolExecutor(self.config.threads, thread_name_prefix="dispatch")
        self._next_reply_check = 0.0

    # --- claiming -------------------------------------------------------------------------------

    def _due(self, session, now: dt.datetime) -> list[OutboxMessage]:
        """Rows whose lease ran out (their dispatcher died), then pending rows in the order they fell due.

        Two statements, each walking ix_outbox_due (status, next_attempt_at, id) from its start: one
        with an OR, ordered by id, walked the table from its first row past every row delivered in
        the last 90 days (0.4 ms per 1,000 of them on PostgreSQL, on every claim, idle or not)."""
        def take(status, due, limit):
            return list(session.scalars(
                select(OutboxMessage).where(OutboxMessage.status == status, due)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
                .with_for_update(skip_locked=True)))

        batch = self.config.batch_size
        rows = take(SENDING, OutboxMessage.lease_until < now, batch)
        if len(rows) < batch:
            rows += take(PENDING, OutboxMessage.next_attempt_at <= now, batch - len(rows))
        return rows

    def claim(self) -> list[OutboxMessage]:
        now = utcnow()
        lease = now + dt.timedelta(seconds=self.config.lease_seconds)
        with self.db.session() as session:
            rows = self._due(session, now)
            if not rows:
                return []
            rows = self._merge_pushes(session, rows, now)
            self._drop_unreachable(session, rows)
            claimed = [r for r in rows if r.status != CANCELLED]
            if claimed:
                # One UPDATE for the batch: the ORM's flush sends one statement per row (200 on PostgreSQL).
                session.execute(update(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in claimed]))
                                .values(status=SENDING, lease_until=lease, claimed_by=self.name,
                                        attempts=OutboxMessage.attempts + 1),
                                execution_options={"synchronize_session": False})
                for row in claimed:  # the same values in memory, without flushing them again
                    for key, value in (("status", SENDING), ("lease_until", lease), ("claimed_by", self.name),
                                       ("attempts", row.attempts + 1)):
                        set_committed_value(row, key, value)
            return claimed

    def _fresh_push(self, now: dt.datetime):
        return and_(OutboxMessage.kind == "push", OutboxMessage.status == PENDING,
                    OutboxMessage.attempts == 0, OutboxMessage.next_attempt_at <= now)

    def _merge_pushes(self, session, rows: list[OutboxMessage], now: dt.datetime) -> list[OutboxMessage]:
        """Folds never-attempted pushes with the same messages into multicast rows of up to 500.

        Siblings beyond this batch (same payload, also never attempted) are claimed too, in one query,
        so that a large announcement becomes full multicasts rather than batch-sized ones."""
        fresh = [r for r in rows if r.kind == "push" and r.attempts == 0 and r.status == PENDING]
        result = [r for r in rows if r not in fresh]
        if not fresh:
            return result
        hashes = {r.payload_hash for r in fresh}
        fresh += list(session.scalars(
            select(OutboxMessage).where(self._fresh_push(now), OutboxMessage.payload_hash.in_(hashes),
                                        OutboxMessage.id.not_in([r.id for r in fresh]))
            .order_by(OutboxMessage.id).limit(MAX_SIBLINGS).with_for_update(skip_locked=True)))
        # Rows fold together only when they say the same thing, about the same topic, for the same cause
        # (a broadcast's figures count its own rows).
        same = lambda r: (r.payload_hash, r.topic or "", r.source or "")  # noqa: E731
        fresh.sort(key=lambda r: (same(r), r.id))
        for _, group in itertools.groupby(fresh, key=same):
            group = list(group)
            if len(group) == 1:
                result.extend(group)
                continue
            for start in range(0, len(group), MAX_MULTICAST):
                chunk = group[start:start + MAX_MULTICAST]
                if len(chunk) == 1:
                    result.extend(chunk)
                    continue
                merged = OutboxMessage(kind="multicast", recipients=[r.recipients[0] for r in chunk],
                                       payload=chunk[0].payload, payload_hash=chunk[0].payload_hash,
                                       source=chunk[0].source, topic=chunk[0].topic)
                session.add(merged)
                session.flush()
                for r in chunk:
                    r.status, r.merged_into = MERGED, merged.id
                result.append(merged)
        return result

    def _drop_unreachable(self, session, rows: list[OutboxMessage]) -> None:
        """Recipients who blocked the account, or turned the row's topic off, since it was written.

        Only rows never attempted are changed: a row LINE may already have accepted is resent as it
        was, so that its retry key still matches what LINE saw."""
        targets = [r for r in rows if r.kind in ("push", "multicast") and r.attempts == 0]
        for topic in {r.topic for r in targets}:
            group = [r for r in targets if r.topic == topic]
            refused = preferences.refusing(session, {uid for r in group for uid in r.recipients}, topic)
            for row in group:
                kept = [uid for uid in row.recipients if uid not in refused]
                if not kept:
                    row.status, row.last_error = CANCELLED, "no recipient left (unfollowed or opted out)"
                elif len(kept) != len(row.recipients):
                    row.recipients = kept
                    if row.kind == "multicast" and len(kept) == 1:
                        row.kind = "push"

    # --- sending --------------------------------------------------------------------------------

    def _send(self, row: OutboxMessage) -> SendResult:
        bucket = self.buckets.get(row.kind)
        if bucket is not None and not bucket.acquire():
            return SendResult("retry", error="dispatcher stopping")
        return self.line.send(row.kind, row.recipients, row.payload, row.retry_key)

    def _finish(self, outcomes: list[tuple[OutboxMessage, SendResult]]) -> None:
        now = utcnow()
        changes = []
        for row, result in outcomes:
            change = {"id": row.id, "lease_until": None, "claimed_by": None, "updated_at": now}
            if result.outcome == "sent":
                change.update(status=SENT, sent_at=now, line_request_id=result.request_id, last_error=None)
            elif result.outcome == "retry" and row.attempts < self.config.max_attempts:
                wait = backoff(row.attempts, self.config, result.retry_after)
                change.update(status=PENDING, last_error=result.error,
                              next_attempt_at=now + dt.timedelta(seconds=wait))
            else:
                change.update(status=FAILED, last_error=result.error)
                log.warning("outbox row %s failed for good: %s", row.id, result.error)
            changes.append(change)
        with self.db.session() as session:
            # Bulk UPDATE by primary key; the status guard leaves alone a row someone else reclaimed.
            session.execute(update(OutboxMessage).where(OutboxMessage.status == SENDING), changes,
                            execution_options={"synchronize_session": None})

    def run_once(self) -> int:
        if time.monotonic() >= self._next_reply_check:
            # Replies held by web processes that died before confirming them (bot.line.replies).
            self._next_reply_check = time.monotonic() + self.config.reply_check_every
            replies.resend_stale(self.services, self.config.reply_grace)
        rows = self.claim()
        if not rows:
            return 0
        results = list(self.pool.map(self._send, rows))
        self._finish(list(zip(rows, results)))
        return len(rows)

    def run(self, until_idle: bool = False) -> int:
        """Sends until stopped (or, with until_idle, until nothing is due); returns rows handled."""
        handled = 0
        outage = 0
        while not self.stop.is_set():
            try:
                count = self.run_once()
                idle = count == 0 and until_idle and not self._waiting()
            except (OperationalError, InterfaceError) as exc:
                # The database went away (restart, failover): keep the process and try again. Rows sent
                # but not yet marked keep their lease and are resent with their keys (LINE answers 409).
                outage += 1
                log.warning("dispatcher: database unavailable (%s); retrying", type(exc.orig or exc).__name__)
                self.stop.wait(min(self.config.backoff_max, self.config.idle_wait * 2 ** min(outage, 5)))
                continue
            outage = 0
            handled += count
            if count == 0:
                if idle:
                    break
                self.stop.wait(self.config.idle_wait)
        return handled

    def _waiting(self) -> bool:
        """Rows that will become due later (backoff, leases): run(until_idle) waits for them."""
        with self.db.session() as session:
            return session.scalar(select(OutboxMessage.id).where(
                OutboxMessage.status.in_([PENDING, SENDING])).limit(1)) is not None

    def close(self) -> None:
        self.stop.set()
        self.pool.shutdown(wait=True)


def register_cli(app) -> None:
    from flask import current_app

    from bot.cli import fail
    from bot.line import outbox

    @app.cli.command("dispatcher")
    @click.option("--until-idle", is_flag=True, help="Stop when nothing is left to send.")
    @click.option("--threads", type=click.IntRange(1, 64), default=16, show_default=True)
    @click.option("--lease", type=click.FloatRange(1, 3600), default=60.0, show_default=True,
                  help="Seconds a claimed row stays reserved before another dispatcher may take it.")
    @click.option("--reply-grace", type=click.FloatRange(1, 40), default=15.0, show_default=True,
                  help="Seconds before a reply the web process did not confirm is sent by the dispatcher.")
    @click.option("--rate", "rates", multiple=True, metavar="KIND=PER_SECOND",
                  help="Requests per second for push, multicast, broadcast or narrowcast "
                       "(defaults stay under LINE's published limits).")
    def dispatcher_command(until_idle: bool, threads: int, lease: float, reply_grace: float,
                           rates: tuple[str, ...]):
        """Deliver queued pushes, multicasts and broadcasts to LINE (the Procfile worker)."""
        services = current_app.extensions["bot"]
        config = DispatcherConfig(threads=threads, lease_seconds=lease, reply_grace=reply_grace,
                                  reply_check_every=min(5.0, reply_grace / 2))
        for item in rates:
            kind, _, value = item.partition("=")
            try:
                rate = float(value)
            except ValueError:
                rate = 0.0
            if kind not in config.rates or not rate > 0:
                fail(f"--rate {item}: expected KIND=PER_SECOND with KIND one of {', '.join(config.rates)}")
            config.rates[kind] = rate
        worker = Dispatcher(services, config)
        signal.signal(signal.SIGTERM, lambda *_: worker.stop.set())
        signal.signal(signal.SIGINT, lambda *_: worker.stop.set())
        click.echo(f"dispatcher {worker.name} started", err=True)
        try:
            handled = worker.run(until_idle=until_idle)
        finally:
            worker.close()
        click.echo(f"dispatcher stopped after {handled} rows", err=True)

    @app.cli.group("outbox")
    def outbox_group():
        """The queue of messages waiting for LINE."""

    @outbox_group.command("status")
    def outbox_status():
        """Counts of outbox rows by state."""
        with current_app.extensions["bot"].db.session() as session:
            for state, count in outbox.counts(session).items():
                click.echo(f"{state:10} {count}")

    @outbox_group.command("retry")
    @click.argument("ids", nargs=-1, type=int)
    def outbox_retry(ids):
        """Queue failed rows again (all failed rows, or the given ids)."""
        with current_app.extensions["bot"].db.session() as session:
            if ids:
                found = set(session.scalars(select(OutboxMessage.id).where(
                    OutboxMessage.id.in_(ids), OutboxMessage.status == FAILED)))
                missing = sorted(set(ids) - found)
                if missing:
                    fail(f"not failed rows (or unknown): {', '.join(map(str, missing))}")
            count = outbox.retry_failed(session, list(ids) or None)
        click.echo(f"{count} rows queued again")
