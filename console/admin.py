"""Administrators' pages: staff accounts (create, deactivate, reset password, unlock) and the audit log."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.models.staff import AuditLog, Staff
from console import bp
from console.auth import admin_required, audit, get_or_404, hash_password
from console.forms import ROLE_LABELS, ActionForm, PasswordResetForm, StaffCreateForm

AUDIT_PAGE_SIZE = 50


class _Taken(Exception):
    """The login id is already used."""


def _db():
    return current_app.extensions["bot"].db


def _target(session, staff_id: int) -> Staff:
    return get_or_404(session, Staff, staff_id)


@bp.get("/admin/staff")
@admin_required
def staff_list():
    with _db().session() as s:
        people = s.scalars(select(Staff).order_by(Staff.active.desc(), Staff.login_id)).all()
    return render_template("console/admin/staff_list.html", people=people, roles=ROLE_LABELS)


@bp.route("/admin/staff/new", methods=["GET", "POST"])
@admin_required
def staff_new():
    form = StaffCreateForm()
    if form.validate_on_submit():
        try:
            with _db().session() as s:
                if s.scalar(select(Staff.id).where(Staff.login_id == form.login_id.data)) is not None:
                    raise _Taken
                staff = Staff(login_id=form.login_id.data, display_name=form.display_name.data,
                              role=form.role.data, password_hash=hash_password(form.password.data))
                s.add(staff)
                s.flush()
                audit("staff.create", f"staff:{staff.id}", session=s, login_id=staff.login_id,
                      display_name=staff.display_name, role=staff.role)
        except (_Taken, IntegrityError):  # IntegrityError: two admins created the same id at once
            form.login_id.errors.append("このログインIDはすでに使われています。別のIDにしてください。")
        else:
            flash(f"{staff.display_name}さん（{staff.login_id}）のアカウントを作成しました。", "success")
            return redirect(url_for("console.staff_list"))
    return render_template("console/admin/staff_new.html", form=form)


def _change(staff_id: int, action: str, change, done: str):
    """Runs one button's change with its audit row in the same transaction, then back to the list."""
    if not ActionForm().validate_on_submit():
        abort(400)
    with _db().session() as s:
        staff = _target(s, staff_id)
        problem = change(staff)
        if problem is None:
            audit(action, f"staff:{staff.id}", session=s, login_id=staff.login_id)
    if problem:
        flash(problem, "error")
    else:
        flash(done.format(name=staff.display_name), "success")
    return redirect(url_for("console.staff_list"))


@bp.post("/admin/staff/<int:staff_id>/deactivate")
@admin_required
def staff_deactivate(staff_id: int):
    def change(staff):
        if staff.id == current_user.id:
            # Also keeps at least one active administrator: the one doing this.
            return "ご自身のアカウントは無効にできません。"
        staff.active = False
    return _change(staff_id, "staff.deactivate", change, "{name}さんのアカウントを無効にしました。")


@bp.post("/admin/staff/<int:staff_id>/activate")
@admin_required
def staff_activate(staff_id: int):
    def change(staff):
        staff.active = True
    return _change(staff_id, "staff.activate", change, "{name}さんのアカウントを有効に戻しました。")


@bp.post("/admin/staff/<int:staff_id>/unlock")
@admin_required
def staff_unlock(staff_id: int):
    def change(staff):
        staff.failed_attempts, staff.locked_until = 0, None
    return _change(staff_id, "staff.unlock", change, "{name}さんのロックを解除しました。")


@bp.route("/admin/staff/<int:staff_id>/password", methods=["GET", "POST"])
@admin_required
def staff_password(staff_id: int):
    with _db().session() as s:
        staff = _target(s, staff_id)
    form = PasswordResetForm(staff.login_id)
    if form.validate_on_submit():
        with _db().session() as s:
            staff = _target(s, staff_id)
            staff.password_hash = hash_password(form.password.data)
            # The person is known to the administrator now: let them in again at once.
            staff.failed_attempts, staff.locked_until = 0, None
            audit("staff.password_reset", f"staff:{staff.id}", session=s, login_id=staff.login_id)
        if staff.id == current_user.id:
            login_user(staff)  # a new password ends old sessions (see Staff.get_id), but not this one
        flash(f"{staff.display_name}さんのパスワードを設定しました。ご本人に安全な方法でお伝えください。", "success")
        return redirect(url_for("console.staff_list"))
    return render_template("console/admin/staff_password.html", form=form, staff=staff)


@bp.get("/admin/audit")
@admin_required
def audit_log():
    with _db().session() as s:
        total = s.scalar(select(func.count()).select_from(AuditLog))
        pages = max((total + AUDIT_PAGE_SIZE - 1) // AUDIT_PAGE_SIZE, 1)
        # Past the last page (or a number too large for the database's OFFSET): the last page.
        page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
        rows = s.execute(
            select(AuditLog, Staff.login_id, Staff.display_name)
            .outerjoin(Staff, Staff.id == AuditLog.staff_id)
            .order_by(AuditLog.at.desc(), AuditLog.id.desc())
            .limit(AUDIT_PAGE_SIZE).offset((page - 1) * AUDIT_PAGE_SIZE)).all()
    return render_template("console/admin/audit.html", rows=rows, page=page, pages=pages, total=total,
                           tz=current_app.extensions["bot"].settings.tz)
