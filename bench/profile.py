"""Profiles of the hot paths with pyinstrument (a dev dependency), written to bench/results/:

    python -m bench.profile webhook [--events N]      # the bench's webhook mix through /callback
    python -m bench.profile dispatcher [--rows N]     # outbox rows to the emulator until idle
    python -m bench.profile kinds [--events N]        # CPU per event kind, the bot's and the emulator's (no profiler)
    python -m bench.profile counts [--events N]       # SQL statements, commits and Python calls per event

Both run in this process against the emulator in its own process, on a fresh SQLite database (or
--database postgresql). The webhook profile posts the requests one after another through Flask's test
client (no gunicorn: what is left is the bot's own work per event). pyinstrument samples the thread it
was started in and the threads it starts; the dispatcher's send threads show under the pool's frames.
"""
from __future__ import annotations

import argparse
import sys
import tempfile

from bench import BenchError
from bench.databases import fresh_database
from bench.emulator import TOKEN, started
from bench.report import RESULTS_DIR


def _settings(api_url: str, db_url: str):
    from bot.config import Settings
    from bench.webhook import SECRET
    return Settings(demo=False, channel_secret=SECRET, channel_access_token=TOKEN, api_base_url=api_url,
                    data_api_base_url=api_url, database_url=db_url, secret_key="p" * 40,
                    public_base_url="https://hw-omura.test")


class _InProcess:
    """The app in this process (Flask's test client, no gunicorn) against the emulator, with the
    benchmark's webhook traffic; every one of `friends` has followed it first, as in the benchmark."""

    def __init__(self, emulator, url: str, listings: int, friends: int):
        from app import create_app
        from bench.webhook import Traffic, _load_jobs
        from simulator import webhook_events as ev

        numbers = _load_jobs(url, listings)
        users = [ev.new_user_id() for _ in range(friends)]
        emulator.add_users(users)
        self.app = create_app(_settings(emulator.base_url, url))
        self.client = self.app.test_client()
        self.traffic = Traffic(emulator, users, numbers, seed=3)
        self.post(self.traffic.follows(users))

    def post_one(self, body: bytes, signature: str) -> None:
        response = self.client.post("/callback", data=body, headers={"X-Line-Signature": signature})
        if response.status_code != 200:
            raise BenchError(f"/callback answered {response.status_code}")

    def post(self, requests) -> None:
        for body, signature in requests:
            self.post_one(body, signature)

    def close(self) -> None:
        self.app.extensions["bot"].close()


def webhook(emulator, url: str, n: int, profiler) -> str:
    bot = _InProcess(emulator, url, 3_000, 300)
    requests = bot.traffic.requests(n)
    profiler.start()
    bot.post(requests)
    profiler.stop()
    bot.close()
    return f"{n:,} webhook events of the bench mix"


def kinds(emulator, url: str, n: int, profiler) -> str:
    """CPU time of each kind of the webhook mix, one event at a time, through the same app."""
    import statistics
    import time

    bot = _InProcess(emulator, url, 5_000, 200)
    traffic = bot.traffic
    lines, means, emulator_means, entries = [], [], [], traffic.mix
    for weight, kind, value in entries:
        traffic.mix, traffic.weights = [(weight, kind, value)], [1]
        costs = []
        requests = traffic.requests(n)
        emulator_start = emulator.cpu_seconds()
        for body, signature in requests:
            start = time.process_time()
            bot.post_one(body, signature)
            costs.append((time.process_time() - start) * 1000)
        emulator_ms = (emulator.cpu_seconds() - emulator_start) * 1000 / n
        sample = traffic.requests(1)[0][0].decode()
        what = sample.split('"text": "')[1].split('"')[0] if kind == "text" else \
            sample.split('"data": "')[1].split('"')[0].split("&j=")[0].split("&q=")[0] if kind == "postback" else kind
        lines.append(f"{weight:3d} %  {kind:8} {what[:30]:30}  mean {statistics.mean(costs):5.1f} ms CPU, "
                     f"median {statistics.median(costs):5.1f}, max {max(costs):5.1f}; emulator {emulator_ms:4.1f}")
        means.append((weight, statistics.mean(costs)))
        emulator_means.append((weight, emulator_ms))
    bot.close()
    total = sum(w for w, _ in means)
    lines.append(f"weighted by the mix: {sum(w * m for w, m in means) / total:.1f} ms CPU per event (mean); "
                 f"the emulator {sum(w * m for w, m in emulator_means) / total:.1f} ms per event")
    print("\n".join(lines))
    return f"CPU per event kind, {n} events each"


def counts(emulator, url: str, n: int, profiler) -> str:
    """Work per event that does not move with the machine's speed, over the webhook mix after a warm-up
    of 400 events: SQL statements and commits (an engine listener), then Python function calls
    (cProfile) in a second pass of the same size. Timings on this machine drift by ±30 % a minute."""
    import cProfile
    import pstats

    from sqlalchemy import event

    bot = _InProcess(emulator, url, 3_000, 300)
    post, traffic = bot.post, bot.traffic
    post(traffic.requests(400))
    services = bot.app.extensions["bot"]
    seen = {"statements": 0, "commits": 0}
    engine = services.db.engine

    def statement(*_args):
        seen["statements"] += 1

    def commit(*_args):
        seen["commits"] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    post(traffic.requests(n))
    services.settler.flush()  # the batched settlement of these events' held replies counts too
    event.remove(engine, "before_cursor_execute", statement)
    event.remove(engine, "commit", commit)
    calls = cProfile.Profile()
    requests = traffic.requests(n)
    calls.enable()
    post(requests)
    calls.disable()
    services.close()
    print(f"per event of the mix ({n:,} events, after 400 of warm-up): {seen['statements'] / n:.2f} SQL statements, "
          f"{seen['commits'] / n:.2f} commits, {pstats.Stats(calls).total_calls / n:,.0f} Python function calls")
    return f"work per event, {n:,} events"


def dispatcher(emulator, url: str, n: int, profiler) -> str:
    from bench.dispatcher import _services
    from bot.line import outbox
    from bot.line.dispatcher import Dispatcher, DispatcherConfig
    from simulator.emulator import new_user_id

    users = [new_user_id() for _ in range(n)]
    emulator.add_users(users)
    services = _services(emulator.base_url, url)
    with services.db.session() as session:
        for i, uid in enumerate(users):
            outbox.push(session, uid, [{"type": "text", "text": f"profile {i}"}], source="profile")
    worker = Dispatcher(services, DispatcherConfig())
    profiler.start()
    worker.run(until_idle=True)
    profiler.stop()
    worker.close()
    services.close()
    return f"{n:,} distinct pushes through the dispatcher"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("path", choices=("webhook", "dispatcher", "kinds", "counts"))
    parser.add_argument("--events", "--rows", dest="n", type=int, default=None)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--all", action="store_true", help="show library frames too")
    args = parser.parse_args(argv)
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("bench.profile: pyinstrument is missing: pip install -e '.[dev]'", file=sys.stderr)
        return 2
    profiler = Profiler(interval=0.0005)
    n = args.n or {"webhook": 1_000, "dispatcher": 5_000, "kinds": 40, "counts": 1_200}[args.path]
    with tempfile.TemporaryDirectory() as workdir, started("process") as emulator, \
            fresh_database(args.database, workdir) as url:
        what = {"webhook": webhook, "dispatcher": dispatcher, "kinds": kinds, "counts": counts}[args.path](
            emulator, url, n, profiler)
    if args.path in ("kinds", "counts"):
        return 0
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"profile-{args.path}-{args.database}.txt"
    text = profiler.output_text(unicode=True, color=False, show_all=args.all)
    path.write_text(f"{what} [{args.database}]\n{text}")
    (RESULTS_DIR / f"profile-{args.path}-{args.database}.html").write_text(profiler.output_html())
    print(f"{what} [{args.database}]\n{text}\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
