"""おすすめ求人(職員から): staff recommend chosen jobs to chosen job seekers with an application deadline;
each person gets one push through the outbox (topic "recommendations", so 配信設定 is honoured)."""
from __future__ import annotations

import datetime as dt

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from bot import recommendations, staff_recommendations
from bot.models import StaffRecommendation, StaffRecommendationItem, utcnow
from console import bp
from console.auth import audit, login_required

PAGE = 50


class RecommendationForm(FlaskForm):
    class Meta:
        locales = ("ja",)

    jobs = TextAreaField("求人番号(1行に1件、またはカンマ区切り)",
                         validators=[DataRequired("求人番号を入力してください。")])
    users = TextAreaField("求職者の利用者番号(管理画面の「番号」。1行に1件、またはカンマ区切り)",
                          validators=[DataRequired("利用者番号を入力してください。")])
    deadline = DateField("応募期限日", validators=[DataRequired("応募期限日を入力してください。")])
    message = TextAreaField("メッセージ(任意、500文字まで)",
                            validators=[Optional(), Length(max=staff_recommendations.MAX_MESSAGE,
                                                           message="メッセージは500文字以内で入力してください。")])
    submit = SubmitField("おすすめ求人を送る")


def _services():
    return current_app.extensions["bot"]


def _when(at: dt.datetime) -> str:
    local = at.astimezone(_services().settings.tz)
    return f"{local.month}月{local.day}日 {local.hour}:{local.minute:02d}"


@bp.route("/recommendations", methods=["GET", "POST"])
@login_required
def recommendations_page():
    services = _services()
    now = utcnow()
    today = now.astimezone(services.settings.tz).date()
    form = RecommendationForm()
    if form.deadline.data is None and not form.is_submitted():
        form.deadline.data = today + dt.timedelta(days=staff_recommendations.DEFAULT_DAYS)
    # At night the pushes wait for the morning (quiet hours); the deadline must leave time after it.
    at = recommendations.morning(now, services.settings.tz)
    first_day = at.astimezone(services.settings.tz).date()
    quota = staff_recommendations.Quota.ask(services.line) if form.is_submitted() else None  # before the transaction
    with services.db.session() as session:
        if form.validate_on_submit():
            ok = True
            if form.deadline.data < first_day:
                form.deadline.errors.append(
                    "応募期限日は今日以降の日付にしてください。" if first_day == today else
                    f"夜間のため送信は{_when(at)}になります。応募期限日は{first_day.month}月{first_day.day}日以降にしてください。")
                ok = False
            elif form.deadline.data > today + dt.timedelta(days=staff_recommendations.MAX_DAYS):
                form.deadline.errors.append(
                    f"応募期限日は今日から{staff_recommendations.MAX_DAYS}日以内にしてください。")
                ok = False
            checked = staff_recommendations.check(session, form.jobs.data, form.users.data)
            form.jobs.errors.extend(checked.job_errors)
            form.users.errors.extend(checked.user_errors)
            if ok and not checked.job_errors and not checked.user_errors:
                refusal = quota.problem(len(checked.users))
                if refusal:
                    form.users.errors.append(refusal)
                    ok = False
            if ok and not checked.job_errors and not checked.user_errors:
                rec = staff_recommendations.send(session, current_user.login_id, checked.jobs, checked.users,
                                                 form.deadline.data, (form.message.data or "").strip(), now,
                                                 not_before=at if at != now else None)
                audit("recommendation.send", f"staff_recommendation:{rec.id}", session=session,
                      jobs=[j.job_number for j in checked.jobs], users=[u.id for u in checked.users],
                      deadline=form.deadline.data.isoformat())
                what = f"おすすめ求人({len(checked.jobs)}件)を{len(checked.users)}人"
                flash(f"{what}に送りました。" if at == now else
                      f"夜間(21時〜翌8時)は送信を控えるため、{what}に{_when(at)}に送信します。", "info")
                return redirect(url_for("console.recommendations_page"))
        people = (select(StaffRecommendationItem.recommendation_id,
                         func.count(func.distinct(StaffRecommendationItem.user_id)).label("people"),
                         func.count(func.distinct(StaffRecommendationItem.job_id)).label("jobs"))
                  .group_by(StaffRecommendationItem.recommendation_id).subquery())
        rows = session.execute(select(StaffRecommendation, people.c.people, people.c.jobs)
                               .outerjoin(people, people.c.recommendation_id == StaffRecommendation.id)
                               .order_by(StaffRecommendation.created_at.desc(), StaffRecommendation.id.desc())
                               .limit(PAGE)).all()
        return render_template("console/recommendations/list.html", form=form, rows=rows, today=today,
                               max_days=staff_recommendations.MAX_DAYS)
