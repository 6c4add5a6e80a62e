"""`make run`'s demo mode, as a separate process: no LINE credentials, built-in emulator, signed follow."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_bot_answers_a_signed_follow(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "DATABASE_URL", "SECRET_KEY"))}
    env.update(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}")
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    upgrade = subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr
    server = subprocess.Popen([*flask, "run", "--port", str(port), "--with-threads"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait = threading.Event()
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                wait.wait(0.1)
        sent = subprocess.run([sys.executable, "-m", "simulator.send", "--url", f"http://127.0.0.1:{port}",
                               "--name", "大村 一郎", "follow"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)
        assert sent.returncode == 0, sent.stderr
        assert sent.stdout.startswith("大村 一郎さん、はじめまして。ハローワーク大村のLINE公式アカウントです。")
        help_reply = subprocess.run([sys.executable, "-m", "simulator.send", "--url", f"http://127.0.0.1:{port}",
                                     "text", "使い方"], cwd=ROOT, env=env, capture_output=True, text=True,
                                    timeout=60)
        assert help_reply.stdout.strip() == "[flex] ハローワーク大村 LINE公式アカウントの使い方"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_send_reports_an_unreachable_bot_in_one_line():
    result = subprocess.run([sys.executable, "-m", "simulator.send", "--url", f"http://127.0.0.1:{free_port()}",
                             "follow"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error:")
