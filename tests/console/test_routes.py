"""Every console route, visited signed out, as staff and as an administrator.

New console pages are covered without touching this file, as long as their URL arguments have a sample
value below. Convention: administrator-only pages live under /console/admin/.
"""
from __future__ import annotations

import pytest
from flask import url_for

from .conftest import csrf_token, make_staff

PUBLIC = {"console.login", "console.static"}
ADMIN_PREFIX = "/console/admin/"
# A value for each URL argument a console route may take; add one when a new page needs it.
SAMPLE_ARGS = {
    "staff_id": lambda ctx: ctx["target"].id,
    "broadcast_id": lambda ctx: ctx["broadcast"],
    "event_id": lambda ctx: ctx["event"],
    "application_id": lambda ctx: 999999,  # a missing one: the route must still answer as the role allows
    "filename": lambda ctx: "console.css",
    "day": lambda ctx: "2026-12-02",
    "slot_id": lambda ctx: ctx["slot"],
    "booking_id": lambda ctx: ctx["booking"],
    "closure_id": lambda ctx: ctx["closure"],
}


def console_routes(app) -> list[tuple[str, str, str]]:
    """(endpoint, rule, method) for every console route; signing out comes last, as it ends the session."""
    found = [(rule.endpoint, rule, method) for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("console.") for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    assert len(found) >= 10, found
    return sorted(found, key=lambda item: (item[0] == "console.logout", item[0], item[2]))


def url(app, rule, ctx) -> str:
    missing = [arg for arg in rule.arguments if arg not in SAMPLE_ARGS]
    if missing:
        pytest.fail(f"{rule.rule}: add a sample value for {missing} to SAMPLE_ARGS in {__file__}")
    with app.test_request_context():
        return url_for(rule.endpoint, **{arg: SAMPLE_ARGS[arg](ctx) for arg in rule.arguments})


def visit(client, method: str, path: str, token: str):
    if method == "GET":
        return client.get(path)
    # A valid CSRF token, so that what is tested is the sign-in and role check behind it.
    return client.open(path, method=method, data={"csrf_token": token})


@pytest.fixture
def ctx(db):
    import datetime as dt

    from bot.models import Booking, Broadcast, Closure, ConsultationSlot, Event, User

    with db.session() as s:
        broadcast = Broadcast(title="確認用", topic="events", text="お知らせ", audience={})
        event = Event(kind="セミナー", title="確認用のセミナー", apply_method="line",
                      starts_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7))
        soon = dt.datetime(2026, 12, 2, 1, tzinfo=dt.timezone.utc)
        slot = ConsultationSlot(starts_at=soon, length_minutes=30, capacity=2, booked_count=1)
        person = User(line_user_id="U" + "1" * 32, display_name="相談 次郎")
        closure = Closure(day=dt.date(2026, 12, 3), reason="点検")
        s.add_all([broadcast, event, slot, person, closure])
        s.flush()
        booking = Booking(slot_id=slot.id, user_id=person.id, topic="search")
        s.add(booking)
        s.flush()
        ids = {"broadcast": broadcast.id, "event": event.id, "slot": slot.id, "booking": booking.id,
               "closure": closure.id}
    return {"target": make_staff(db, "taisho", name="対象 一郎"), **ids}


def test_signed_out_every_page_asks_to_sign_in(app, client, ctx):
    token = csrf_token(client)
    wrong = []
    for endpoint, rule, method in console_routes(app):
        path = url(app, rule, ctx)
        answer = visit(client, method, path, token)
        if endpoint in PUBLIC:
            ok = answer.status_code == 200
        elif method == "GET":
            ok = answer.status_code == 302 and answer.headers["Location"].startswith("/console/login?next=")
        else:
            ok = answer.status_code in (401, 403)
        if not ok:
            wrong.append(f"{method} {path} -> {answer.status_code} {answer.headers.get('Location', '')}")
    assert wrong == []


def test_staff_get_403_on_admin_pages_only(app, staff_client, ctx):
    token = csrf_token(staff_client, "/console/")
    wrong = []
    for endpoint, rule, method in console_routes(app):
        path = url(app, rule, ctx)
        answer = visit(staff_client, method, path, token)
        if rule.rule.startswith(ADMIN_PREFIX):
            ok = answer.status_code == 403 and "管理者のみ" in answer.get_data(as_text=True)
        else:
            ok = _allowed(endpoint, answer)
        if not ok:
            wrong.append(f"{method} {path} -> {answer.status_code} {answer.headers.get('Location', '')}")
    assert wrong == []


def test_admin_may_use_every_page(app, admin_client, ctx):
    token = csrf_token(admin_client, "/console/")
    wrong = []
    for endpoint, rule, method in console_routes(app):
        path = url(app, rule, ctx)
        answer = visit(admin_client, method, path, token)
        if not _allowed(endpoint, answer):
            wrong.append(f"{method} {path} -> {answer.status_code} {answer.headers.get('Location', '')}")
    assert wrong == []


def _allowed(endpoint: str, answer) -> bool:
    if answer.status_code == 200:
        return True
    if answer.status_code != 302:
        return False
    # A redirect is fine, except one that sends a signed-in person back to the sign-in page.
    return endpoint == "console.logout" or not answer.headers["Location"].startswith("/console/login")


def test_security_headers_and_cookie_flags(client, app):
    answer = client.get("/console/login")
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "same-origin"
    assert answer.headers["Cache-Control"] == "no-store"
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    cookie = answer.headers["Set-Cookie"]
    # The test settings are production ones (demo=False): the cookie is HTTPS-only.
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "<script" not in answer.get_data(as_text=True) and " style=" not in answer.get_data(as_text=True)


def test_https_behind_a_proxy_is_seen(client):
    answer = client.get("/console/login", headers={"X-Forwarded-Proto": "https"})
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" not in client.get("/console/login").headers


def test_demo_mode_cookie_is_not_secure_only(settings):
    from app import create_app

    app = create_app(settings.replace(demo=True))
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    app.extensions["bot"].db.dispose()
