"""Serving: in a thread, standalone, under concurrent calls."""
import json
import socket
import subprocess
import sys
import threading
import urllib.request
import uuid
from pathlib import Path

from simulator.emulator import create_emulator, serve_in_thread
from simulator.emulator.richmenus import image_info

from .conftest import USER_A, text
from .images import png

ROOT = Path(__file__).resolve().parents[2]


def get(url, token="demo-token"):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return answer.status, json.loads(answer.read())


def test_serve_in_thread_picks_a_port_and_shuts_down():
    app = create_emulator("tok")
    server = serve_in_thread(app)
    assert server.base_url == f"http://127.0.0.1:{server.port}" and server.port > 0
    assert get(server.base_url + "/v2/bot/info", token="tok")[0] == 200
    server.shutdown()
    assert not server.thread.is_alive()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_runs_standalone_with_python_m():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator.emulator", "--port", str(port), "--token", "t1",
         "--user", USER_A],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert "listening" in process.stdout.readline().decode()
        status, profile = get(f"http://127.0.0.1:{port}/v2/bot/profile/{USER_A}", token="t1")
        assert (status, profile["userId"]) == (200, USER_A)
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_concurrent_retries_with_one_key_deliver_once(base_url, raw, state, users):
    key = str(uuid.uuid4())
    statuses = []

    def send():
        answer = raw("POST", "/v2/bot/message/push", {"to": USER_A, "messages": [text()]},
                     headers={"X-Line-Retry-Key": key})
        statuses.append(answer.status)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(statuses) == [200] + [409] * 7
    assert len(state.messages_for(USER_A)) == 1


def test_concurrent_pushes_are_all_recorded(raw, state, users):
    def send(i):
        raw("POST", "/v2/bot/message/push", {"to": USER_A, "messages": [text(str(i))]})

    threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(state.records(endpoint="push")) == 20
    assert sorted(int(m["text"]) for m in state.messages_for(USER_A)) == list(range(20))


def test_image_info_reads_png_and_jpeg_and_refuses_others():
    import io

    from PIL import Image

    assert image_info(png(2500, 843)) == ("png", 2500, 843)
    assert image_info(b"GIF89a....") is None
    assert image_info(png(2500, 843)[:40]) is None  # truncated
    buffer = io.BytesIO()
    Image.new("RGB", (2500, 843)).save(buffer, "JPEG")
    assert image_info(buffer.getvalue()) == ("jpeg", 2500, 843)


def test_clock_is_injectable():
    now = [1_000_000.0]
    app = create_emulator(clock=lambda: now[0])
    app.state.add_user(USER_A)
    token = app.state.issue_reply_token(USER_A)
    now[0] += 61
    client = app.test_client()
    answer = client.post("/v2/bot/message/reply", json={"replyToken": token, "messages": [text()]},
                         headers={"Authorization": "Bearer demo-token"})
    assert answer.status_code == 400 and answer.json == {"message": "Invalid reply token"}
    assert app.state.rejected()[0]["time"] == now[0]
