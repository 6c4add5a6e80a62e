"""Signing in and out: wrong passwords, lockout, session lifetime, CSRF, where people land."""
from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import select

from bot.models.staff import AuditLog, Staff
from console import auth

from .conftest import ADMIN_PASSWORD, STAFF_PASSWORD, csrf_token, make_staff, sign_in

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))


def staff_row(db, login_id) -> Staff:
    with db.session() as s:
        return s.scalar(select(Staff).where(Staff.login_id == login_id))


def audit_actions(db) -> list[tuple]:
    with db.session() as s:
        return [tuple(r) for r in s.execute(select(AuditLog.action, AuditLog.target, AuditLog.staff_id)
                                            .order_by(AuditLog.id))]


def page(answer) -> str:
    return answer.get_data(as_text=True)


def test_sign_in_goes_to_the_dashboard_and_is_recorded(client, db, staff_member):
    answer = sign_in(client, " ShoKuin ", STAFF_PASSWORD)  # ids are not case- or space-sensitive
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/"
    dashboard = client.get("/console/")
    assert dashboard.status_code == 200 and "職員 太郎さん" in page(dashboard)
    assert "職員アカウント" not in page(dashboard)  # no admin menu for staff
    row = staff_row(db, "shokuin")
    assert row.last_login_at is not None and row.failed_attempts == 0
    assert audit_actions(db) == [("login", f"staff:{row.id}", row.id)]


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(client, staff_member):
    assert client.get("/console/admin/audit").headers["Location"] == "/console/login?next=/console/admin/audit"
    answer = sign_in(client, "shokuin", STAFF_PASSWORD, next_="/console/admin/audit")
    assert answer.headers["Location"] == "/console/admin/audit"
    other = client.application.test_client()
    for target in ("https://evil.example/", "//evil.example/console/", "/search/form"):
        answer = sign_in(other, "shokuin", STAFF_PASSWORD, next_=target)
        assert answer.headers["Location"] == "/console/", target
        other.post("/console/logout", data={"csrf_token": csrf_token(other, "/console/")})


def test_wrong_password_unknown_id_and_empty_fields(client, db, staff_member):
    wrong = sign_in(client, "shokuin", "not-the-password")
    unknown = sign_in(client, "nobody", "not-the-password")
    for answer in (wrong, unknown):
        # The same words either way: the page never tells whether a login id exists.
        assert answer.status_code == 200 and auth.SIGN_IN_FAILED in page(answer)
        assert "5回続けて間違えると、15分間ログインできなくなります" in page(answer)
    assert staff_row(db, "shokuin").failed_attempts == 1
    empty = sign_in(client, "", "")
    assert "ログインIDを入力してください。" in page(empty) and "パスワードを入力してください。" in page(empty)
    actions = audit_actions(db)
    assert [a for a, *_ in actions] == ["login.failed", "login.failed"]
    assert actions[1][1] is None  # an unknown id is not written down (it may be a mistyped password)


def test_inactive_account_cannot_sign_in(client, db):
    make_staff(db, "taishoku", active=False)
    answer = sign_in(client, "taishoku", STAFF_PASSWORD)
    assert answer.status_code == 200 and auth.SIGN_IN_FAILED in page(answer)


def test_five_failures_lock_the_account_for_fifteen_minutes(client, db, staff_member):
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(5):
            assert auth.SIGN_IN_FAILED in page(sign_in(client, "shokuin", "wrong-password!"))
        row = staff_row(db, "shokuin")
        assert row.locked_until == T0 + dt.timedelta(minutes=15)
        # Locked: even the right password is refused, with the same message as any failure.
        answer = sign_in(client, "shokuin", STAFF_PASSWORD)
        assert answer.status_code == 200 and auth.SIGN_IN_FAILED in page(answer)
        traveller.shift(dt.timedelta(minutes=14, seconds=59))
        assert sign_in(client, "shokuin", STAFF_PASSWORD).status_code == 200
        traveller.shift(dt.timedelta(seconds=2))
        answer = sign_in(client, "shokuin", STAFF_PASSWORD)
        assert answer.status_code == 302
    row = staff_row(db, "shokuin")
    assert row.failed_attempts == 0 and row.locked_until is None
    actions = [a for a, *_ in audit_actions(db)]
    assert actions == ["login.failed"] * 5 + ["staff.locked", "login.failed", "login.failed", "login"]


def test_a_run_out_lock_starts_counting_afresh(client, db, staff_member):
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(5):
            sign_in(client, "shokuin", "wrong-password!")
        traveller.shift(dt.timedelta(minutes=16))
        sign_in(client, "shokuin", "wrong-password!")
        row = staff_row(db, "shokuin")
        assert (row.failed_attempts, row.locked_until) == (1, None)


def test_session_ends_after_thirty_idle_minutes(client, staff_member):
    with time_machine.travel(T0, tick=False) as traveller:
        sign_in(client, "shokuin", STAFF_PASSWORD)
        for _ in range(3):  # busy: each visit starts the idle time again
            traveller.shift(dt.timedelta(minutes=29))
            assert client.get("/console/").status_code == 200
        traveller.shift(dt.timedelta(minutes=30, seconds=1))
        answer = client.get("/console/")
        assert answer.status_code == 302 and answer.headers["Location"] == "/console/login"
        login_page = client.get("/console/login")
        assert "30分間操作がなかったため、ログアウトしました" in page(login_page)
        assert client.get("/console/").status_code == 302  # really signed out


def test_session_ends_eight_hours_after_sign_in_however_busy(client, staff_member):
    with time_machine.travel(T0, tick=False) as traveller:
        sign_in(client, "shokuin", STAFF_PASSWORD)
        for _ in range(8 * 60 // 20):
            assert client.get("/console/").status_code == 200
            traveller.shift(dt.timedelta(minutes=20))
        # Exactly 8 hours is still fine; a moment later is not.
        assert client.get("/console/").status_code == 200
        traveller.shift(dt.timedelta(seconds=1))
        assert client.get("/console/").headers["Location"] == "/console/login"
        assert "ログインから8時間が経ったため" in page(client.get("/console/login"))


def test_sign_out_needs_a_post_with_csrf(client, db, staff_member):
    sign_in(client, "shokuin", STAFF_PASSWORD)
    assert client.get("/console/logout").status_code == 405
    refused = client.post("/console/logout")
    assert refused.status_code == 400 and "もう一度お試しください" in page(refused)
    assert client.get("/console/").status_code == 200  # still signed in
    answer = client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})
    assert answer.headers["Location"] == "/console/login"
    assert "ログアウトしました。" in page(client.get("/console/login"))
    assert client.get("/console/").status_code == 302
    assert [a for a, *_ in audit_actions(db)] == ["login", "logout"]


def test_posts_without_csrf_are_refused(client, db, admin):
    # CSRFProtect stays on in tests; the console must not switch it off for itself.
    assert client.application.config.get("WTF_CSRF_ENABLED", True) is True
    refused = client.post("/console/login", data={"login_id": "kanri", "password": ADMIN_PASSWORD})
    assert refused.status_code == 400
    assert client.get("/console/").status_code == 302
    sign_in(client, "kanri", ADMIN_PASSWORD)
    create = {"login_id": "atarashii", "display_name": "新人", "role": "staff",
              "password": "long-enough-password", "confirm": "long-enough-password"}
    assert client.post("/console/admin/staff/new", data=create).status_code == 400
    bad = client.post("/console/admin/staff/new", data={**create, "csrf_token": "forged"})
    assert bad.status_code == 400
    assert staff_row(db, "atarashii") is None
    target = make_staff(db, "taisho")
    for action in ("deactivate", "activate", "unlock"):
        assert client.post(f"/console/admin/staff/{target.id}/{action}").status_code == 400
    assert staff_row(db, "taisho").active


def test_signed_in_login_page_goes_to_the_dashboard(client, staff_member):
    sign_in(client, "shokuin", STAFF_PASSWORD)
    assert client.get("/console/login").headers["Location"] == "/console/"


def test_client_address_behind_the_proxy_is_recorded(client, db, staff_member):
    token = csrf_token(client)
    client.post("/console/login", data={"csrf_token": token, "login_id": "shokuin", "password": STAFF_PASSWORD},
                headers={"X-Forwarded-For": "203.0.113.7"})
    with db.session() as s:
        assert s.scalar(select(AuditLog.ip).where(AuditLog.action == "login")) == "203.0.113.7"
