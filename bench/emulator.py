"""Servers the benchmarks send to: the LINE emulator in its own process (default) or in a thread of
this one, and the null LINE of bench/stub.py in its own process.

All handles offer the same calls: base_url, alive(), add_users(ids, reset=True), summary(ids)
(what each user received, calls by endpoint, refusals) and cpu_seconds() (None when it shares this
process); the emulators also issue reply tokens in bulk: reply_tokens(ids), one per id, in order.
"""
from __future__ import annotations

import collections
import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import urllib.request

from bench import PROJECT_ROOT, BenchError
from bench.measure import process_cpu_seconds

TOKEN = "bench-access-token-0123456789"


def add_users(state, ids: list[str], reset: bool = True) -> None:
    if reset:
        state.reset()
    for uid in ids:
        state.add_user(uid, display_name="bench")


def reply_tokens(state, ids: list[str]) -> list[str]:
    return [state.issue_reply_token(uid) for uid in ids]


def summary(state, ids: list[str]) -> dict:
    records = state.records()
    rejected = state.rejected()
    return {
        "texts": state.texts_for(ids),
        "calls": dict(collections.Counter(r["endpoint"] for r in records)),
        "multicast_sizes": [len(r["to"]) for r in records if r["endpoint"] == "multicast"],
        "rejected": len(rejected),
        "rejected_reasons": dict(collections.Counter(r.get("reason") for r in rejected)),
        "rejected_examples": [f"{r['status']} {r.get('reason')} {r.get('message')}" for r in rejected[:3]],
    }


class ThreadEmulator:
    mode = "thread"

    def __init__(self):
        from simulator.emulator import create_emulator, serve_in_thread

        self.app = create_emulator((TOKEN,))
        self.server = serve_in_thread(self.app)
        self.base_url = self.server.base_url

    def add_users(self, ids, reset=True):
        add_users(self.app.state, ids, reset)

    def summary(self, ids):
        return summary(self.app.state, ids)

    def reply_tokens(self, ids):
        return reply_tokens(self.app.state, ids)

    def cpu_seconds(self):
        return None

    def alive(self) -> bool:
        return self.server.thread.is_alive()

    def close(self):
        self.server.shutdown()


class ProcessServer:
    """`python -m MODULE` printing its port on the first line, then serving /_bench/ routes."""
    mode = "process"

    def __init__(self, module: str, *args: str):
        self.module = module
        self.errors = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=PROJECT_ROOT,
                                     stdout=subprocess.PIPE, stderr=self.errors, text=True)
        first = []
        reader = threading.Thread(target=lambda: first.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(30)
        if not first or not first[0].strip().isdigit():
            self.close()
            raise BenchError(f"{self.module} did not start: {self._stderr_tail()}")
        self.base_url = f"http://127.0.0.1:{int(first[0])}"

    def _stderr_tail(self) -> str:
        self.errors.seek(0)
        lines = self.errors.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else f"exit code {self.proc.poll()}"

    def _post(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(self.base_url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read())
        except OSError as exc:
            raise BenchError(f"{self.module} {path}: {exc} ({self._stderr_tail()})") from None

    def add_users(self, ids, reset=True):
        self._post("/_bench/users", {"ids": ids, "reset": reset})

    def summary(self, ids):
        return self._post("/_bench/summary", {"ids": ids})

    def reply_tokens(self, ids):
        return self._post("/_bench/reply-tokens", {"ids": ids})["tokens"]

    def cpu_seconds(self):
        return process_cpu_seconds(self.proc.pid)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stdout.close()
        self.errors.close()


@contextlib.contextmanager
def started(mode: str):
    """mode: "process" or "thread" (the emulator), or "stub" (the null LINE)."""
    server = {"process": lambda: ProcessServer("bench.emulator_proc", "--token", TOKEN),
              "thread": ThreadEmulator, "stub": lambda: ProcessServer("bench.stub")}[mode]()
    try:
        yield server
    finally:
        server.close()
