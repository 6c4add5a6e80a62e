"""Sign-in, sign-out, the dashboard page and the console's error pages."""
from __future__ import annotations

import datetime as dt
import re

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError

from console import auth, bp
from console.auth import audit, login_required
from console.dashboard import figures
from console.forms import ActionForm, LoginForm

# Names of audit actions on the audit log page; features that log new actions add theirs here.
AUDIT_LABELS = {
    "login": "ログイン", "logout": "ログアウト", "login.failed": "ログイン失敗",
    "login.throttled": "ログイン制限（接続元）", "staff.locked": "ロック",
    "staff.create": "アカウント作成", "staff.deactivate": "アカウント無効化", "staff.activate": "アカウント再有効化",
    "staff.password_reset": "パスワード再設定", "staff.unlock": "ロック解除",
    "event.create": "イベント登録", "event.update": "イベント編集", "event.cancel": "イベント中止",
    "event.export": "申込者CSV出力",
    "broadcast.create": "配信の作成", "broadcast.send": "配信の送信", "broadcast.schedule": "配信の予約",
    "broadcast.cancel": "配信の取り消し",
    "application.record": "窓口紹介の記録", "application.status": "応募状況の変更",
    "recommendation.send": "おすすめ求人の送信",
}


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("console.dashboard"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            staff = auth.sign_in(form.login_id.data, form.password.data, request.remote_addr)
        except auth.TooManyAttempts:
            return render_template("console/login.html", form=form, error=auth.SIGN_IN_THROTTLED)
        if staff is not None:
            # A fresh session: nothing from before sign-in (old CSRF token, flashes) carries over.
            session.clear()
            login_user(staff)
            auth.start_session()
            audit("login", f"staff:{staff.id}")
            return redirect(auth.safe_next(request.args.get("next")) or url_for("console.dashboard"))
        error = auth.SIGN_IN_FAILED
    return render_template("console/login.html", form=form, error=error)


@bp.post("/logout")
@login_required
def logout():
    if ActionForm().validate_on_submit():
        audit("logout", f"staff:{current_user.id}")
        logout_user()
        session.clear()
        flash("ログアウトしました。", "info")
    return redirect(url_for("console.login"))


@bp.get("/")
@login_required
def dashboard():
    services = current_app.extensions["bot"]
    return render_template("console/dashboard.html", **figures(services))


@bp.context_processor
def console_globals():
    # ActionForm: the sign-out button in the navigation needs a CSRF token on every page.
    return {"action_form": ActionForm, "min_password": auth.PASSWORD_MIN_LENGTH,
            "max_attempts": auth.MAX_FAILED_ATTEMPTS, "lockout_minutes": int(auth.LOCKOUT.total_seconds()) // 60}


@bp.app_template_filter("console_time")
def console_time(value: dt.datetime, seconds: bool = False, time_only: bool = False) -> str:
    """A stored UTC time as the office reads it (Asia/Tokyo by default)."""
    local = value.astimezone(current_app.extensions["bot"].settings.tz)
    if time_only:
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


@bp.app_template_filter("audit_action")
def audit_action(action: str) -> str:
    return AUDIT_LABELS.get(action, "")


# C0 control characters other than tab and line breaks: nobody types them, and PostgreSQL cannot store
# NUL. A value that carries one (a paste from elsewhere, a forged request) is refused with an
# explanation before any form sees it, instead of failing when the row is saved.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@bp.before_request
def refuse_control_characters():
    values = [v for _, vs in request.args.lists() for v in vs]
    if request.method == "POST":
        values += [v for _, vs in request.form.lists() for v in vs]
    if any(CONTROL_CHARACTERS.search(v) for v in values):
        return render_template("console/error.html", title="使えない文字が含まれています",
                               message="入力内容に、改行・タブ以外の見えない制御文字が含まれていたため、"
                                       "受け付けませんでした。お手数ですが、貼り付けた文字をご確認のうえ、"
                                       "もう一度入力してください。"), 400
    return None


@bp.errorhandler(CSRFError)
def csrf_failed(error):
    return render_template("console/error.html", title="もう一度お試しください",
                           message="画面を開いてから時間が経ったか、送信の内容が確認できませんでした。"
                                   "お手数ですが、前の画面を開き直してからもう一度操作してください。"), 400


@bp.errorhandler(401)
def not_signed_in(error):
    return render_template("console/error.html", title="ログインしてください",
                           message="この操作にはログインが必要です。ログインし直してから、もう一度操作してください。",
                           login_link=True), 401


@bp.errorhandler(403)
def forbidden(error):
    return render_template("console/error.html", title="この画面は利用できません",
                           message="この操作は管理者のみ行えます。必要な場合は管理者にご相談ください。"), 403


@bp.errorhandler(404)
def not_found(error):
    return render_template("console/error.html", title="ページが見つかりません",
                           message="お探しのページは見つかりませんでした。"), 404
