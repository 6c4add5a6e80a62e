"""応募の記録: staff record counter referrals (窓口紹介) and change statuses; the person is told by push."""
from __future__ import annotations

import re
import unicodedata

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from wtforms import SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from bot import applications, messages
from bot.line import outbox
from bot.models import Application, Job, User, utcnow
from bot.models.application import COUNTER, ROUTES, STATUSES
from bot.router import job_number
from console import bp
from console.auth import audit, get_or_404, login_required

PAGE = 50


class ReferralForm(FlaskForm):
    class Meta:
        locales = ("ja",)

    user = StringField("求職者(管理画面の利用者番号)", validators=[DataRequired("利用者番号を入力してください。")])
    job = StringField("求人番号", validators=[DataRequired("求人番号を入力してください。")])
    submit = SubmitField("窓口紹介を記録する")


class StatusForm(FlaskForm):
    class Meta:
        locales = ("ja",)

    status = SelectField("状況", choices=[SelectChoice(s, s) for s in STATUSES], validate_choice=False)
    submit = SubmitField("変更する")


def _services():
    return current_app.extensions["bot"]


def _number(text: str) -> int | None:
    """A 利用者番号 as typed (full-width digits and a leading # accepted), or None. Not str.isdigit():
    it takes "²" and numbers too large for the database's integers."""
    text = unicodedata.normalize("NFKC", text).strip().lstrip("#")
    return int(text) if re.fullmatch(r"[0-9]{1,9}", text) else None


def _find_user(session, text: str) -> User | None:
    number = _number(text)
    return session.get(User, number) if number is not None else None


@bp.route("/applications", methods=["GET", "POST"])
@login_required
def applications_page():
    services = _services()
    form = ReferralForm()
    query = request.args.get("q", "").strip()[:100]
    with services.db.session() as session:
        if form.validate_on_submit():
            user = _find_user(session, form.user.data)
            try:
                number = job_number(form.job.data)
            except ValueError:
                number = None
            job = session.scalar(select(Job).where(Job.job_number == number)) if number else None
            if user is None:
                form.user.errors.append("この利用者番号の求職者は見つかりません。一覧の「番号」をご確認ください。")
            elif job is None:
                form.job.errors.append("この求人番号の求人は見つかりません(例: 42040-12345678)。")
            elif applications.record(session, user.id, job, COUNTER, utcnow(), current_user.login_id) is None:
                form.job.errors.append("この求職者は、すでにこの求人に応募しています。")
            else:
                audit("application.record", f"user:{user.id}", session=session, job=job.job_number)
                flash(f"窓口紹介を記録しました(番号{user.id} / {job.job_number})。", "info")
                return redirect(url_for("console.applications_page"))
        people = []
        if query:
            people = session.scalars(select(User).where(or_(User.display_name.contains(query),
                                                            User.id == (_number(query) or -1)))
                                     .limit(20)).all()
        rows = session.execute(select(Application, Job, User).join(Job, Job.id == Application.job_id)
                               .join(User, User.id == Application.user_id)
                               .order_by(Application.status_changed_at.desc()).limit(PAGE)).all()
        return render_template("console/applications/list.html", form=form, rows=rows, routes=ROUTES,
                               statuses=STATUSES, people=people, query=query, status_form=StatusForm)


@bp.post("/applications/<int:application_id>/status")
@login_required
def application_status(application_id: int):
    services = _services()
    form = StatusForm()
    if not form.validate_on_submit() or form.status.data not in STATUSES:
        flash("状況を一覧から選んでください。", "error")
        return redirect(url_for("console.applications_page"))
    with services.db.session() as session:
        application = get_or_404(session, Application, application_id)
        if application.status == form.status.data:
            return redirect(url_for("console.applications_page"))
        job, user = session.get(Job, application.job_id), session.get(User, application.user_id)
        applications.set_status(application, form.status.data, utcnow())
        note = messages.text(f"【応募状況のお知らせ】\n{job.occupation}({job.company_name}、求人番号 {job.job_number})の"
                             f"状況が「{form.status.data}」になりました。\n詳しくはメニューの「応募状況」からご確認ください。")
        # The notice honours 配信設定 (topic "notices"); the dispatcher skips those who turned it off.
        outbox.push(session, user.line_user_id, [note], source=f"application:{application.id}", topic="notices")
        audit("application.status", f"application:{application.id}", session=session, status=form.status.data)
    flash("状況を変更し、求職者にお知らせしました。", "info")
    return redirect(url_for("console.applications_page"))
