"""The simulator's page and JSON API (Flask test client; the bot answers through the mounted emulator)."""
from __future__ import annotations

import json
import re

from richmenus import definitions


def _create(client, name="大村 太郎") -> str:
    answer = client.post("/simulator/api/users", json={"displayName": name})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    user = answer.get_json()
    assert user["displayName"] == (name or "テスト利用者") and user["userId"].startswith("U")
    return user["userId"]


def _items(client, user_id, after=0) -> dict:
    answer = client.get(f"/simulator/api/{user_id}/messages?after={after}")
    assert answer.status_code == 200
    return answer.get_json()


def _bot_html(data) -> str:
    return "".join(i["html"] for i in data["items"] if i["from"] == "bot")


def test_page_in_demo_mode(demo_client):
    answer = demo_client.get("/simulator/")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "LINEシミュレーター" in html and "友だち追加" in html
    assert ' style="' not in html and "<style" not in html
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None  # no inline script
    assert "/simulator/static/simulator.js" in html and "/simulator/flex.css" in html
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    # The rich menu: the default image and one tappable area per LINE area, placed by data- attributes.
    defs = definitions.load()
    menu = next(m for m in defs.menus if m["id"] == defs.default)
    assert f"/simulator/richmenu/{menu['id']}.png" in html
    assert 'aria-label="求人を探す"' in html
    assert html.count('class="sim-area"') == sum(len(definitions.areas(m)) for m in defs.menus)
    for path in ("/simulator/static/simulator.js", "/simulator/static/simulator.css", "/simulator/flex.css",
                 f"/simulator/richmenu/{menu['id']}.png"):
        assert demo_client.get(path).status_code == 200, path
    assert demo_client.get("/simulator/richmenu/nothing.png").status_code == 404


def test_not_mounted_in_production(client):
    assert client.get("/simulator/").status_code == 404
    assert client.post("/simulator/api/users", json={"displayName": "x"}).status_code in (400, 404)
    assert client.get("/simulator/api/users").status_code == 404


def test_follow_text_postback_and_block(demo_client, demo_app):
    state = demo_app.extensions["emulator"].state
    user_id = _create(demo_client)
    assert demo_client.get("/simulator/api/users").get_json()["users"][0]["userId"] == user_id
    # Not a friend yet: nothing can be sent.
    assert demo_client.post(f"/simulator/api/{user_id}/text", json={"text": "使い方"}).status_code == 409

    answer = demo_client.post(f"/simulator/api/{user_id}/follow")
    assert answer.status_code == 200 and answer.get_json()["status"] == 200
    data = _items(demo_client, user_id)
    assert data["blocked"] is False
    assert data["items"][0]["from"] == "note"
    assert any(i["from"] == "bot" for i in data["items"]), "the greeting"
    assert state.messages_for(user_id), "the greeting went through the emulator"
    count = data["count"]

    answer = demo_client.post(f"/simulator/api/{user_id}/text", json={"text": "使い方 <b>"})
    assert answer.status_code == 200 and answer.get_json()["status"] == 200
    data = _items(demo_client, user_id, after=count)
    assert data["items"][0] == {"from": "user", "html": '<div class="sim-user-text">使い方 &lt;b&gt;</div>'}
    assert any(i["from"] == "bot" for i in data["items"][1:]), "a reply to the text"
    count = data["count"]

    search = next(b for b in definitions.load().menus[0]["buttons"] if b["label"] == "求人を探す")
    action = definitions.button_action(search["action"])
    answer = demo_client.post(f"/simulator/api/{user_id}/postback", json=action)
    assert answer.status_code == 200 and answer.get_json()["status"] == 200
    data = _items(demo_client, user_id, after=count)
    assert data["items"][0]["from"] == "user" and "求人を探す" in data["items"][0]["html"]
    html = _bot_html(data)
    assert html and "data-action=" in html, "the search menu with buttons"
    count = data["count"]

    answer = demo_client.post(f"/simulator/api/{user_id}/block")
    assert answer.status_code == 200 and answer.get_json()["blocked"] is True
    delivered = len(state.messages_for(user_id))
    assert demo_client.post(f"/simulator/api/{user_id}/text", json={"text": "使い方"}).status_code == 409
    # A push to a blocked user is accepted by LINE but never arrives.
    state.deliver(state.reachable([user_id]), [{"type": "text", "text": "届かない"}])
    data = _items(demo_client, user_id, after=count)
    assert data["blocked"] is True
    assert [i["from"] for i in data["items"]] == ["note"]
    assert len(state.messages_for(user_id)) == delivered

    # Re-follow: the bot greets again, as an unblock.
    answer = demo_client.post(f"/simulator/api/{user_id}/follow")
    assert answer.status_code == 200
    data = _items(demo_client, user_id, after=data["count"])
    assert data["blocked"] is False and any(i["from"] == "bot" for i in data["items"])


def test_errors(demo_client):
    assert demo_client.get("/simulator/api/Unobody/messages").status_code == 404
    assert demo_client.post("/simulator/api/Unobody/follow").status_code == 404
    user_id = _create(demo_client, "")  # an empty name gets a default
    demo_client.post(f"/simulator/api/{user_id}/follow")
    assert demo_client.post(f"/simulator/api/{user_id}/text", json={"text": "  "}).status_code == 400
    assert demo_client.post(f"/simulator/api/{user_id}/postback", json={}).status_code == 400
    assert json.loads(demo_client.get("/simulator/api/users").get_data())["users"][0]["displayName"] == "テスト利用者"
