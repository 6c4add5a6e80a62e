"""A load generator on loopback: prepared webhook requests over keep-alive HTTP/1.1 connections.

Requests are built and signed before a run starts, so the loop only writes bytes and reads answers
(asyncio, one thread): little CPU is taken from the server under test on a small machine.

- closed(): `concurrency` connections send back to back; the rate it reaches is the maximum rate.
- opened(): arrivals at a fixed mean rate (Poisson, seeded) whatever the answers do; latency counts
  from the moment a request was due, so a slow server is not hidden by sending less (no coordinated
  omission).
"""
from __future__ import annotations

import asyncio
import collections
import dataclasses
import random
import statistics
import time


@dataclasses.dataclass
class Run:
    sent: int = 0
    seconds: float = 0.0
    latencies: list = dataclasses.field(default_factory=list)  # seconds, one per answered request
    statuses: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    late_start: float = 0.0  # open loop: how far behind schedule the sender fell at worst (s)
    cores: dict = dataclasses.field(default_factory=dict)  # CPU cores used meanwhile, by whom (webhook)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """Milliseconds."""
        if len(self.latencies) < 2:
            return (self.latencies or [0.0])[0] * 1000
        return statistics.quantiles(self.latencies, n=1000, method="inclusive")[int(q * 10) - 1] * 1000


class Connection:
    # gunicorn closes a keep-alive connection idle for 2 s (its default keepalive); one idle for
    # longer than this is replaced before use rather than raced against that close.
    MAX_IDLE = 1.0
    # A keep-alive connection stays with the gunicorn worker that accepted it, and which worker that
    # is depends on who polled the shared socket first. Kept for a whole phase, 16 connections once
    # all went to one worker (0.91 and 0.00 cores), which halved that run's maximum rate, the echo
    # bot's or the bot's alike. Renewed after this many requests, they are dealt out again and again.
    MAX_REQUESTS = 25

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None
        self.used = 0.0
        self.requests = 0

    async def post(self, path: str, body: bytes, headers: dict) -> int:
        if self.writer is not None and (time.monotonic() - self.used > self.MAX_IDLE
                                        or self.requests >= self.MAX_REQUESTS):
            self.close()
        reused = self.writer is not None
        if not reused:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.requests = 0
        self.requests += 1
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        try:
            self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
                              f"{head}\r\n".encode() + body)
            lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()
            # A reused connection the server had just closed: nothing was read, so send again once
            # on a new one (as HTTP clients do); a new connection that fails counts as a failure.
            return await self.post(path, body, headers) if reused else 0
        self.used = time.monotonic()
        fields = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
        await self.reader.readexactly(int(fields.get("content-length", 0)))
        if fields.get("connection", "").lower() == "close":
            self.close()
        return int(lines[0].split(" ")[1])

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _headers(signature: str) -> dict:
    return {"Content-Type": "application/json", "X-Line-Signature": signature}


async def _closed(host, port, path, requests, concurrency) -> Run:
    run, queue = Run(), collections.deque(requests)

    async def client():
        conn = Connection(host, port)
        while queue:
            body, signature = queue.popleft()
            start = time.perf_counter()
            status = await conn.post(path, body, _headers(signature))
            run.latencies.append(time.perf_counter() - start)
            run.statuses[status] += 1
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    run.seconds, run.sent = time.perf_counter() - t0, len(requests)
    return run


async def _opened(host, port, path, requests, rate, max_connections, seed) -> Run:
    run, idle, rng = Run(), [], random.Random(seed)
    pending, opened = set(), 0

    async def one(due, body, signature):
        nonlocal opened
        conn = idle.pop() if idle else None
        if conn is None:
            opened += 1
            conn = Connection(host, port)
        status = await conn.post(path, body, _headers(signature))
        run.latencies.append(time.perf_counter() - due)
        run.statuses[status] += 1
        idle.append(conn)

    t0 = due = time.perf_counter()
    for body, signature in requests:
        due += rng.expovariate(rate)
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        run.late_start = max(run.late_start, -delay)
        while opened >= max_connections and not idle:
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.ensure_future(one(due, body, signature))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.wait(pending)
    run.seconds, run.sent = time.perf_counter() - t0, len(requests)
    for conn in idle:
        conn.close()
    return run


def closed(base: tuple[str, int], requests: list[tuple[bytes, str]], concurrency: int,
           path: str = "/callback") -> Run:
    return asyncio.run(_closed(*base, path, requests, concurrency))


def opened(base: tuple[str, int], requests: list[tuple[bytes, str]], rate: float, *,
           max_connections: int = 64, seed: int = 1, path: str = "/callback") -> Run:
    return asyncio.run(_opened(*base, path, requests, rate, max_connections, seed))
