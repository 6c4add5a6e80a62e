"""A WSGI app under gunicorn, started exactly as the Procfile's `web` line starts the bot.

The line is read from the Procfile and only its variables are filled in (a free port for PORT; the
environment's WEB_CONCURRENCY, else the Procfile's default), with the variables it sets through
`env`; the baseline swaps the app for another module and keeps every setting. The access log is
written where the Procfile sends it (stdout, here /dev/null), so its cost is paid as in production.
"""
from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench import PROJECT_ROOT, BenchError


def procfile_web() -> tuple[dict, list[str]]:
    """The web line's `env NAME=value ...` settings and its command."""
    for line in (PROJECT_ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            argv, settings = shlex.split(line.split(":", 1)[1]), {}
            if argv and argv[0] == "env":
                argv.pop(0)
                while argv and re.fullmatch(r"\w+=.*", argv[0]):
                    name, value = argv.pop(0).split("=", 1)
                    settings[name] = value
            return settings, argv
    raise BenchError("the Procfile has no web line")


def _fill(arg: str, values: dict) -> str:
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: str(values.get(m[1]) or m[2]), arg)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, app: str, env: dict):
        self.port = _free_port()
        settings, line = procfile_web()
        argv = [_fill(a, {"PORT": self.port, "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY")}) for a in line]
        if argv[0] != "gunicorn" or "app:app" not in argv:
            raise BenchError(f"the Procfile's web line is not `gunicorn app:app ...`: {argv}")
        argv[argv.index("app:app")] = app
        argv[0] = str(Path(sys.executable).with_name("gunicorn"))
        self.settings = settings
        self.command = " ".join(argv[1:])
        self.errors = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, cwd=PROJECT_ROOT, env={**os.environ, **settings, **env},
                                     stdout=subprocess.DEVNULL, stderr=self.errors)
        self.base = ("127.0.0.1", self.port)
        self._wait_ready()

    def _wait_ready(self, limit: float = 60.0) -> None:
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise BenchError(f"gunicorn {self.command} exited: {self.stderr_tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                    if r.status == 200 and len(self.workers()) == self.worker_count:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.close()
        raise BenchError(f"gunicorn {self.command} not ready within {limit:.0f} s")

    @property
    def worker_count(self) -> int:
        argv = self.command.split()
        return int(argv[argv.index("--workers") + 1]) if "--workers" in argv else 1

    def workers(self) -> list[int]:
        """The worker processes (children of the gunicorn master)."""
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def stderr_tail(self, lines: int = 1) -> str:
        self.errors.seek(0)
        text = self.errors.read().decode("utf-8", "replace").strip().splitlines()
        return " | ".join(text[-lines:]) if text else f"exit code {self.proc.poll()}"

    def errors_logged(self) -> list[str]:
        self.errors.seek(0)
        return [line for line in self.errors.read().decode("utf-8", "replace").splitlines()
                if " ERROR " in line or "Traceback" in line or "[CRITICAL]" in line]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.errors.close()
