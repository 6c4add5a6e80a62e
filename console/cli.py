"""`flask staff create LOGIN_ID --name NAME --role admin|staff` and `flask staff list`.

`create` is how the first administrator comes to exist; after that, administrators use the console.
Bad input gives one line on stderr and exit code 1 (bot.cli.fail), never a usage screen.
"""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.cli import fail
from bot.models.staff import ROLES, Staff
from console.auth import audit, hash_password, login_id_problem, normalize_login_id, password_problem
from console.forms import ROLE_LABELS

NOT_READY = "データベースが使えません（接続先を確かめ、flask db upgrade を実行してください）"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = click.prompt("パスワード", hide_input=True, default="", show_default=False)
    second = click.prompt("パスワード（確認）", hide_input=True, default="", show_default=False)
    if first != second:
        fail("確認用のパスワードが一致しません")
    return first


def register(app: Flask) -> None:
    @app.cli.group("staff")
    def staff_group():
        """管理画面の職員アカウント。"""

    @staff_group.command("create")
    @click.argument("login_id")
    # Checked by hand below rather than by click, so that bad input is one line, not a usage screen.
    @click.option("--name", default="", help="表示名（必須）")
    @click.option("--role", default="staff", help="admin（管理者）または staff（職員、省略時）")
    @click.option("--password-stdin", is_flag=True, help="パスワードを標準入力の1行目から読みます")
    def create(login_id: str, name: str, role: str, password_stdin: bool):
        """職員アカウントを作成します（最初の管理者もこれで作ります）。"""
        login_id, name = normalize_login_id(login_id), name.strip()
        problem = login_id_problem(login_id)
        if problem:
            fail(problem)
        if not name or len(name) > 100:
            fail("--name で表示名を100文字以内で指定してください")
        if role not in ROLES:
            fail(f"--role は {' か '.join(ROLES)} を指定してください（指定された値: {role}）")
        password = _read_password(password_stdin)
        problem = password_problem(password, login_id)
        if problem:
            fail(problem)
        try:
            with current_app.extensions["bot"].db.session() as s:
                if s.scalar(select(Staff.id).where(Staff.login_id == login_id)) is not None:
                    fail(f"ログインID {login_id} はすでに使われています")
                staff = Staff(login_id=login_id, display_name=name, role=role,
                              password_hash=hash_password(password))
                s.add(staff)
                s.flush()
                audit("staff.create", f"staff:{staff.id}", session=s, login_id=login_id, display_name=name,
                      role=role, via="cli")
        except SQLAlchemyError:
            fail(NOT_READY)
        click.echo(f"{ROLE_LABELS[role]}アカウント {login_id}（{name}）を作成しました")

    @staff_group.command("list")
    def list_command():
        """職員アカウントの一覧を表示します。"""
        services = current_app.extensions["bot"]
        try:
            with services.db.session() as s:
                people = s.scalars(select(Staff).order_by(Staff.login_id)).all()
        except SQLAlchemyError:
            fail(NOT_READY)
        if not people:
            click.echo("職員アカウントはまだありません（flask staff create で作成できます）")
            return
        for staff in people:
            state = "有効" if staff.active else "無効"
            if staff.is_locked():
                state += "・ロック中"
            last = (staff.last_login_at.astimezone(services.settings.tz).strftime("%Y-%m-%d %H:%M")
                    if staff.last_login_at else "-")
            click.echo(f"{staff.login_id}\t{staff.display_name}\t{ROLE_LABELS[staff.role]}\t{state}\t最終ログイン {last}")
