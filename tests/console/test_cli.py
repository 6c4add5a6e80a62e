"""`flask staff create` and `flask staff list`."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.models.staff import AuditLog, Staff

from .conftest import make_staff, signed_in_client

PASSWORD = "first-admin-password"


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def staff(db, login_id):
    with db.session() as s:
        return s.scalar(select(Staff).where(Staff.login_id == login_id))


def test_first_admin_from_stdin(app, runner, db):
    result = runner.invoke(args=["staff", "create", "omura.admin", "--name", "大村 管理者", "--role", "admin",
                                 "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "管理者アカウント omura.admin（大村 管理者）を作成しました\n"
    row = staff(db, "omura.admin")
    assert (row.display_name, row.role, row.active) == ("大村 管理者", "admin", True)
    with db.session() as s:
        entry = s.scalar(select(AuditLog))
    assert (entry.action, entry.staff_id, entry.ip, entry.details["via"]) == ("staff.create", None, None, "cli")
    admin_client = signed_in_client(app, "omura.admin", PASSWORD)
    assert admin_client.get("/console/admin/staff").status_code == 200


def test_password_prompted_twice(runner, db):
    result = runner.invoke(args=["staff", "create", "Tanaka", "--name", "田中"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert staff(db, "tanaka").role == "staff"  # the default role
    assert PASSWORD not in result.output


@pytest.mark.parametrize("args, given, message", [
    (["--name", "田中"], f"{PASSWORD}\nsomething-else-entirely\n", "確認用のパスワードが一致しません"),
    (["--name", "田中", "--password-stdin"], "short\n", "パスワードは12文字以上にしてください。"),
    (["--name", "田中", "--password-stdin"], "", "パスワードは12文字以上にしてください。"),
    (["--password-stdin"], PASSWORD + "\n", "--name で表示名を100文字以内で指定してください"),
    (["--name", "田中", "--role", "root", "--password-stdin"], PASSWORD + "\n", "--role は admin か staff を指定してください"),
])
def test_bad_input_is_one_line_on_stderr(runner, db, args, given, message):
    result = runner.invoke(args=["staff", "create", "tanaka", *args], input=given)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert staff(db, "tanaka") is None


def test_bad_or_taken_login_id(runner, db):
    make_staff(db, "tanaka")
    for login_id, message in [("tanaka", "ログインID tanaka はすでに使われています"),
                              ("a", "ログインIDは半角英小文字・数字"), ("田中", "ログインIDは半角英小文字・数字")]:
        result = runner.invoke(args=["staff", "create", login_id, "--name", "田中", "--password-stdin"],
                               input=PASSWORD + "\n")
        assert result.exit_code == 1 and result.stderr.count("\n") == 1 and message in result.stderr


def test_database_not_ready_is_one_line(settings):
    from app import create_app

    app = create_app(settings.replace(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"))
    result = app.test_cli_runner().invoke(args=["staff", "list"])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1 and "flask db upgrade" in result.stderr


def test_list(runner, db):
    assert "職員アカウントはまだありません" in runner.invoke(args=["staff", "list"]).stdout
    make_staff(db, "kanri", role="admin", name="管理 花子")
    make_staff(db, "taishoku", active=False, name="退職 次郎")
    lines = runner.invoke(args=["staff", "list"]).stdout.splitlines()
    assert lines[0].split("\t")[:4] == ["kanri", "管理 花子", "管理者", "有効"]
    assert lines[1].split("\t")[:4] == ["taishoku", "退職 次郎", "職員", "無効"]
    assert lines[0].endswith("最終ログイン -")
