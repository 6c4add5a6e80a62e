"""`make run`'s demo mode, as a separate process: no LINE credentials, built-in emulator, signed follow."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

from simulator.demo_users import DEMO_USERS

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _json(url: str, payload: dict | None = None) -> dict:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def test_demo_bot_answers_a_signed_follow(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "DATABASE_URL", "SECRET_KEY"))}
    env.update(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}")
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    upgrade = subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr
    # The rest of `make run`'s set-up (Makefile, target run), with fewer listings; twice, as each start does.
    for _ in range(2):
        for args in (["jobs", "generate", "--count", "200", "--seed", "1", "--if-empty"], ["simulator", "demo-users"]):
            done = subprocess.run([*flask, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
    assert "新しく作成: 0人" in done.stdout
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

        # The demo friends are ready in the simulator: known to the emulator, following, with their data.
        simulator = f"http://127.0.0.1:{port}/simulator/api"
        ready = {u["displayName"]: u for u in _json(f"{simulator}/users")["users"]}
        assert all(ready[d.name]["userId"] == d.line_user_id and not ready[d.name]["blocked"] for d in DEMO_USERS)
        hanako = DEMO_USERS[0].line_user_id
        assert _json(f"{simulator}/{hanako}/postback", {"data": "v=1&a=search.saved"})["status"] == 200
        shown = "".join(i["html"] for i in _json(f"{simulator}/{hanako}/messages")["items"] if i["from"] == "bot")
        assert "保存した検索条件(2/3件)" in shown and "大村市の正社員" in shown
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_send_reports_an_unreachable_bot_in_one_line():
    result = subprocess.run([sys.executable, "-m", "simulator.send", "--url", f"http://127.0.0.1:{free_port()}",
                             "follow"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error:")
