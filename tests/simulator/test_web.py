"""The simulator's page and JSON API (Flask test client; the bot answers through the mounted emulator)."""
from __future__ import annotations

import datetime as dt
import json
import re

from sqlalchemy import func, select

from app import create_app
from bot import favorites, users
from bot.jobs import saved
from bot.jobs import search as job_search
from bot.models import User
from richmenus import definitions
from simulator.demo_users import DEMO_USERS
from tests.simulator.conftest import run_cli


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
    assert all(d.name in html for d in DEMO_USERS), "the ready-made friends are named"
    assert 'id="sim-picker"' in html and 'type="date"' in html, "the datetime picker's dialog"
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


def _picker(state, user_id) -> dict:
    """The datetime picker among the quick replies of the bot's last message."""
    items = state.messages_for(user_id)[-1]["quickReply"]["items"]
    return next(i["action"] for i in items if i["action"]["type"] == "datetimepicker")


def test_datetime_picker_answer_reaches_the_bot(demo_client, demo_app):
    state = demo_app.extensions["emulator"].state
    user_id = _create(demo_client)
    demo_client.post(f"/simulator/api/{user_id}/follow")
    demo_client.post(f"/simulator/api/{user_id}/postback", json={"data": "v=1&a=booking.start"})
    picker = _picker(state, user_id)
    assert picker["mode"] == "date" and picker["min"] <= picker["initial"] <= picker["max"]
    count = _items(demo_client, user_id)["count"]

    day = dt.date.fromisoformat(picker["initial"])
    answer = demo_client.post(f"/simulator/api/{user_id}/postback",
                              json={"data": picker["data"], "params": {"date": picker["initial"]}})
    assert answer.status_code == 200 and answer.get_json()["status"] == 200
    data = _items(demo_client, user_id, after=count)
    # LINE shows no message for a picker; the simulator notes the choice.
    assert data["items"][0] == {"from": "note",
                                "html": f'<div class="sim-note">{day.year}年{day.month}月{day.day}日を選びました</div>'}
    # The bot read params.date: it offers that day's times.
    assert f"{day.month}月{day.day}日" in _bot_html(data) and "空いている時間" in _bot_html(data)


def test_datetime_picker_values_are_checked(demo_client, demo_app):
    state = demo_app.extensions["emulator"].state
    user_id = _create(demo_client)
    demo_client.post(f"/simulator/api/{user_id}/follow")
    delivered = len(state.messages_for(user_id))
    for params in ({"date": "2026-02-30"}, {"date": "2026/12/02"}, {"date": "2026-12-2"}, {"time": "24:00"},
                   {"time": "9:30"}, {"datetime": "2026-12-02 10:00"}, {"datetime": "2026-12-02T10:00:00"},
                   {"date": "2026-12-02", "time": "10:00"}, {"month": "2026-12"}, {"date": 20261202}, {}, [],
                   "2026-12-02"):
        answer = demo_client.post(f"/simulator/api/{user_id}/postback",
                                  json={"data": "v=1&a=booking.pick", "params": params})
        assert answer.status_code == 400, params
        assert answer.get_json()["message"] == "日時を読み取れませんでした。もう一度選んでください"
    assert len(state.messages_for(user_id)) == delivered, "nothing reached the bot"
    for params, shown in (({"time": "09:30"}, "09:30"), ({"datetime": "2026-12-02T10:00"}, "2026年12月2日 10:00")):
        count = _items(demo_client, user_id)["count"]
        answer = demo_client.post(f"/simulator/api/{user_id}/postback", json={"data": "v=1&a=booking.pick",
                                                                              "params": params})
        assert answer.status_code == 200
        assert _items(demo_client, user_id, after=count)["items"][0]["html"] == \
            f'<div class="sim-note">{shown}を選びました</div>'


def test_demo_users_made_once_and_known_when_the_demo_starts(demo_app):
    settings = demo_app.extensions["bot"].settings
    db = demo_app.extensions["bot"].db
    # Without listings there is nothing to keep as favourites: a clear refusal, nothing made.
    result = demo_app.test_cli_runner().invoke(args=["simulator", "demo-users"])
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: 募集中の求人がない")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0

    run_cli(settings, "jobs", "generate", "--count", "200", "--seed", "3")
    assert "新しく作成: 3人" in run_cli(settings, "simulator", "demo-users")
    assert "新しく作成: 0人" in run_cli(settings, "simulator", "demo-users")
    with db.session() as session:
        friends = {u.line_user_id: u for u in session.scalars(select(User))}
        assert {(d.line_user_id, d.name) for d in DEMO_USERS} == {(i, u.display_name) for i, u in friends.items()}
        assert all(u.is_following for u in friends.values())
        hanako = friends[DEMO_USERS[0].line_user_id]
        searches = saved.listing(session, hanako.id)
        assert [s.name for s in searches] == ["大村市の正社員", "大村市のサービス職"]
        assert all(job_search.run(session, job_search.Conditions.from_dict(s.conditions), 1).total > 10
                   for s in searches), "enough to page through"
        total, jobs = favorites.page(session, hanako.id)
        assert total == 2 and hanako.favorite_count == 2
        assert all(j.status == "有効" and j.municipality_code == "42205" and j.occupation_major == "E" for j in jobs)
        users.unfollow(session, DEMO_USERS[1].line_user_id)  # blocked in the demo since

    # A new demo process: its emulator starts empty and learns the friends from the database.
    restarted = create_app(settings)
    try:
        known = {u["userId"]: u for u in restarted.extensions["emulator"].state.users()}
        assert {i: (u["displayName"], u["blocked"]) for i, u in known.items()} == {
            d.line_user_id: (d.name, d.line_user_id == DEMO_USERS[1].line_user_id) for d in DEMO_USERS}
        assert restarted.extensions["simulator"].followed == set(known)
    finally:
        restarted.extensions["bot"].close()
