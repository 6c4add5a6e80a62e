"""Dispatcher throughput, next to a bare SDK loop sending the same pushes to the same server.

Against the LINE emulator (in its own process unless --emulator thread): distinct pushes/s per
database backend, and identical pushes that the dispatcher folds into multicasts (messages/s). Against
the null LINE of bench/stub.py: the dispatcher's own ceiling, which the emulator hides.
Baseline: MessagingApi.push_message in a ThreadPoolExecutor of the dispatcher's thread count.
Every run is verified at the server: each user got exactly the one message queued for them.
"""
from __future__ import annotations

import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor

from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, PushMessageRequest, TextMessage

from bench import BenchError, Figure
from bench.databases import backends, fresh_database
from bench.emulator import TOKEN, started
from bench.bounds import bucket_ceiling, describe
from bench.measure import measure
from bench.probes import TimedDispatcher, count_discarded_connections, watchdog
from bot.config import Settings
from bot.db import Database
from bot.line import outbox
from bot.line.client import LineClient
from bot.line.dispatcher import DispatcherConfig
from bot.line.limits import MAX_MULTICAST
from bot.models.outbox import MERGED, SENT
from bot.services import Services
from handlers import build_router
from simulator.emulator import new_user_id

PUSH_GOAL = "2,000 req/s (LINE's push limit)"
MULTICAST_GOAL = "100,000 msg/s (200 multicast/s × 500)"
ROWS_PER_TRANSACTION = 2_000


def _services(api_url: str, db_url: str) -> Services:
    settings = Settings(demo=False, channel_secret="0" * 32, channel_access_token=TOKEN,
                        api_base_url=api_url, data_api_base_url=api_url, database_url=db_url,
                        secret_key="s" * 40, public_base_url="https://hw-omura.test")
    return Services(settings, Database(db_url), LineClient(settings), build_router())


def _verify(label: str, server, texts: dict[str, str]) -> dict:
    seen = server.summary(list(texts))
    if seen["rejected"]:
        raise BenchError(f"{label}: the server refused {seen['rejected']} calls, "
                         f"e.g. {seen['rejected_examples'][0]}")
    wrong = [(uid, got) for uid, got in seen["texts"].items() if got != [texts[uid]]]
    if wrong:
        uid, got = wrong[0]
        raise BenchError(f"{label}: {len(wrong)} of {len(texts)} users did not get exactly their one "
                         f"message (e.g. {uid} got {got[:3]!r})")
    return seen


def baseline(ctx, server, where: str, users: list[str], threads: int) -> Figure:
    server.add_users(users)
    texts = {uid: f"baseline {i}" for i, uid in enumerate(users)}
    config = Configuration(host=server.base_url, access_token=TOKEN)
    config.connection_pool_maxsize = threads  # one connection per thread: the best the bare SDK does
    client = ApiClient(config)
    api = MessagingApi(client)

    def send(uid):
        api.push_message(PushMessageRequest(to=uid, messages=[TextMessage(text=texts[uid])]),
                         x_line_retry_key=str(uuid.uuid4()))

    try:
        with measure(server) as m, ThreadPoolExecutor(threads) as pool:
            list(pool.map(send, users))
    finally:
        client.close()
    label = f"SDK push loop → {where} (baseline)"
    _verify(label, server, texts)
    rate = len(users) / m.wall
    ctx.log(f"{label}: {len(users):,} pushes in {m.wall:.2f} s = {rate:,.0f}/s")
    ctx.note(f"{label}, {threads} threads: {describe(ctx, m, where)}")
    return Figure(label, rate, "push/s", goal=PUSH_GOAL, details={"n": len(users), **m.as_dict()})


def dispatch(label: str, server, db_url: str, users: list[str], multicast: bool):
    """Queues one message per user, runs the dispatcher until idle: (measurement, worker, seen)."""
    server.add_users(users)
    texts = {uid: "bench multicast" if multicast else f"bench {i}" for i, uid in enumerate(users)}
    services = _services(server.base_url, db_url)
    worker = TimedDispatcher(services, DispatcherConfig())
    try:
        for start in range(0, len(users), ROWS_PER_TRANSACTION):
            with services.db.session() as session:
                for uid in users[start:start + ROWS_PER_TRANSACTION]:
                    outbox.push(session, uid, [{"type": "text", "text": texts[uid]}], source="bench")
        with watchdog(worker, server, max(120.0, len(users) / 20)) as trouble:
            with measure(server) as m:
                worker.run(until_idle=True)
        with services.db.session() as session:
            counts = {state: count for state, count in outbox.counts(session).items() if count}
    finally:
        worker.close()
        services.close()
    if trouble or set(counts) - {SENT, MERGED}:
        raise BenchError(f"{label}: {trouble[0] if trouble else 'rows left unsent'}: {counts}")
    return m, worker, _verify(label, server, texts)


def dispatched(ctx, server, where, backend, workdir, users, multicast, base, discarded) -> Figure:
    kind = "multicast" if multicast else "push"
    label = f"dispatcher {kind} [{backend}] → {where}"
    config, before, n = DispatcherConfig(), discarded.count, len(users)
    with fresh_database(backend, workdir) as url:
        m, worker, seen = dispatch(label, server, url, users, multicast)
    rate, sizes, lost = n / m.wall, seen["multicast_sizes"], discarded.count - before
    shape = (f"{len(sizes)} multicasts of ≤{max(sizes)}" if multicast
             else f"{seen['calls'].get('push', 0):,} pushes")
    ctx.log(f"{label}: {n:,} messages as {shape} in {m.wall:.2f} s = {rate:,.0f}/s")
    usage = describe(ctx, m, where, backend=backend, db_seconds=worker.db_seconds, rate=rate,
                     ceiling=bucket_ceiling(config.rates[kind], len(sizes) if multicast else n, n),
                     baseline=None if multicast else base.value)
    ctx.note(f"{label}: {shape}; {usage}; {lost:,} connections discarded (LineClient pool < threads)")
    if multicast and max(sizes) < MAX_MULTICAST:
        ctx.note(f"{label}: multicasts hold ≤{max(sizes)}, not {MAX_MULTICAST}: claim() folds only the "
                 f"rows of one batch (batch_size={config.batch_size}); ratio is against the push loop")
    return Figure(label, rate, "msg/s" if multicast else "push/s", base.value,
                  MULTICAST_GOAL if multicast else PUSH_GOAL,
                  {"n": n, **m.as_dict(), "db_s": round(worker.db_seconds, 3), "calls": seen["calls"],
                   "multicast_sizes": sorted(set(sizes)), "discarded_connections": lost})


def run(ctx) -> list[Figure]:
    n, config = ctx.scale(10_000, 1_000), DispatcherConfig()
    users = [new_user_id() for _ in range(n)]
    ctx.log(f"{n:,} users; emulator: {ctx.emulator}; databases: {', '.join(backends())}")
    where = "its own process" if ctx.emulator == "process" else "a thread of the bench process"
    ctx.note(f"emulator in {where}; dispatcher defaults: {config.threads} threads, batch "
             f"{config.batch_size}, token bucket {config.rates['push']:,.0f} push/s and {config.rates['multicast']:,.0f} multicast/s "
             f"(bursts of one second's worth); {ctx.cpus} CPUs shared by bench, server and database")
    figures = []
    with tempfile.TemporaryDirectory() as workdir, count_discarded_connections() as discarded:
        with started(ctx.emulator) as emulator:
            base = baseline(ctx, emulator, "emulator", users, config.threads)
            figures.append(base)
            for backend in backends():
                for multicast in (False, True):
                    figures.append(dispatched(ctx, emulator, "emulator", backend, workdir, users,
                                              multicast, base, discarded))
        with started("stub") as stub:
            base = baseline(ctx, stub, "null stub", users, config.threads)
            figures.append(base)
            figures.append(dispatched(ctx, stub, "null stub", "sqlite", workdir, users, False, base,
                                      discarded))
    return figures
