"""Console hardening: every route and method by role, CSRF on every form post, markup shown as text
everywhere staff or LINE users can put it, security headers and cookies, sign-in lockout under parallel
guesses, and logs without secrets or personal data.

Routes are read from app.url_map, so pages added later are covered without touching this file.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading

import pytest
import time_machine
from sqlalchemy import select

from bot import messages, office_events
from bot.models import Base, Broadcast, Event
from bot.models.staff import Staff
from simulator import webhook_events as ev
from simulator.flex import render_messages
from tests.conftest import TEST_SECRET, TEST_TOKEN
from tests.test_dispatcher import dispatch

from .conftest import ADMIN_PASSWORD, STAFF_PASSWORD, csrf_token, make_staff, sign_in
from .test_events import valid as valid_event

PUBLIC = {"console.login", "console.static"}
ADMIN_PREFIX = "/console/admin/"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MARKUP = "<script>alert(1)</script>"
ATTR_MARKUP = '"><img src=x onerror=alert(2)>'
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
JAPANESE = re.compile(r"[ぁ-んァ-ヶ一-龠]")
NAME_MARKUP = "<svg/onload=alert()>"  # 20 characters: LINE's longest display name


# ---- helpers -------------------------------------------------------------------------------------

def console_rules(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("console.")]
    assert len(rules) >= 20, [r.rule for r in rules]
    # Signing out last: it ends the session the other requests use.
    return sorted(rules, key=lambda r: (r.endpoint == "console.logout", r.rule))


def path(rule, ids: dict | None = None) -> str:
    """A URL for the rule: known ids where given, else a row that does not exist (999999)."""
    ids = ids or {}
    values = {arg: ids.get(arg, 999999) for arg in rule.arguments}
    if rule.endpoint == "console.static":
        values["filename"] = "console.css"
    return rule.build(values, append_unknown=False)[1]


def database(db) -> dict:
    """Every row of every table, to prove a refused request changed nothing."""
    with db.session() as s:
        return {t.name: sorted(map(repr, s.execute(select(t)).all())) for t in Base.metadata.sorted_tables}


def html(answer) -> str:
    return answer.get_data(as_text=True)


# ---- authorisation -------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["anonymous", "staff"])
def test_every_route_and_method_refuses_who_may_not_use_it(app, db, role, staff_member):
    """Signed out: every page asks to sign in, every other method is refused. Staff: admin pages are 403.
    A refused request changes nothing, whatever the method."""
    client = app.test_client()
    if role == "staff":
        sign_in(client, staff_member.login_id, STAFF_PASSWORD)
    token = csrf_token(client, "/console/login" if role == "anonymous" else "/console/")
    wrong, tried = [], 0
    for rule in console_rules(app):
        if rule.endpoint in PUBLIC or (role == "staff" and not rule.rule.startswith(ADMIN_PREFIX)):
            continue
        for method in METHODS:
            tried += 1
            before = database(db)
            answer = client.open(path(rule), method=method, data={"csrf_token": token})
            status, where = answer.status_code, answer.headers.get("Location", "")
            if method not in rule.methods:
                ok = status == 405
            elif role == "anonymous" and method == "GET":
                ok = status == 302 and where.startswith("/console/login?next=")
            elif role == "anonymous":
                ok = status in (401, 403)
            else:
                ok = status == 403 and "管理者のみ" in html(answer)
            if not ok or database(db) != before:
                wrong.append(f"{method} {rule.rule} -> {status} {where}")
    print(f"\nauthorisation ({role}): {tried} requests")
    assert wrong == []


def test_no_console_route_fails_with_a_server_error_for_any_role_or_method(app, db, admin, staff_member):
    clients = {"anonymous": app.test_client()}
    clients["staff"] = app.test_client()
    sign_in(clients["staff"], staff_member.login_id, STAFF_PASSWORD)
    clients["admin"] = app.test_client()
    sign_in(clients["admin"], admin.login_id, ADMIN_PASSWORD)
    tokens = {name: csrf_token(c, "/console/login" if name == "anonymous" else "/console/")
              for name, c in clients.items()}
    broken = []
    for rule in console_rules(app):
        for name, client in clients.items():
            for method in METHODS:
                answer = client.open(path(rule), method=method, data={"csrf_token": tokens[name]})
                if answer.status_code >= 500:
                    broken.append(f"{name} {method} {rule.rule} -> {answer.status_code}")
    assert broken == []


# ---- CSRF ----------------------------------------------------------------------------------------

def test_every_form_post_without_a_valid_csrf_token_is_400_and_changes_nothing(app, db, admin_client, admin):
    other = app.test_client()  # a token of another session is as good as none
    foreign = csrf_token(other)
    with db.session() as s:
        event = Event(kind="セミナー", title="確認用", apply_method="line",
                      starts_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7))
        broadcast = Broadcast(title="確認用", topic="events", text="お知らせ", audience={})
        s.add_all([event, broadcast])
        s.flush()
        ids = {"event_id": event.id, "broadcast_id": broadcast.id, "staff_id": admin.id}
    wrong, tried = [], 0
    for rule in console_rules(app):
        if "POST" not in rule.methods:
            continue
        for data in ({}, {"csrf_token": "forged"}, {"csrf_token": foreign}):
            tried += 1
            before = database(db)
            answer = admin_client.post(path(rule, ids), data={**data, "title": MARKUP, "text": MARKUP})
            if answer.status_code != 400 or "もう一度お試しください" not in html(answer) or database(db) != before:
                wrong.append(f"POST {rule.rule} {list(data)} -> {answer.status_code}")
    print(f"\nCSRF: {tried} forged posts")
    assert tried >= 30 and wrong == []
    assert admin_client.get("/console/").status_code == 200  # still signed in: nothing was reset either


# ---- hostile input in every form and query ------------------------------------------------------

HOSTILE = ["a\x00b", "改行\x0bのあと", "x" * 100_000, "99999999999999999999", "-1", "１２３", "²", "' OR 1=1 --",
           MARKUP, "2026-13-45T25:61", "\u202e", ""]
# Valid input for the forms that store free text, so that one hostile field reaches the database.
BASELINES = {
    "console.event_new": lambda ids: valid_event(),
    "console.event_edit": lambda ids: valid_event(),
    "console.broadcast_new": lambda ids: {"title": "お知らせ", "topic": "events", "text": "本文", "audience": "all"},
    "console.staff_new": lambda ids: {"login_id": "atarashii", "display_name": "新人", "role": "staff",
                                      "password": "long-enough-password", "confirm": "long-enough-password"},
    "console.applications_page": lambda ids: {"user": "1", "job": "42040-00000001"},
}


def test_hostile_values_in_every_form_field_and_query_never_fail(app, db, admin_client, admin, caplog):
    """Every console form with each field in turn set to each hostile value (the others valid where a
    baseline is known, with a valid CSRF token), and every page with hostile query parameters: a form
    error or a refusal in Japanese, never a server error or a logged exception."""
    with db.session() as s:
        event = Event(kind="セミナー", title="確認用", apply_method="line",
                      starts_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7))
        broadcast = Broadcast(title="確認用", topic="events", text="お知らせ", audience={})
        s.add_all([event, broadcast])
        s.flush()
        ids = {"event_id": event.id, "broadcast_id": broadcast.id, "staff_id": admin.id}
    token = csrf_token(admin_client, "/console/")
    broken, tried = [], 0

    def check(answer, where):
        nonlocal tried
        tried += 1
        logged = [r.getMessage()[:80] for r in caplog.records if r.levelno >= logging.ERROR]
        unexplained = answer.status_code in (200, 400) and not JAPANESE.search(html(answer))
        if answer.status_code >= 500 or logged or unexplained:
            broken.append(f"{where} -> {answer.status_code} {logged}")
        caplog.clear()

    for rule in console_rules(app):
        if rule.endpoint in ("console.logout", "console.login", "console.static"):
            continue
        url = path(rule, ids)
        fields = set()
        if "GET" in rule.methods:
            fields = set(re.findall(r'name="([^"]+)"', html(admin_client.get(url)))) - {"csrf_token"}
            for value in HOSTILE:
                check(admin_client.get(url, query_string={"q": value, "event": value, "page": value}),
                      f"GET {url}?q={value[:12]!r}")
        if "POST" not in rule.methods:
            continue
        baseline = BASELINES.get(rule.endpoint, lambda ids: {})(ids)
        for field in sorted(fields | set(baseline)) or ["-"]:
            for value in HOSTILE:
                data = {**baseline, field: value, "csrf_token": token}
                check(admin_client.post(url, data=data), f"POST {url} {field}={value[:12]!r}")
    print(f"\nconsole hostile input: {tried} requests")
    assert broken == [], "\n".join(broken[:30])


def test_a_control_character_gets_an_explanation_and_nothing_is_stored(app, db, staff_client):
    before = database(db)
    answer = staff_client.post("/console/events/new", data={**valid_event(title="面接\x00対策"),
                                                             "csrf_token": csrf_token(staff_client, "/console/")})
    assert answer.status_code == 400 and "制御文字" in html(answer)
    assert database(db) == before


# ---- markup from staff and from LINE users -------------------------------------------------------

@pytest.fixture
def marked_up(app, db, line, staff_client, staff_member):
    """An event, a broadcast and a staff account made through the console's own forms with markup in
    every free field, and a LINE friend whose display name is markup registered for the event."""
    page = "/console/events/new"
    answer = staff_client.post(page, data={**valid_event(title=MARKUP, body=MARKUP + ATTR_MARKUP,
                                                         place=ATTR_MARKUP), "csrf_token": csrf_token(staff_client,
                                                                                                      page)})
    assert answer.status_code == 302, html(answer)
    page = "/console/broadcasts/new"
    answer = staff_client.post(page, data={"csrf_token": csrf_token(staff_client, page), "title": MARKUP,
                                           "topic": "events", "text": MARKUP + ATTR_MARKUP, "audience": "all"},
                               content_type="multipart/form-data")
    assert answer.status_code == 302, html(answer)
    make_staff(db, "markup", name=MARKUP)
    with db.session() as s:
        event = s.scalar(select(Event).where(Event.title == MARKUP))
        broadcast = s.scalar(select(Broadcast).where(Broadcast.title == MARKUP))
        staff = s.scalar(select(Staff).where(Staff.login_id == "markup"))
        ids = {"event_id": event.id, "broadcast_id": broadcast.id, "staff_id": staff.id}
    friend = line.new_user(NAME_MARKUP)
    line.follow(friend)
    line.tap(friend, f"v=1&a=event.join&e={ids['event_id']}&c=1")
    return {**ids, "friend": friend}


def test_markup_is_shown_as_text_on_every_console_page(app, db, admin, marked_up):
    client = app.test_client()
    sign_in(client, admin.login_id, ADMIN_PASSWORD)
    shown, wrong = [], []
    for rule in console_rules(app):
        if "GET" not in rule.methods or rule.endpoint in ("console.logout", "console.static"):
            continue
        answer = client.get(path(rule, marked_up))
        if answer.status_code != 200 or not answer.mimetype == "text/html":
            continue
        page = html(answer)
        if MARKUP in page or "<img src=x" in page or NAME_MARKUP in page:
            wrong.append(rule.rule)
        if ESCAPED in page:
            shown.append(rule.endpoint)
    assert wrong == []
    registrants = html(client.get(f"/console/events/{marked_up['event_id']}/registrants"))
    assert "&lt;svg/onload=alert()&gt;" in registrants
    # The markup was really on these pages (escaped), so the check above means something.
    assert {"console.events", "console.event_edit", "console.event_registrants", "console.broadcasts_list",
            "console.broadcast_detail", "console.staff_list", "console.dashboard"} <= set(shown), shown


def test_registrant_csv_keeps_markup_as_data(app, db, staff_client, marked_up):
    answer = staff_client.get(f"/console/events/{marked_up['event_id']}/registrants.csv")
    assert answer.mimetype == "text/csv" and answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in answer.headers["Content-Disposition"]
    assert NAME_MARKUP in answer.get_data(as_text=True)  # a download, never rendered as a page


def test_markup_reaches_line_as_plain_text_and_the_simulator_escapes_it(app, db, line, marked_up):
    """LINE shows text as text: the Flex JSON carries the title unchanged (no &lt; for people to read),
    while the simulator's HTML rendering of that same JSON escapes it."""
    friend = marked_up["friend"]
    line.tap(friend, f"v=1&a=event.show&e={marked_up['event_id']}")
    card = line.received(friend)[-1]
    texts = re.findall(r'"text": "((?:[^"\\]|\\.)*)"', json.dumps(card, ensure_ascii=False))
    assert MARKUP in [json.loads(f'"{t}"') for t in texts]
    assert "&lt;" not in json.dumps(card, ensure_ascii=False)
    with db.session() as s:
        event = s.get(Event, marked_up["event_id"])
        card_values = office_events.card(event, app.extensions["bot"].settings)
        flex = messages.render_dicts("events.json.j2", cards=[card_values], heading=event.title, full=True)
    for rendered in (render_messages([card]), render_messages(flex)):
        page = "".join(rendered)
        assert MARKUP not in page and "<img src=x" not in page and ESCAPED in page


# ---- headers and cookies -------------------------------------------------------------------------

def test_every_console_page_carries_the_security_headers(app, db, admin_client, marked_up):
    missing = []
    for rule in console_rules(app):
        if "GET" not in rule.methods or rule.endpoint == "console.logout":
            continue
        for https in (False, True):
            answer = admin_client.get(path(rule, marked_up), headers={"X-Forwarded-Proto": "https"} if https else {})
            h = answer.headers
            policy = h.get("Content-Security-Policy", "")
            ok = ("default-src 'none'" in policy and "frame-ancestors 'none'" in policy
                  and "unsafe-inline" not in policy and "unsafe-eval" not in policy
                  and h.get("X-Frame-Options") == "DENY" and h.get("X-Content-Type-Options") == "nosniff"
                  and h.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"))
            if https:
                ok = ok and h.get("Strict-Transport-Security", "").startswith("max-age=")
                ok = ok and int(h["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 15552000
            if rule.endpoint != "console.static":
                ok = ok and h.get("Cache-Control") == "no-store"
            if not ok:
                missing.append(f"{rule.rule} https={https}: {dict(h)}")
    assert missing == []


def test_refusals_carry_the_security_headers_too(app, staff_client):
    for answer in (staff_client.get("/console/admin/staff"),                 # 403
                   staff_client.post("/console/events/new", data={}),        # 400, no CSRF token
                   staff_client.get("/console/events/999999/edit")):         # 404
        assert answer.status_code in (400, 403, 404)
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Frame-Options"] == "DENY"


def test_the_signed_in_session_cookie_is_secure_httponly_and_samesite(app, client, staff_member):
    answer = sign_in(client, staff_member.login_id, STAFF_PASSWORD)
    cookies = answer.headers.getlist("Set-Cookie")
    assert cookies, "signing in sets the session cookie"
    for cookie in cookies:
        flags = [part.strip().lower() for part in cookie.split(";")]
        assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags, cookie
        assert not any(part.startswith("expires=") or part.startswith("max-age=") for part in flags), \
            "the session cookie ends with the browser session"


# ---- sign-in lockout -----------------------------------------------------------------------------

def test_parallel_wrong_passwords_lock_the_account_and_are_all_counted(app, db, staff_member):
    """Twelve guesses at once, each on its own connection: the account locks after five, the right
    password is then refused with the same message, and works again after fifteen minutes."""
    tokens = []
    for _ in range(12):
        client = app.test_client()
        tokens.append((client, csrf_token(client)))
    statuses = []

    def guess(client, token):
        answer = client.post("/console/login", data={"csrf_token": token, "login_id": staff_member.login_id,
                                                      "password": "wrong-password-0000"})
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=guess, args=pair) for pair in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 12  # the sign-in page again, with the one refusal message
    with db.session() as s:
        row = s.get(Staff, staff_member.id)
        assert row.failed_attempts == 5 and row.locked_until is not None
    client = app.test_client()
    refused = sign_in(client, staff_member.login_id, STAFF_PASSWORD)
    assert refused.status_code == 200 and "ログインIDまたはパスワードが正しくありません" in html(refused)
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=16), tick=False):
        later = app.test_client()
        assert sign_in(later, staff_member.login_id, STAFF_PASSWORD).headers["Location"] == "/console/"


# ---- logs ----------------------------------------------------------------------------------------

def test_logs_of_a_webhook_round_trip_and_sign_ins_hold_no_secrets_or_personal_data(
        app, client, db, line, emulator, staff_member, caplog):
    """Chosen rule: no secret (channel secret, access token, SECRET_KEY, passwords, session cookie, CSRF
    token) and nothing that names a person (LINE user id, display name, what they wrote) at any level.
    Event ids and row ids are logged: they are how the engineer on call finds a row, and name no one."""
    caplog.set_level(logging.DEBUG)
    friend = line.new_user("大村 花子")
    said = "私の電話番号は090-1234-5678です"
    line.follow(friend)
    line.say(friend, said)
    line.tap(friend, "v=1&a=fav.list")
    line.tap(friend, "v=1&a=app.withdraw&i=999")
    line.post(ev.text(friend, "0" * 32, "使い方"))                     # reply token refused: a push instead
    emulator.inject(endpoint="push", status=500, times=1)             # the push fails once, then goes out
    dispatch(app)
    wrong = app.test_client()
    sign_in(wrong, staff_member.login_id, "wrong-password-1234")
    sign_in(wrong, STAFF_PASSWORD, STAFF_PASSWORD)                    # a password typed into the id field
    session = app.test_client()
    answer = sign_in(session, staff_member.login_id, STAFF_PASSWORD)
    cookie = answer.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
    assert caplog.records, "the round trip logs something, so the check below means something"
    for secret in (TEST_SECRET, TEST_TOKEN, app.extensions["bot"].settings.secret_key, STAFF_PASSWORD,
                   "wrong-password-1234", cookie, csrf_token(session, "/console/")):
        assert secret not in logged
    for personal in (friend, "大村 花子", "090-1234-5678", said):
        assert personal not in logged



# ---- sessions ------------------------------------------------------------------------------------

def test_a_copy_of_the_session_cookie_stops_working_at_sign_out(app, staff_member):
    """The session is a signed cookie: a copy taken before signing out (a shared PC, a stolen cookie)
    must not keep the console open afterwards."""
    browser = app.test_client()
    sign_in(browser, staff_member.login_id, STAFF_PASSWORD)
    copied = browser.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/console/").status_code == 200
    browser.post("/console/logout", data={"csrf_token": csrf_token(browser, "/console/")})
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/console/").headers["Location"].startswith("/console/login")
    again = app.test_client()  # signing in afresh works as before
    assert sign_in(again, staff_member.login_id, STAFF_PASSWORD).headers["Location"] == "/console/"
    assert again.get("/console/").status_code == 200
