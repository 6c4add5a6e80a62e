"""Closures (days the office is closed besides holidays) and the consultation rules (administrators)."""
from __future__ import annotations

import datetime as dt

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from bot.booking import rules as booking_rules
from bot.booking import service
from bot.models import Booking, BookingRules, Closure, ConsultationSlot, utcnow
from bot.models.booking import BOOKED
from console import bp
from console.auth import admin_required, audit, get_or_404, login_required
from console.booking_forms import ClosureForm, RulesForm
from console.forms import ActionForm


def _services():
    return current_app.extensions["bot"]


def _bookings_on(session, day: dt.date) -> int:
    tz = _services().settings.tz
    lo = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    return session.scalar(select(func.count()).select_from(Booking).join(Booking.slot).where(
        Booking.status == BOOKED, ConsultationSlot.starts_at >= lo,
        ConsultationSlot.starts_at < lo + dt.timedelta(days=1))) or 0


def _closures_page(form: ClosureForm):
    today = booking_rules.local_day(utcnow(), _services().settings.tz)
    with _services().db.session() as s:
        rows = s.scalars(select(Closure).where(Closure.day >= today - dt.timedelta(days=31))
                         .order_by(Closure.day)).all()
        counts = {c.id: _bookings_on(s, c.day) for c in rows}
    return render_template("console/booking/closures.html", form=form, rows=rows, counts=counts,
                           label=booking_rules.label_day, delete_form=ActionForm(formdata=None))


@bp.route("/booking/closures", methods=["GET", "POST"])
@login_required
def booking_closures():
    form = ClosureForm()
    if not form.validate_on_submit():
        return _closures_page(form)
    with _services().db.session() as s:
        exists = s.scalar(select(Closure).where(Closure.day == form.day.data))
        if exists is None:
            s.add(Closure(day=form.day.data, reason=form.reason.data or "", created_by=current_user.login_id))
            audit("closure.create", f"closure:{form.day.data.isoformat()}", session=s, reason=form.reason.data or "")
            booked = _bookings_on(s, form.day.data)
    if exists is not None:
        form.day.errors.append("この日はすでに閉庁日として登録されています。")
        return _closures_page(form)
    label = booking_rules.label_day(form.day.data)
    flash(f"{label}を閉庁日にしました。LINEの予約では、この日を選べなくなります。", "success")
    if booked:
        flash(f"{label}にはすでに{booked}件の予約があります。日ごとの画面から、代わりに取り消してお知らせしてください。",
              "error")
    return redirect(url_for("console.booking_closures"))


@bp.post("/booking/closures/<int:closure_id>/delete")
@login_required
def booking_closure_delete(closure_id: int):
    valid = ActionForm().validate_on_submit()
    with _services().db.session() as s:
        closure = get_or_404(s, Closure, closure_id)
        if valid:
            s.delete(closure)
            audit("closure.delete", f"closure:{closure.day.isoformat()}", session=s)
    if not valid:
        flash("画面の有効期限が切れました。もう一度お試しください。", "error")
    else:
        flash(f"{booking_rules.label_day(closure.day)}の閉庁日を取り消しました。", "success")
    return redirect(url_for("console.booking_closures"))


@bp.route("/admin/booking-rules", methods=["GET", "POST"])
@admin_required
def booking_rules_page():
    with _services().db.session() as s:
        current = booking_rules.load(s)
    form = RulesForm(data=None if request.method == "POST" else {
        "weekdays": list(current.weekdays), "times": ",".join(t.strftime("%H:%M") for t in current.times),
        "length_minutes": current.length_minutes, "capacity": current.capacity,
        "weeks_ahead": current.weeks_ahead, "reminder_hour": current.reminder_hour,
        "max_upcoming": current.max_upcoming})
    if not form.validate_on_submit():
        return render_template("console/booking/rules.html", form=form)
    with _services().db.session() as s:
        row = s.get(BookingRules, 1, with_for_update=True)
        if row is None:
            row = BookingRules(id=1)
            s.add(row)
        values = form.row_values()
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_by = current_user.login_id
        s.flush()
        # The new times show at once; slots that are no longer offered stop taking bookings.
        service.ensure_slots(s, booking_rules.Rules.from_row(row), _services().settings.tz, utcnow())
        audit("booking.rules", "booking_rules", session=s, **values)
    flash("相談予約の設定を保存しました。", "success")
    return redirect(url_for("console.booking_rules_page"))
