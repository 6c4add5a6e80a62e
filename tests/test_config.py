"""Settings: demo without credentials, strict production, one clear line when something is wrong."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent
GOOD = {
    "LINE_CHANNEL_SECRET": "0123456789abcdef0123456789abcdef",
    "LINE_CHANNEL_ACCESS_TOKEN": "a" * 40,
    "SECRET_KEY": "k" * 40,
    "PUBLIC_BASE_URL": "https://bot.hw-omura.test",
    "DATABASE_URL": "postgres://bot@db/bot",
}


def test_demo_mode_without_credentials():
    settings = load_settings({})
    assert settings.demo
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("instance/bot.db")
    assert settings.api_base_url == "http://127.0.0.1:8000/emulator"
    assert len(settings.channel_secret) == 32
    assert load_settings({}).channel_secret == settings.channel_secret  # kept under instance/


def test_production_settings():
    settings = load_settings(GOOD)
    assert not settings.demo
    assert settings.api_base_url == "https://api.line.me"
    assert settings.data_api_base_url == "https://api-data.line.me"
    assert settings.database_url == "postgresql+psycopg://bot@db/bot"
    assert settings.tz_name == "Asia/Tokyo"


@pytest.mark.parametrize("change, variable", [
    ({"LINE_CHANNEL_SECRET": ""}, "LINE_CHANNEL_SECRET"),
    ({"LINE_CHANNEL_ACCESS_TOKEN": ""}, "LINE_CHANNEL_ACCESS_TOKEN"),
    ({"LINE_CHANNEL_SECRET": "not-hex"}, "LINE_CHANNEL_SECRET"),
    ({"LINE_CHANNEL_ACCESS_TOKEN": "short"}, "LINE_CHANNEL_ACCESS_TOKEN"),
    ({"SECRET_KEY": ""}, "SECRET_KEY"),
    ({"PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "http://bot.hw-omura.test"}, "PUBLIC_BASE_URL"),
    ({"LINE_API_BASE_URL": "ftp://x"}, "LINE_API_BASE_URL"),
    ({"LINE_DATA_API_BASE_URL": "nonsense"}, "LINE_DATA_API_BASE_URL"),
    ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
    ({"TZ_NAME": "Mars/Olympus"}, "TZ_NAME"),
])
def test_bad_production_settings_name_the_variable(change, variable):
    with pytest.raises(ConfigError) as info:
        load_settings({**GOOD, **change})
    assert variable in str(info.value)


def start_app(script: str, **settings: str) -> subprocess.CompletedProcess:
    """Runs `script` in a new process whose settings are GOOD with `settings` changed, and nothing else
    of this process's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "DATABASE_URL", "SECRET_KEY"))}
    env.update({**GOOD, **settings})
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def test_start_up_stops_with_one_line_on_stderr():
    result = start_app("import app; app.app", SECRET_KEY="short")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SECRET_KEY" in lines[0]


def test_the_process_app_keeps_its_start_up_out_of_full_collections(tmp_path):
    # gunicorn's "app:app" and `flask --app app` build the app once per process; what that made lives
    # as long as the process, and a full garbage collection walking it paused every request in flight.
    script = ("import gc, app; before = gc.get_freeze_count(); app.app; "
              "print(before, gc.get_freeze_count(), len(gc.get_objects()))")
    result = start_app(script, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}")
    assert result.returncode == 0, result.stderr
    before, frozen, walked = map(int, result.stdout.split())
    assert before == 0
    assert frozen > 20 * walked  # a full collection walks only what was made since


def _procfile_line(name: str) -> str:
    return next(line.split(":", 1)[1] for line in (ROOT / "Procfile").read_text().splitlines()
                if line.startswith(f"{name}:"))


def _session_processes(session: int) -> dict[str, dict[str, str]]:
    """The environment of every process of a session (what `ps -s` lists), by pid and command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.getsid(int(entry.name)) == session:
                variables = (entry / "environ").read_bytes().split(b"\0")
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found[f"{entry.name} {command}"] = dict(v.decode().split("=", 1) for v in variables if b"=" in v)
        except (OSError, ProcessLookupError):
            pass  # it ended meanwhile
    return found


def test_the_procfile_web_line_starts_workers_with_two_malloc_arenas(tmp_path):
    # glibc gives each thread that meets a busy allocator an arena of its own and keeps it: the four
    # threads of a worker grew its memory by some MiB that Python never held (docs/performance.md).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LINE_", "DATABASE_URL", "SECRET_KEY", "MALLOC_"))}
    env.update({**GOOD, "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "PORT": str(port),
                "WEB_CONCURRENCY": "2", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"})
    # As a process manager runs it: the line through a shell.
    web = subprocess.Popen(["sh", "-c", _procfile_line("web")], cwd=ROOT, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait, answered = threading.Event(), None
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    answered = r.status
                    if sum("bin/gunicorn" in c for c in _session_processes(web.pid)) >= 3:
                        break
            except OSError:
                assert web.poll() is None, web.stderr.read().decode()
            wait.wait(0.1)
        assert answered == 200
        gunicorns = [e for c, e in _session_processes(web.pid).items() if "bin/gunicorn" in c]
        assert len(gunicorns) >= 3  # the master and its two workers
        assert all(e.get("MALLOC_ARENA_MAX") == "2" for e in gunicorns)
    finally:
        os.killpg(web.pid, 15)
        web.wait(timeout=30)
        web.stderr.close()
