"""The webhook under gunicorn (the Procfile's web line), on each database, next to an SDK echo bot.

The bot and the baseline (bench/echo_bot.py) run under the same gunicorn settings and reply to the same
emulator (its own process). The load generator (bench/loadgen.py) sends signed webhook requests of one
event each with a fixed mix: keywords, free words, job numbers, search postbacks, favourites with real
job numbers, booking steps and follows; every reply token is issued by the emulator just before a run.
Per server: the maximum rate (closed loop, CONCURRENCY connections), then p50/p99 latency at 70 % of
that rate (open loop, Poisson arrivals). Every run is verified: each request answered 200, the emulator
received exactly one reply per event and refused nothing, and the server logged no handler error.
The web workers' RSS is sampled throughout; the bot then keeps serving the mix up to SOAK events (memory).
"""
from __future__ import annotations

import datetime as dt
import random
import tempfile
import threading
import time

from bench import BenchError, Figure
from bench import loadgen
from bench.databases import backends, fresh_database
from bench.emulator import TOKEN, started
from bench.measure import machine_busy_seconds, process_cpu_seconds, self_cpu_seconds
from bench.rss import rss_kib
from bench.webserver import Gunicorn
from bot.db import Database
from bot.jobs import catalogue, generator
from bot.models.job import OPEN
from bot.router import encode_postback
from handlers import build_router
from simulator import webhook_events as ev

SECRET = "0123456789abcdef0123456789abcdef"
CONCURRENCY = 16   # connections of the closed loop: twice the Procfile's 2 workers × 4 threads
OPEN_SHARE = 0.7
# Events the last bot server serves before its workers' RSS is read. The issue asks for 100,000: at the
# 170-350 events/s this machine manages that is 5-10 minutes more (13 minutes for the whole benchmark
# on 1 Dec), beyond `make bench`'s 15-minute budget with the rest, so the full run serves SOAK and
# `python -m bench --only webhook --soak 100000` does the full count.
SOAK = 10_000
RATE_GOAL = "≥ 60 % of the echo bot"
P99_GOAL = "< 100 ms at 70 % of max"
TODAY = dt.date(2026, 11, 25)
WORDS = ["介護", "事務 パート", "大村 製造", "フォークリフト", "看護師", "調理", "ドライバー"]


def _booking_postbacks() -> list[str]:
    """Whatever booking steps the bot offers now that need no parameters (consult.*, booking.*)."""
    actions = build_router().actions
    return [encode_postback(name) for name, a in sorted(actions.items())
            if name.split(".")[0] in ("consult", "booking", "book") and not set(a.schema) - a.optional]


def mix(job_numbers: list[str]) -> list[tuple[int, str, object]]:
    """(weight, kind, value or a function of a random generator giving the value)."""
    pick = random.Random.choice
    booking = _booking_postbacks()
    return [
        (8, "text", "求人"), (5, "text", lambda r: pick(r, ["ヘルプ", "使い方"])),
        (12, "text", lambda r: pick(r, WORDS)), (5, "text", lambda r: pick(r, job_numbers)),
        (4, "text", "お気に入り"), (4, "text", "配信設定"), (5, "text", "相談を予約"),
        (14, "postback", lambda r: encode_postback("search.words", q=pick(r, WORDS))),
        (4, "postback", encode_postback("search.menu")), (4, "postback", encode_postback("search.wizard")),
        (15, "postback", lambda r: encode_postback("fav.add", j=pick(r, job_numbers))),
        (5, "postback", encode_postback("fav.list")),
        (5, "postback", lambda r: encode_postback("job.show", j=pick(r, job_numbers))),
        (5, "postback", lambda r: pick(r, booking)) if booking else (5, "text", "相談"),
        (5, "follow", None),
    ]


class Traffic:
    """Builds signed requests: users in turn (no one has two events in flight), fresh users follow."""

    def __init__(self, emulator, users: list[str], job_numbers: list[str], seed: int):
        self.emulator, self.users, self.rng = emulator, users, random.Random(seed)
        self.mix = mix(job_numbers)
        self.weights = [w for w, _, _ in self.mix]
        self.turn = 0

    def follows(self, users: list[str]) -> list[tuple[bytes, str]]:
        return self._sign([("follow", u, None) for u in users])

    def requests(self, n: int) -> list[tuple[bytes, str]]:
        planned = []
        for _, kind, value in self.rng.choices(self.mix, self.weights, k=n):
            if kind == "follow":
                user = ev.new_user_id()
            else:
                user = self.users[self.turn % len(self.users)]
                self.turn += 1
            planned.append((kind, user, value(self.rng) if callable(value) else value))
        self.emulator.add_users([u for k, u, _ in planned if k == "follow"], reset=False)
        return self._sign(planned)

    def _sign(self, planned) -> list[tuple[bytes, str]]:
        tokens = self.emulator.reply_tokens([user for _, user, _ in planned])
        out = []
        for (kind, user, value), token in zip(planned, tokens):
            event = {"follow": lambda: ev.follow(user, token), "text": lambda: ev.text(user, token, value),
                     "postback": lambda: ev.postback(user, token, value)}[kind]()
            body = ev.payload(event)
            out.append((body, ev.sign(SECRET, body)))
        return out


class Server:
    """One gunicorn under load: runs phases, verifies them at the emulator, samples worker RSS."""

    def __init__(self, ctx, label: str, app: str, emulator, db_url: str | None):
        self.ctx, self.label, self.emulator = ctx, label, emulator
        env = {"LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
               "LINE_API_BASE_URL": emulator.base_url, "LINE_DATA_API_BASE_URL": emulator.base_url,
               "SECRET_KEY": "b" * 40, "PUBLIC_BASE_URL": "https://hw-omura.test"}
        if db_url:
            env["DATABASE_URL"] = db_url
        self.gunicorn = Gunicorn(app, env)
        self.served = 0
        self.memory: list[tuple[int, dict]] = []  # (events served, {worker pid: RSS KiB})
        self.peak: dict[int, int] = {}
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, name="bench-rss", daemon=True)
        self._sampler.start()

    def _sample(self):
        while not self._stop.wait(0.25):
            for pid in self.gunicorn.workers():
                self.peak[pid] = max(self.peak.get(pid, 0), rss_kib(pid) or 0)

    def snapshot(self):
        self.memory.append((self.served, {pid: rss_kib(pid) for pid in self.gunicorn.workers()}))

    def run(self, phase: str, requests, rate: float | None = None) -> loadgen.Run:
        before = self.emulator.summary([])
        workers = self.gunicorn.workers()
        cpu0 = [process_cpu_seconds(p) or 0.0 for p in workers]
        e0, m0, s0 = self.emulator.cpu_seconds(), machine_busy_seconds(), self_cpu_seconds()
        if rate is None:
            result = loadgen.closed(self.gunicorn.base, requests, CONCURRENCY)
        else:
            result = loadgen.opened(self.gunicorn.base, requests, rate)
        wall = result.seconds
        result.cores = {
            "web workers": sum((process_cpu_seconds(p) or 0.0) - c for p, c in zip(workers, cpu0)) / wall,
            "emulator": ((self.emulator.cpu_seconds() or 0.0) - (e0 or 0.0)) / wall,
            "load generator": (self_cpu_seconds() - s0) / wall,
        }
        if m0 is not None:
            result.cores["machine"] = (machine_busy_seconds() - m0) / wall
        self.served += len(requests)
        self._verify(phase, len(requests), before, result)
        return result

    def _verify(self, phase: str, n: int, before: dict, result: loadgen.Run) -> None:
        after = self.emulator.summary([])
        where = f"{self.label} {phase}"
        if set(result.statuses) != {200}:
            raise BenchError(f"{where}: answers {dict(result.statuses)} (0 = connection closed)")
        replies = after["calls"].get("reply", 0) - before["calls"].get("reply", 0)
        refused = after["rejected"] - before["rejected"]
        if refused:
            raise BenchError(f"{where}: the emulator refused {refused} calls, e.g. {after['rejected_examples'][-1]}")
        if replies != n:
            raise BenchError(f"{where}: {n} events but {replies} replies reached the emulator")
        errors = self.gunicorn.errors_logged()
        if errors:
            raise BenchError(f"{where}: the server logged {len(errors)} errors, e.g. {errors[0]}")

    def close(self):
        self._stop.set()
        self._sampler.join()
        self.gunicorn.close()


def _cpu_ms(result: dict) -> float:
    """CPU time of the web workers per event at the maximum rate: the figure other load on the machine
    disturbs least (rates and latencies fall when other processes take the CPUs)."""
    return result["max"].cores["web workers"] / result["max"].rate * 1000


def _cores(run: loadgen.Run) -> str:
    return ", ".join(f"{who} {cores:.2f}" for who, cores in run.cores.items())


def _bound(ctx, run: loadgen.Run) -> str:
    c = run.cores
    others = max(0.0, c.get("machine", 0.0) - c["web workers"] - c["emulator"] - c["load generator"])
    bounds = []
    if c.get("machine", 0.0) >= 0.85 * ctx.cpus:
        bounds.append(f"the {ctx.cpus} CPUs (busy {c['machine']:.2f} cores: web workers {c['web workers']:.2f}, "
                      f"emulator {c['emulator']:.2f}, load generator {c['load generator']:.2f}, "
                      f"database and anything else {others:.2f})")
    if c["emulator"] >= 0.85:
        bounds.append("the emulator's one GIL")
    return ", ".join(bounds) or f"latency and locks, not CPU ({_cores(run)} cores)"


def measure_server(ctx, server: Server, traffic: Traffic, pool: list[str]) -> dict:
    seconds = ctx.scale(15, 4)
    warm = server.run("warm-up (follows)", traffic.follows(pool))
    server.snapshot()
    guess = max(warm.rate, 20.0)
    top = server.run("max rate", traffic.requests(max(200, int(guess * 1.3 * seconds))))
    server.snapshot()
    rate = OPEN_SHARE * top.rate
    steady = server.run("70 % of max", traffic.requests(max(100, int(rate * seconds))), rate=rate)
    server.snapshot()
    ctx.log(f"{server.label}: {top.rate:,.0f} events/s at most ({top.sent:,} in {top.seconds:.1f} s); "
            f"at {rate:,.0f}/s p50 {steady.percentile(50):.1f} ms, p99 {steady.percentile(99):.1f} ms")
    return {"max": top, "open": steady, "rate": rate}


def soak(ctx, server: Server, traffic: Traffic, pool: list[str], total: int, rate: float) -> None:
    """Keeps the mix coming until the server has served `total` events, RSS noted after each chunk.
    The emulator forgets what it received between chunks (each is verified first), so that its own
    memory stays bounded over a long soak."""
    chunk_seconds = 20
    while server.served < total:
        server.emulator.add_users(pool)
        n = min(total - server.served, max(500, int(rate * chunk_seconds)))
        run = server.run("soak", traffic.requests(n))
        rate = run.rate
        server.snapshot()
    ctx.log(f"{server.label}: {server.served:,} events served; worker RSS {_rss_line(server)}")


def _rss_line(server: Server) -> str:
    first, last = server.memory[0][1], server.memory[-1][1]
    return ", ".join(f"pid {pid}: {first.get(pid, 0) / 1024:.0f} → peak {server.peak.get(pid, 0) / 1024:.0f}"
                     f" → {last.get(pid, 0) / 1024:.0f} MiB" for pid in sorted(last))


def _load_jobs(url: str, count: int) -> list[str]:
    db, numbers, batch = Database(url), [], []
    try:
        for row in generator.iter_generate(count, seed=3, today=TODAY):
            batch.append(row)
            if row["status"] == OPEN:
                numbers.append(row["job_number"])
        with db.session() as session:
            catalogue.upsert(session, batch)
        db.analyze()
    finally:
        db.dispose()
    return numbers


def memory_figure(ctx, server: Server) -> Figure:
    """The web worker that grew most: RSS after all events against its RSS after the warm-up."""
    start, end = server.memory[0][1], server.memory[-1][1]
    pid = max(end, key=lambda p: (end[p] or 0) - (start.get(p) or 0))
    series = [(served, round((rss.get(pid) or 0) / 1024, 1)) for served, rss in server.memory]
    ctx.note(f"web worker RSS [{server.label}], pid {pid}, MiB after n events (both workers share them): "
             + ", ".join(f"{n:,}: {mib}" for n, mib in series) + f"; peak {server.peak.get(pid, 0) / 1024:.1f}")
    return Figure(f"web worker RSS after {server.served:,} events [{server.label}]", end[pid] / 1024, "MiB",
                  baseline=start[pid] / 1024, goal="flat: ≤ 1.10 × after warm-up",
                  details={"pid": pid, "series_mib": series, "peak_mib": round(server.peak.get(pid, 0) / 1024, 1)})


def _job_numbers(count: int) -> list[str]:
    """The open listings' numbers _load_jobs gives, without a database (the echo bot's traffic)."""
    return [row["job_number"] for row in generator.iter_generate(count, seed=3, today=TODAY)
            if row["status"] == OPEN]


def _between(runs: list[dict]) -> dict:
    """The echo bot's figures for a bot phase: the mean of its runs just before and just after it.
    The machine's speed drifts (it halved over one afternoon), so a baseline minutes away from the
    phase it is compared with would move the ratio by itself."""
    def mean(get):
        return sum(get(r) for r in runs) / len(runs)
    return {"rate": mean(lambda r: r["max"].rate), "cpu": mean(_cpu_ms),
            "p50": mean(lambda r: r["open"].percentile(50)), "p99": mean(lambda r: r["open"].percentile(99))}


def run(ctx) -> list[Figure]:
    n_users, n_jobs = ctx.scale(600, 200), ctx.scale(5_000, 1_000)
    soak_total = ctx.soak or ctx.scale(SOAK, 1_500)
    kinds = ", ".join(sorted({k for _, k, _ in mix(["42040-00000001"])}))
    ctx.log(f"webhook: {n_users:,} users, {n_jobs:,} listings; databases: {', '.join(backends())}; "
            "the echo bot before, between and after them")
    results, figures, echo_runs = {}, [], []
    with tempfile.TemporaryDirectory() as workdir, started(ctx.emulator) as emulator:
        pool = [ev.new_user_id() for _ in range(n_users)]
        echo_numbers = _job_numbers(n_jobs)
        emulator.add_users(pool)
        echo = Server(ctx, "echo bot", "bench.echo_bot:app", emulator, None)

        def measure_echo():
            emulator.add_users(pool)
            echo_runs.append(measure_server(ctx, echo, Traffic(emulator, pool, echo_numbers, seed=7), pool))

        try:
            for backend in backends():
                measure_echo()
                with fresh_database(backend, workdir) as url:
                    numbers = _load_jobs(url, n_jobs)
                    emulator.add_users(pool)
                    server = Server(ctx, backend, "app:app", emulator, url)
                    try:
                        traffic = Traffic(emulator, pool, numbers, seed=7)
                        results[backend] = measure_server(ctx, server, traffic, pool)
                        if backend == backends()[-1]:
                            # The last echo run comes first: it brackets the maximum and latency phases.
                            measure_echo()
                            soak(ctx, server, traffic, pool, soak_total, results[backend]["max"].rate)
                            figures.append(memory_figure(ctx, server))
                            if server.served < 100_000:
                                ctx.note(f"web worker RSS [{backend}]: SCALED DOWN to {server.served:,} events "
                                         f"(issue: 100,000; run with --soak 100000 for the full count)")
                        gunicorn = server.gunicorn
                        command = " ".join([*(f"{k}={v}" for k, v in gunicorn.settings.items()),
                                            "gunicorn", gunicorn.command])
                    finally:
                        server.close()
        finally:
            echo.close()
    ctx.note(f"webhook: {command} (the Procfile's web line; the echo bot swaps app:app for "
             f"bench.echo_bot:app); one event per request, mix of {kinds}; closed loop of {CONCURRENCY} "
             f"connections for the max, Poisson arrivals at 70 % of it for latency (from the due time)")
    ctx.note("webhook [echo bot]: measured before each database's phases and after the last; each "
             "database is compared with the mean of the runs just before and after it. Runs in order: "
             + "; ".join(f"{r['max'].rate:,.0f}/s, {_cpu_ms(r):.2f} ms CPU per event, p99 at 70 % "
                         f"{r['open'].percentile(99):.0f} ms" for r in echo_runs))
    for label, r in [*results.items(), *((f"echo bot, run {i + 1}", e) for i, e in enumerate(echo_runs))]:
        ctx.note(f"webhook [{label}]: max {r['max'].rate:,.0f}/s bound by {_bound(ctx, r['max'])}; "
                 f"at {r['rate']:,.0f}/s: {_cores(r['open'])} cores, sender late by ≤ "
                 f"{r['open'].late_start * 1000:.0f} ms")
    for i, (backend, r) in enumerate(results.items()):
        base = _between(echo_runs[i:i + 2])
        figures += [
            Figure(f"webhook max rate [{backend}]", r["max"].rate, "events/s", baseline=base["rate"],
                   goal=RATE_GOAL, details={"n": r["max"].sent, "cores": r["max"].cores}),
            Figure(f"webhook worker CPU per event [{backend}]", _cpu_ms(r), "ms", baseline=base["cpu"],
                   details={"cores": round(r["max"].cores["web workers"], 3)}),
            Figure(f"webhook p50 at 70 % [{backend}]", r["open"].percentile(50), "ms",
                   baseline=base["p50"], details={"rate": round(r["rate"], 1)}),
            Figure(f"webhook p99 at 70 % [{backend}]", r["open"].percentile(99), "ms",
                   baseline=base["p99"], goal=P99_GOAL,
                   details={"rate": round(r["rate"], 1), "n": r["open"].sent, "cores": r["open"].cores}),
        ]
    return sorted(figures, key=lambda f: f.name.startswith("web worker"))
