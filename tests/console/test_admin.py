"""Administrators' pages: creating, deactivating, unlocking staff, resetting passwords, the audit log."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from bot.models import utcnow
from bot.models.staff import AuditLog, Staff

from .conftest import STAFF_PASSWORD, csrf_token, sign_in, signed_in_client

NEW_PASSWORD = "atarashii-pass-0001"


def staff_row(db, login_id) -> Staff | None:
    with db.session() as s:
        return s.scalar(select(Staff).where(Staff.login_id == login_id))


def last_audit(db, action: str | None = None) -> AuditLog:
    query = select(AuditLog).order_by(AuditLog.id.desc())
    if action:
        query = query.where(AuditLog.action == action)
    with db.session() as s:
        return s.scalars(query).first()


def create(client, **fields):
    data = {"login_id": "tanaka", "display_name": "田中 一郎", "role": "staff",
            "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, **fields}
    return client.post("/console/admin/staff/new",
                       data={"csrf_token": csrf_token(client, "/console/admin/staff/new"), **data})


def press(client, staff_id: int, action: str):
    return client.post(f"/console/admin/staff/{staff_id}/{action}",
                       data={"csrf_token": csrf_token(client, "/console/admin/staff")})


def text(answer) -> str:
    return answer.get_data(as_text=True)


def test_create_staff(app, admin_client, db, admin):
    answer = create(admin_client, login_id="Tanaka.Ichiro", role="admin")
    assert answer.headers["Location"] == "/console/admin/staff"
    row = staff_row(db, "tanaka.ichiro")
    assert (row.display_name, row.role, row.active) == ("田中 一郎", "admin", True)
    assert row.password_hash.startswith("scrypt:") and NEW_PASSWORD not in row.password_hash
    listing = text(admin_client.get("/console/admin/staff"))
    assert "田中 一郎さん（tanaka.ichiro）のアカウントを作成しました。" in listing
    entry = last_audit(db)
    assert (entry.action, entry.target, entry.staff_id, entry.ip) == ("staff.create", f"staff:{row.id}", admin.id,
                                                                      "127.0.0.1")
    assert entry.details == {"login_id": "tanaka.ichiro", "display_name": "田中 一郎", "role": "admin"}
    assert signed_in_client(app, "tanaka.ichiro", NEW_PASSWORD)


def test_create_refuses_bad_input_in_japanese(admin_client, db, admin):
    cases = [
        ({"password": "short-pass", "confirm": "short-pass"}, "パスワードは12文字以上にしてください。"),
        ({"confirm": NEW_PASSWORD + "x"}, "確認用のパスワードが一致しません。"),
        ({"password": "tanaka-password-1", "confirm": "tanaka-password-1"}, "パスワードにログインIDを含めないでください。"),
        ({"login_id": "田中"}, "ログインIDは半角英小文字・数字"),
        ({"login_id": "kanri"}, "このログインIDはすでに使われています。"),
        ({"display_name": "  "}, "表示名を入力してください。"),
        ({"role": "root"}, "権限を一覧から選んでください。"),
    ]
    for fields, message in cases:
        answer = create(admin_client, **fields)
        assert answer.status_code == 200 and message in text(answer), fields
    with db.session() as s:
        assert s.scalar(select(Staff.login_id).where(Staff.login_id != "kanri")) is None
        assert s.scalar(select(AuditLog.id).where(AuditLog.action == "staff.create")) is None


def test_script_in_a_display_name_is_shown_as_text(app, admin_client, db):
    name = '<script>alert("x")</script>'
    create(admin_client, display_name=name)
    for html in (text(admin_client.get("/console/admin/staff")), text(admin_client.get("/console/admin/audit")),
                 text(signed_in_client(app, "tanaka", NEW_PASSWORD).get("/console/"))):
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
        assert "<script>" not in html


def test_deactivate_ends_their_session_and_is_recorded(app, admin_client, db, admin, staff_member):
    theirs = signed_in_client(app, "shokuin", STAFF_PASSWORD)
    answer = press(admin_client, staff_member.id, "deactivate")
    assert answer.headers["Location"] == "/console/admin/staff"
    assert "職員 太郎さんのアカウントを無効にしました。" in text(admin_client.get("/console/admin/staff"))
    assert staff_row(db, "shokuin").active is False
    assert theirs.get("/console/").headers["Location"].startswith("/console/login")
    assert sign_in(app.test_client(), "shokuin", STAFF_PASSWORD).status_code == 200  # refused
    entry = last_audit(db, "staff.deactivate")
    assert (entry.action, entry.target, entry.staff_id) == ("staff.deactivate", f"staff:{staff_member.id}", admin.id)

    press(admin_client, staff_member.id, "activate")
    assert staff_row(db, "shokuin").active is True
    assert last_audit(db).action == "staff.activate"
    assert sign_in(app.test_client(), "shokuin", STAFF_PASSWORD).status_code == 302


def test_an_admin_cannot_deactivate_themselves(admin_client, db, admin):
    press(admin_client, admin.id, "deactivate")
    assert "ご自身のアカウントは無効にできません。" in text(admin_client.get("/console/admin/staff"))
    assert staff_row(db, "kanri").active is True
    assert last_audit(db).action == "login"  # nothing changed, nothing recorded


def test_reset_password(app, admin_client, db, admin, staff_member):
    theirs = signed_in_client(app, "shokuin", STAFF_PASSWORD)
    path = f"/console/admin/staff/{staff_member.id}/password"
    form = text(admin_client.get(path))
    assert "職員 太郎さん" in form and "shokuin" in form
    token = csrf_token(admin_client, path)
    short = admin_client.post(path, data={"csrf_token": token, "password": "short", "confirm": "short"})
    assert "パスワードは12文字以上にしてください。" in text(short)
    answer = admin_client.post(path, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert answer.headers["Location"] == "/console/admin/staff"
    # Their open session ends; the old password no longer works, the new one does.
    assert theirs.get("/console/").headers["Location"].startswith("/console/login")
    assert sign_in(app.test_client(), "shokuin", STAFF_PASSWORD).status_code == 200
    assert sign_in(app.test_client(), "shokuin", NEW_PASSWORD).status_code == 302
    with db.session() as s:
        entry = s.scalar(select(AuditLog).where(AuditLog.action == "staff.password_reset"))
    assert (entry.target, entry.staff_id, entry.details) == (f"staff:{staff_member.id}", admin.id,
                                                             {"login_id": "shokuin"})
    assert NEW_PASSWORD not in str(entry.details)


def test_resetting_ones_own_password_keeps_one_signed_in(admin_client, admin):
    path = f"/console/admin/staff/{admin.id}/password"
    admin_client.post(path, data={"csrf_token": csrf_token(admin_client, path),
                                  "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert admin_client.get("/console/").status_code == 200


def test_unlock(app, admin_client, db, admin, staff_member):
    for _ in range(5):
        sign_in(app.test_client(), "shokuin", "wrong-password!")
    assert staff_row(db, "shokuin").is_locked()
    listing = text(admin_client.get("/console/admin/staff"))
    assert "ロック中" in listing and "ロック解除" in listing
    press(admin_client, staff_member.id, "unlock")
    row = staff_row(db, "shokuin")
    assert (row.failed_attempts, row.locked_until) == (0, None)
    entry = last_audit(db)
    assert (entry.action, entry.target, entry.staff_id) == ("staff.unlock", f"staff:{staff_member.id}", admin.id)
    assert sign_in(app.test_client(), "shokuin", STAFF_PASSWORD).status_code == 302


def test_unknown_staff_is_404(admin_client):
    assert admin_client.get("/console/admin/staff/999999/password").status_code == 404
    assert press(admin_client, 999999, "unlock").status_code == 404


def test_audit_log_newest_first_in_pages(admin_client, db, admin):
    start = utcnow() - dt.timedelta(days=1)
    with db.session() as s:
        s.add_all([AuditLog(action=f"test.{n:02d}", target=f"thing:{n}", details={"n": n},
                            at=start + dt.timedelta(minutes=n)) for n in range(60)])
    first = text(admin_client.get("/console/admin/audit"))
    assert "全61件" in first and "1 / 2 ページ" in first  # 60 + the admin's own sign-in
    order = re.findall(r"test\.(\d\d)", first)
    assert first.index("ログイン") < first.index("test.59")  # the sign-in happened just now
    assert order == [f"{n:02d}" for n in range(59, 10, -1)]
    second = text(admin_client.get("/console/admin/audit?page=2"))
    assert re.findall(r"test\.(\d\d)", second) == [f"{n:02d}" for n in range(10, -1, -1)]
    assert "古い記録" not in second and "新しい記録" in second
    assert admin_client.get("/console/admin/audit?page=abc").status_code == 200
