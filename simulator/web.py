"""The LINE simulator at /simulator/ (demo mode only): a phone-like chat page driving the real /callback.

What the page sends goes through the bot's webhook exactly as LINE would send it: the event is built
with `simulator.webhook_events`, a reply token comes from the emulator mounted at /emulator, and the
body is signed with the app's channel secret before it is posted to /callback (through
`app.test_client()`, inside this process). What the page shows is what the emulator received: the
bot's replies and pushes (`state.messages_for(user)`), drawn by `simulator.flex.render_message`, and
the user's own messages, which this module keeps in memory (LINE never tells the bot's API about them).
"""
from __future__ import annotations

import datetime as dt
import re
import threading
import time

from flask import Blueprint, Flask, abort, current_app, jsonify, render_template, request, send_file
from markupsafe import Markup, escape

from richmenus import definitions
from simulator import demo_users
from simulator import webhook_events as ev
from simulator.flex import STYLESHEET, render_message

bp = Blueprint("simulator", __name__, url_prefix="/simulator", static_folder="static",
               template_folder=None)
bp.cli.add_command(demo_users.command)  # flask simulator demo-users (demo mode only, like the page)

CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data: https:; style-src 'self'; "
                           "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
TEXT_MAX = 5000


class Timeline:
    """Per user: the conversation as shown (the user's messages and the bot's, in order)."""

    def __init__(self):
        self.lock = threading.RLock()
        self._items: dict[str, list[dict]] = {}
        self._seen: dict[str, int] = {}  # how many of the emulator's inbox messages are in the timeline
        self.followed: set[str] = set()  # users who added the account once (a re-follow is an unblock)

    def sync(self, state, user_id: str) -> None:
        """Take in what the bot delivered since the last look."""
        with self.lock:
            inbox = state.messages_for(user_id)
            seen = self._seen.get(user_id, 0)
            if len(inbox) < seen:  # the emulator was reset
                self._items[user_id] = []
                seen = 0
            items = self._items.setdefault(user_id, [])
            for message in inbox[seen:]:
                items.append({"from": "bot", "message": message, "time": time.time()})
            self._seen[user_id] = len(inbox)

    def add_user_message(self, state, user_id: str, text: str) -> None:
        with self.lock:
            self.sync(state, user_id)
            self._items.setdefault(user_id, []).append({"from": "user", "text": text, "time": time.time()})

    def add_note(self, state, user_id: str, text: str) -> None:
        with self.lock:
            self.sync(state, user_id)
            self._items.setdefault(user_id, []).append({"from": "note", "text": text, "time": time.time()})

    def items(self, state, user_id: str) -> list[dict]:
        with self.lock:
            self.sync(state, user_id)
            return list(self._items.get(user_id, []))


def init_app(app: Flask) -> None:
    """Mount the simulator (call only in demo mode, after the emulator is in app.extensions)."""
    timeline = app.extensions["simulator"] = Timeline()
    demo_users.register_friends(app.extensions["bot"].db, app.extensions["emulator"].state, timeline.followed)
    app.register_blueprint(bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        # Demo only, served on 127.0.0.1; the JSON calls carry no form token.
        csrf.exempt(bp)


@bp.after_request
def _headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.endpoint not in ("simulator.static", "simulator.flex_css", "simulator.richmenu_image"):
        response.headers["Cache-Control"] = "no-store"
    return response


def _state():
    return current_app.extensions["emulator"].state


def _timeline() -> Timeline:
    return current_app.extensions["simulator"]


def _user_or_404(user_id: str) -> dict:
    for user in _state().users():
        if user["userId"] == user_id:
            return user
    abort(404)


def _error(status: int, message: str):
    response = jsonify({"message": message})
    response.status_code = status
    return response


def _post_event(event: dict) -> int:
    """Sign the event with the app's channel secret and post it to the bot's /callback."""
    secret = current_app.extensions["bot"].settings.channel_secret
    body = ev.payload(event)
    with current_app.test_client() as client:
        answer = client.post("/callback", data=body, headers={
            "Content-Type": "application/json", "X-Line-Signature": ev.sign(secret, body)})
    return answer.status_code


def _menus() -> tuple[definitions.Definitions, list[dict]]:
    defs = definitions.load()
    menus = []
    for menu in defs.menus:
        width, height = menu["size"]["width"], menu["size"]["height"]
        areas = []
        for area in definitions.areas(menu):
            b = area["bounds"]
            areas.append({
                "action": area["action"],
                "label": area["action"].get("label", ""),
                "left": round(100 * b["x"] / width, 3), "top": round(100 * b["y"] / height, 3),
                "width": round(100 * b["width"] / width, 3), "height": round(100 * b["height"] / height, 3),
            })
        menus.append({"id": menu["id"], "aliasId": menu.get("aliasId") or menu["id"],
                      "chatBarText": menu.get("chatBarText", "メニュー"), "areas": areas,
                      "ratio": f"{width}:{height}"})
    return defs, menus


# ---- pages and files ---------------------------------------------------------------------------

@bp.get("/")
def index():
    defs, menus = _menus()
    default = next((m for m in menus if m["id"] == defs.default), menus[0])
    return render_template("simulator/index.html", menus=menus, default_alias=default["aliasId"],
                           demo_names=[u.name for u in demo_users.DEMO_USERS])


@bp.get("/flex.css")
def flex_css():
    return send_file(STYLESHEET, mimetype="text/css", max_age=60)


@bp.get("/richmenu/<menu_id>.png")
def richmenu_image(menu_id: str):
    defs = definitions.load()
    for menu in defs.menus:
        if menu["id"] == menu_id:
            path = defs.image_path(menu)
            if path.is_file():
                return send_file(path, mimetype="image/png", max_age=60)
    abort(404)


# ---- JSON API ----------------------------------------------------------------------------------

@bp.get("/api/users")
def list_users():
    return jsonify({"users": _state().users()})


@bp.post("/api/users")
def create_user():
    body = request.get_json(silent=True) or {}
    name = str(body.get("displayName") or "").strip()[:20] or "テスト利用者"
    profile = _state().add_user(ev.new_user_id(), display_name=name)
    # A new user has not added the account yet: they follow with the button.
    _state().set_blocked(profile["userId"], True)
    return jsonify({**profile, "blocked": True}), 201


@bp.post("/api/<user_id>/follow")
def follow(user_id: str):
    user = _user_or_404(user_id)
    state = _state()
    state.add_user(user_id, display_name=user.get("displayName", "テスト利用者"),
                   picture_url=user.get("pictureUrl"), language=user.get("language", "ja"))
    _timeline().add_note(state, user_id, "友だち追加しました")
    event = ev.follow(user_id, state.issue_reply_token(user_id))
    with _timeline().lock:
        event["follow"]["isUnblocked"] = user_id in _timeline().followed
        _timeline().followed.add(user_id)
    status = _post_event(event)
    return jsonify({"status": status, "blocked": False})


@bp.post("/api/<user_id>/block")
def block(user_id: str):
    _user_or_404(user_id)
    state = _state()
    state.set_blocked(user_id, True)
    _timeline().add_note(state, user_id, "ブロックしました")
    status = _post_event(ev.unfollow(user_id))
    return jsonify({"status": status, "blocked": True})


@bp.post("/api/<user_id>/text")
def send_text(user_id: str):
    user = _user_or_404(user_id)
    if user["blocked"]:
        return _error(409, "ブロック中はメッセージを送れません")
    body = request.get_json(silent=True) or {}
    text = str(body.get("text") or "")
    if not text.strip():
        return _error(400, "メッセージを入力してください")
    text = text[:TEXT_MAX]
    state = _state()
    _timeline().add_user_message(state, user_id, text)
    status = _post_event(ev.text(user_id, state.issue_reply_token(user_id), text))
    return jsonify({"status": status})


@bp.post("/api/<user_id>/postback")
def send_postback(user_id: str):
    user = _user_or_404(user_id)
    if user["blocked"]:
        return _error(409, "ブロック中は操作できません")
    body = request.get_json(silent=True) or {}
    data = str(body.get("data") or "")
    if not data:
        return _error(400, "操作の内容が空です。ボタンをもう一度押してください")
    state = _state()
    if body.get("displayText"):
        _timeline().add_user_message(state, user_id, str(body["displayText"])[:TEXT_MAX])
    params = body.get("params")
    if params is not None:
        picked = _picked(params)
        if picked is None:
            return _error(400, "日時を読み取れませんでした。もう一度選んでください")
        _timeline().add_note(state, user_id, f"{picked}を選びました")
    status = _post_event(ev.postback(user_id, state.issue_reply_token(user_id), data, params))
    return jsonify({"status": status})


# What a datetime picker sends back: one of these, in LINE's formats (and a date that exists).
PICKED = {"date": (re.compile(r"\d{4}-\d{2}-\d{2}"), "%Y-%m-%d"),
          "time": (re.compile(r"\d{2}:\d{2}"), "%H:%M"),
          "datetime": (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"), "%Y-%m-%dT%H:%M")}


def _picked(params) -> str | None:
    """The chosen value in words, or None when `params` is not one value of a datetime picker."""
    if not isinstance(params, dict) or len(params) != 1:
        return None
    (mode, value), = params.items()
    if mode not in PICKED or not isinstance(value, str) or not PICKED[mode][0].fullmatch(value):
        return None
    try:
        moment = dt.datetime.strptime(value, PICKED[mode][1])
    except ValueError:
        return None
    day, clock = f"{moment.year}年{moment.month}月{moment.day}日", f"{moment:%H:%M}"
    return {"date": day, "time": clock, "datetime": f"{day} {clock}"}[mode]


@bp.get("/api/<user_id>/messages")
def messages(user_id: str):
    user = _user_or_404(user_id)
    try:
        after = max(0, int(request.args.get("after", 0)))
    except ValueError:
        after = 0
    items = _timeline().items(_state(), user_id)
    return jsonify({"count": len(items), "blocked": user["blocked"],
                    "items": [{"from": item["from"], "html": str(_item_html(item))} for item in items[after:]]})


def _item_html(item: dict) -> Markup:
    if item["from"] == "bot":
        return render_message(item["message"], rewrite_url=_rewrite_url)
    if item["from"] == "note":
        return Markup('<div class="sim-note">{}</div>').format(item["text"])
    return Markup('<div class="sim-user-text">{}</div>').format(escape(item["text"]))


def _rewrite_url(url: str) -> str:
    """Images of the bot's own public address are served by this app too."""
    base = current_app.extensions["bot"].settings.public_base_url.rstrip("/")
    if base and url.startswith(base + "/"):
        return url[len(base):]
    return url
