"""Consultation bookings in the console: the calendar of slots, a day's bookings (meeting details, cancel
on behalf, attended / no-show, CSV), closures, and the rules (administrators).

Every change that a person should know about goes to them through the outbox in the same transaction:
new meeting details, a cancellation by the office.
"""
from __future__ import annotations

import csv
import datetime as dt
import io

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from bot import office_calendar
from bot.booking import notify, present, service
from bot.booking import rules as booking_rules
from bot.models import Booking, ConsultationSlot, User, utcnow
from bot.models.booking import BOOKED, CANCELLED
from console import bp
from console.auth import audit, get_or_404, login_required
from console.booking_forms import STATUS_LABELS, CancelForm, CapacityForm, MeetingForm, StatusForm
from console.dashboard import register_panel
from console.events import _cell

CSV_HEADER = ["時刻", "表示名", "LINEユーザーID", "相談内容", "メモ", "状態", "予約日時", "ZoomのURL",
              "ミーティングID", "パスコード"]


def _services():
    return current_app.extensions["bot"]


def _tz():
    return _services().settings.tz


def _parse_day(day: str) -> dt.date:
    try:
        return dt.date.fromisoformat(day)
    except ValueError:
        abort(404)


def _day_bounds(day: dt.date):
    tz = _tz()
    return (dt.datetime.combine(day, dt.time(0), tzinfo=tz),
            dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz))


def _slots_between(session, lo: dt.datetime, hi: dt.datetime) -> list[ConsultationSlot]:
    return list(session.scalars(select(ConsultationSlot).where(
        ConsultationSlot.starts_at >= lo, ConsultationSlot.starts_at < hi).order_by(ConsultationSlot.starts_at)))


# ---- calendar --------------------------------------------------------------------------------

@bp.get("/booking")
@login_required
def booking_calendar():
    tz, now = _tz(), utcnow()
    today = booking_rules.local_day(now, tz)
    try:
        start = dt.date.fromisoformat(request.args.get("week", "")) if request.args.get("week") else today
    except ValueError:
        start = today
    monday = start - dt.timedelta(days=start.weekday())
    with _services().db.session() as s:
        rules = booking_rules.load(s)
        service.ensure_slots(s, rules, tz, now)
        closures = booking_rules.closure_days(s)
        end = monday + dt.timedelta(weeks=2)
        slots = _slots_between(s, _day_bounds(monday)[0], _day_bounds(end)[0])
    days = []
    for offset in range((end - monday).days):
        day = monday + dt.timedelta(days=offset)
        # Retired slots stay on the page while they hold bookings.
        of_day = [x for x in slots if booking_rules.local_day(x.starts_at, tz) == day and (not x.retired or x.booked_count)]
        if of_day or day.weekday() in rules.weekdays:
            days.append({"day": day, "label": booking_rules.label_day(day), "slots": of_day,
                         "closed": not office_calendar.is_open(day, closures),
                         "bookable": booking_rules.can_book(day, today, rules, closures),
                         "deadline": booking_rules.label_day(booking_rules.deadline(day, closures))})
    return render_template("console/booking/calendar.html", days=days, monday=monday, today=today, tz=tz,
                           prev=monday - dt.timedelta(weeks=2), next=end, rules=rules)


# ---- one day ---------------------------------------------------------------------------------

def _day_rows(session, day: dt.date):
    slots = _slots_between(session, *_day_bounds(day))
    rows = session.execute(select(Booking, User).join(User, User.id == Booking.user_id)
                           .where(Booking.slot_id.in_([x.id for x in slots]))
                           .order_by(Booking.booked_at)).all() if slots else []
    return slots, rows


def _day_page(day: dt.date, failed: tuple[str, object] | None = None):
    """The day's page; `failed` = (key, form) re-shows one form with its errors."""
    with _services().db.session() as s:
        slots, rows = _day_rows(s, day)
        closures = booking_rules.closure_days(s)
        s.expunge_all()
    forms = {}
    for slot in slots:
        forms[f"slot-{slot.id}"] = MeetingForm(formdata=None, obj=slot, prefix=f"s{slot.id}")
        forms[f"cap-{slot.id}"] = CapacityForm(formdata=None, obj=slot, prefix=f"c{slot.id}")
    for booking, _ in rows:
        forms[f"booking-{booking.id}"] = MeetingForm(formdata=None, obj=booking, prefix=f"b{booking.id}")
    if failed:
        forms[failed[0]] = failed[1]
    return render_template("console/booking/day.html", day=day, label=booking_rules.label_day(day), slots=slots,
                           rows=rows, forms=forms, cancel_form=CancelForm(formdata=None),
                           status_form=StatusForm(formdata=None), labels=STATUS_LABELS, tz=_tz(),
                           closed=not office_calendar.is_open(day, closures),
                           topics=service.TOPICS, when=present.when)


@bp.get("/booking/day/<day>")
@login_required
def booking_day(day: str):
    return _day_page(_parse_day(day))


def _back(slot: ConsultationSlot):
    return redirect(url_for("console.booking_day", day=_slot_day(slot).isoformat()))


def _slot_day(slot: ConsultationSlot) -> dt.date:
    return booking_rules.local_day(slot.starts_at, _tz())


def _refused(slot: ConsultationSlot, key: str, form):
    # Rendered after the change's session has closed: SQLite allows one writer at a time.
    return _day_page(_slot_day(slot), (key, form))


@bp.post("/booking/slots/<int:slot_id>/details")
@login_required
def booking_slot_details(slot_id: int):
    form = MeetingForm(prefix=f"s{slot_id}")
    with _services().db.session() as s:
        slot = get_or_404(s, ConsultationSlot, slot_id)
        valid = form.validate_on_submit()
        if valid:
            for key, value in form.values().items():
                setattr(slot, key, value)
            told = 0
            if slot.zoom_url or slot.meeting_id:
                # Those with details of their own keep them; the others hear of the slot's new ones.
                live = s.scalars(select(Booking).where(
                    Booking.slot_id == slot_id, Booking.status == BOOKED,
                    Booking.zoom_url.is_(None), Booking.meeting_id.is_(None))).all()
                told = notify.details_changed(s, list(live), _services().settings, utcnow())
            audit("booking.slot_details", f"slot:{slot_id}", session=s, told=told)
    if not valid:
        return _refused(slot, f"slot-{slot_id}", form)
    flash(f"{present.when(slot, _tz())}の参加方法を保存しました。" + (f"予約者{told}人へお知らせします。" if told else ""),
          "success")
    return _back(slot)


@bp.post("/booking/slots/<int:slot_id>/capacity")
@login_required
def booking_slot_capacity(slot_id: int):
    form = CapacityForm(prefix=f"c{slot_id}")
    with _services().db.session() as s:
        slot = get_or_404(s, ConsultationSlot, slot_id, lock=True)
        valid = form.validate_on_submit()
        if valid and form.capacity.data < slot.booked_count:
            form.capacity.errors.append(f"すでに{slot.booked_count}人の予約があるため、それより少なくはできません。")
            valid = False
        if valid:
            old, slot.capacity = slot.capacity, form.capacity.data
            audit("booking.slot_capacity", f"slot:{slot_id}", session=s, old=old, new=slot.capacity)
    if not valid:
        return _refused(slot, f"cap-{slot_id}", form)
    flash(f"{present.when(slot, _tz())}の定員を{slot.capacity}人にしました。", "success")
    return _back(slot)


@bp.post("/booking/bookings/<int:booking_id>/details")
@login_required
def booking_details(booking_id: int):
    form = MeetingForm(prefix=f"b{booking_id}")
    with _services().db.session() as s:
        booking = get_or_404(s, Booking, booking_id)
        valid = form.validate_on_submit()
        if valid:
            for key, value in form.values().items():
                setattr(booking, key, value)
            told = notify.details_changed(s, [booking], _services().settings, utcnow())
            audit("booking.details", f"booking:{booking_id}", session=s, told=told)
    if not valid:
        return _refused(booking.slot, f"booking-{booking_id}", form)
    flash("この方の参加方法を保存しました。" + ("ご本人へお知らせします。" if told else ""), "success")
    return _back(booking.slot)


@bp.post("/booking/bookings/<int:booking_id>/cancel")
@login_required
def booking_cancel(booking_id: int):
    form = CancelForm()
    with _services().db.session() as s:
        booking = get_or_404(s, Booking, booking_id)
        valid = form.validate_on_submit()
        done = valid and booking.slot.starts_at > utcnow() and service.cancel(s, booking, utcnow(), current_user.login_id)
        if done:
            notify.cancelled_by_office(s, booking, _services().settings, form.reason.data or "")
            audit("booking.cancel", f"booking:{booking_id}", session=s, reason=form.reason.data or "")
    if not valid:
        return _refused(booking.slot, "cancel", form)
    if done:
        flash("予約を取り消し、ご本人へお知らせしました。", "success")
    else:
        flash("この予約は、すでに取り消されたか相談時刻を過ぎているため、取り消せません。", "error")
    return _back(booking.slot)


@bp.post("/booking/bookings/<int:booking_id>/status")
@login_required
def booking_status(booking_id: int):
    form = StatusForm()
    with _services().db.session() as s:
        booking = get_or_404(s, Booking, booking_id)
        valid = form.validate_on_submit()
        if valid and booking.status == CANCELLED:
            flash("取り消された予約には、参加・不参加を記録できません。", "error")
        elif valid and booking.slot.starts_at > utcnow():
            flash("参加・不参加は、相談の開始時刻のあとに記録できます。", "error")
        elif valid:
            booking.status = form.status.data
            audit("booking.status", f"booking:{booking_id}", session=s, status=booking.status)
            flash(f"「{STATUS_LABELS[booking.status]}」と記録しました。", "success")
    if not valid:
        return _refused(booking.slot, "status", form)
    return _back(booking.slot)


@bp.get("/booking/day/<day>.csv")
@login_required
def booking_day_csv(day: str):
    date, tz = _parse_day(day), _tz()
    with _services().db.session() as s:
        _, rows = _day_rows(s, date)
        audit("booking.export", f"day:{date.isoformat()}", session=s, rows=len(rows))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_HEADER)
        for booking, user in sorted(rows, key=lambda r: (r[0].slot.starts_at, r[0].booked_at)):
            details = service.meeting(booking)
            writer.writerow([booking_rules.label_time(booking.slot.starts_at, tz), _cell(user.display_name or ""),
                             user.line_user_id, service.TOPICS.get(booking.topic, booking.topic),
                             _cell(booking.note or ""), STATUS_LABELS.get(booking.status, booking.status),
                             booking.booked_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                             details["zoom_url"] or "", details["meeting_id"] or "", details["passcode"] or ""])
    return Response(("\ufeff" + out.getvalue()).encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="bookings-{date.isoformat()}.csv"'})


# ---- dashboard panel -------------------------------------------------------------------------

def _panel(session) -> dict:
    now = utcnow()
    upcoming = session.execute(select(Booking, User).join(User, User.id == Booking.user_id).join(Booking.slot)
                               .where(Booking.status == BOOKED, ConsultationSlot.starts_at > now)
                               .order_by(ConsultationSlot.starts_at).limit(5)).all()
    return {"rows": upcoming, "when": present.when, "tz": current_app.extensions["bot"].settings.tz}


register_panel("upcoming_bookings", "今後の相談予約", "console/booking/panel.html", _panel)
