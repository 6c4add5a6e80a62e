"""Fixtures: one emulator served over real HTTP per test module, reset before
every test, and the real LINE SDK pointed at it."""
from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import urllib3
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, MessagingApiBlob

from simulator.emulator import create_emulator, serve_in_thread

TOKEN = "demo-token"
USER_A = "U" + "a" * 32
USER_B = "U" + "b" * 32
USER_C = "U" + "c" * 32


@pytest.fixture(scope="module")
def running():
    app = create_emulator((TOKEN, "second-token"))
    server = serve_in_thread(app)
    yield server, app
    server.shutdown()


@pytest.fixture
def emulator(running):
    _, app = running
    app.state.reset()
    return app


@pytest.fixture
def state(emulator):
    return emulator.state


@pytest.fixture
def base_url(running, emulator):
    return running[0].base_url


@pytest.fixture
def client(base_url):
    # Configuration.host is used for every call, the data-host ones too.
    with ApiClient(Configuration(host=base_url, access_token=TOKEN)) as api_client:
        yield api_client


@pytest.fixture
def api(client):
    return MessagingApi(client)


@pytest.fixture
def blob(client):
    return MessagingApiBlob(client)


@pytest.fixture
def users(state):
    """Three friends of the account: USER_A, USER_B, USER_C."""
    for user_id, name in ((USER_A, "Aさん"), (USER_B, "Bさん"), (USER_C, "Cさん")):
        state.add_user(user_id, display_name=name)
    return [USER_A, USER_B, USER_C]


@dataclass
class RawAnswer:
    status: int
    headers: dict
    data: bytes

    @property
    def json(self):
        return json.loads(self.data)


@pytest.fixture
def raw(base_url):
    """Plain HTTP, for bodies the SDK refuses to build."""
    http = urllib3.PoolManager()

    def call(method, path, body=None, *, token=TOKEN, headers=None, data=None):
        sent = {}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        answer = http.request(method, base_url + path, body=data, headers=sent, retries=False)
        return RawAnswer(answer.status, answer.headers, answer.data)

    yield call
    http.clear()


def text(value="こんにちは"):
    return {"type": "text", "text": value}
