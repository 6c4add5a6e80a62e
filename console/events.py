"""Events in the console: list, create, edit, cancel, registrants (page and CSV), the dashboard panel.

Every staff member may manage events (not administrators only). Images are checked and re-encoded by
bot.images and kept under <instance>/media/events/, which bot/web.py serves to LINE.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from bot import images, office_events
from bot.models import Event, EventRegistration, User, utcnow
from bot.models.event import CANCELLED, KINDS, REGISTERED
from console import bp
from console.auth import audit, get_or_404, login_required
from console.dashboard import register_panel
from console.event_forms import APPLY_LABELS, EventForm, below_registered
from console.forms import ActionForm

PAST_SHOWN = 100
PANEL_SIZE = 5
# Pages that take an image upload (events here, broadcasts in console/broadcasts.py).
UPLOAD_ENDPOINTS = ("console.event_new", "console.event_edit", "console.broadcast_new")
# Room for a 10 MB image and the other fields; every other request keeps the app's 2 MB limit.
UPLOAD_REQUEST_LIMIT = images.MAX_BYTES + 1024 * 1024
STATUS_LABELS = {REGISTERED: "申込中", CANCELLED: "取り消し済み"}
CSV_HEADER = ["申込日時", "表示名", "LINEユーザーID", "状態"]


class _BelowRegistered(Exception):
    """The new capacity is smaller than the number of people registered by now."""


def _services():
    return current_app.extensions["bot"]


def _folder() -> Path:
    return Path(current_app.instance_path) / "media" / "events"


def _event(session, event_id: int, lock: bool = False) -> Event:
    return get_or_404(session, Event, event_id, lock=lock)


@bp.url_value_preprocessor
def allow_image_uploads(endpoint, values):
    # URL value preprocessors run before every before_request function, CSRFProtect's among them,
    # which reads (and so size-checks) the body: the larger limit must be set here to apply.
    if endpoint in UPLOAD_ENDPOINTS and request.method == "POST" and current_user.is_authenticated:
        request.max_content_length = UPLOAD_REQUEST_LIMIT


@bp.errorhandler(413)
def too_large(error):
    # For every console page: a body over this limit, or over the app's 2 MB elsewhere.
    return render_template("console/events/too_large.html", max_mb=images.MAX_BYTES // (1024 * 1024)), 413


@bp.app_template_filter("event_when")
def event_when(event: Event) -> str:
    return office_events.when(event, _services().settings.tz)


def state(event: Event, now) -> tuple[str, str]:
    """(label, tag class) for where the event stands, as the list and the panel show it."""
    if event.cancelled:
        return "中止", "muted"
    if event.starts_at <= now:
        return "開始済み", "muted"
    if event.publish_from > now:
        return "公開前", "warn"
    if event.publish_until is not None and event.publish_until <= now:
        return "公開終了", "muted"
    return "公開中", "ok"


# ---- list ------------------------------------------------------------------------------------

@bp.get("/events")
@login_required
def events():
    kind = request.args.get("kind", "")
    kind = kind if kind in KINDS else ""
    now = utcnow()
    query = select(Event).where(Event.kind == kind) if kind else select(Event)
    with _services().db.session() as s:
        upcoming = s.scalars(query.where(Event.starts_at > now).order_by(Event.starts_at, Event.id)).all()
        past = s.scalars(query.where(Event.starts_at <= now)
                         .order_by(Event.starts_at.desc(), Event.id.desc()).limit(PAST_SHOWN + 1)).all()
    return render_template("console/events/list.html", upcoming=upcoming, past=past[:PAST_SHOWN],
                           more_past=len(past) > PAST_SHOWN, past_shown=PAST_SHOWN, kinds=KINDS, kind=kind,
                           state=state, now=now)


# ---- create and edit -------------------------------------------------------------------------

def _form_page(form: EventForm, event: Event | None):
    return render_template("console/events/form.html", form=form, event=event, apply_labels=APPLY_LABELS,
                           max_mb=images.MAX_BYTES // (1024 * 1024))


def _store_upload(form: EventForm) -> str | None:
    return images.store(form.image_jpeg, _folder()) if form.image_jpeg else None


@bp.route("/events/new", methods=["GET", "POST"])
@login_required
def event_new():
    form = EventForm(tz=_services().settings.tz)
    if not form.validate_on_submit():
        return _form_page(form, None)
    name = _store_upload(form)
    try:
        with _services().db.session() as s:
            event = Event(created_by=current_user.login_id, image_name=name)
            form.apply(event)
            s.add(event)
            s.flush()
            audit("event.create", f"event:{event.id}", session=s, title=event.title, kind=event.kind,
                  starts_at=event.starts_at.isoformat(), image=name is not None)
    except BaseException:
        images.remove_image(_folder(), name)  # nothing stored: no file left behind either
        raise
    flash(f"「{event.title}」を登録しました。", "success")
    return redirect(url_for("console.events"))


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@login_required
def event_edit(event_id: int):
    tz = _services().settings.tz
    with _services().db.session() as s:
        event = _event(s, event_id)
    form = EventForm(tz=tz, event=event, data=EventForm.initial(event, tz) if request.method == "GET" else None)
    if not form.validate_on_submit():
        return _form_page(form, event)
    name = _store_upload(form)
    try:
        with _services().db.session() as s:
            # Locked: a registration arriving meanwhile waits, so the capacity check below holds.
            saved = _event(s, event_id, lock=True)
            if form.capacity.data is not None and form.capacity.data < saved.registered_count:
                raise _BelowRegistered(saved.registered_count)
            old_name = saved.image_name
            changed = form.apply(saved)
            if name or (form.remove_image.data and old_name):
                saved.image_name = name
                changed.append("image")
            audit("event.update", f"event:{saved.id}", session=s, title=saved.title, changed=changed)
    except _BelowRegistered as exc:
        # `saved` was rolled back (its attributes expired): the page shows the event as first loaded.
        images.remove_image(_folder(), name)
        form.capacity.errors.append(below_registered(exc.args[0]))
        return _form_page(form, event)
    except BaseException:
        images.remove_image(_folder(), name)
        raise
    if "image" in changed:
        images.remove_image(_folder(), old_name)  # only once the row no longer points at it
    if changed:
        flash(f"「{saved.title}」を保存しました。", "success")
    else:
        flash("変更はありませんでした。", "info")
    return redirect(url_for("console.events"))


# ---- cancel ----------------------------------------------------------------------------------

@bp.route("/events/<int:event_id>/cancel", methods=["GET", "POST"])
@login_required
def event_cancel(event_id: int):
    form = ActionForm()
    with _services().db.session() as s:
        event = _event(s, event_id, lock=request.method == "POST")
        if form.validate_on_submit() and not event.cancelled:
            event.cancelled = True
            audit("event.cancel", f"event:{event.id}", session=s, title=event.title,
                  registered=event.registered_count)
            flash(f"「{event.title}」を中止にしました。LINEには表示されなくなります。"
                  "申し込み済みの方へのお知らせは、一斉配信から送ってください。", "success")
            return redirect(url_for("console.events"))
    return render_template("console/events/cancel.html", event=event, form=form)


# ---- registrants -----------------------------------------------------------------------------

def _registrants(session, event_id: int) -> list:
    return session.execute(
        select(EventRegistration, User).join(User, User.id == EventRegistration.user_id)
        .where(EventRegistration.event_id == event_id)
        .order_by(EventRegistration.registered_at, EventRegistration.id)).all()


@bp.get("/events/<int:event_id>/registrants")
@login_required
def event_registrants(event_id: int):
    with _services().db.session() as s:
        event = _event(s, event_id)
        rows = _registrants(s, event_id)
    return render_template("console/events/registrants.html", event=event, rows=rows, labels=STATUS_LABELS)


def _cell(value: str) -> str:
    # LINE display names are chosen by anyone: one starting with = + - @ would run as a formula in Excel.
    return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


@bp.get("/events/<int:event_id>/registrants.csv")
@login_required
def event_registrants_csv(event_id: int):
    tz = _services().settings.tz
    with _services().db.session() as s:
        event = _event(s, event_id)
        rows = _registrants(s, event_id)
        audit("event.export", f"event:{event.id}", session=s, title=event.title, rows=len(rows))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for registration, user in rows:
        writer.writerow([registration.registered_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                         _cell(user.display_name or ""), user.line_user_id,
                         STATUS_LABELS.get(registration.status, registration.status)])
    # The BOM tells Excel the file is UTF-8 (without it, Japanese Excel reads Shift_JIS).
    return Response(("\ufeff" + out.getvalue()).encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="event-{event.id}-registrants.csv"'})


# ---- dashboard panel -------------------------------------------------------------------------

def _panel(session) -> dict:
    now = utcnow()
    upcoming = session.scalars(select(Event).where(Event.cancelled.is_(False), Event.starts_at > now)
                               .order_by(Event.starts_at, Event.id).limit(PANEL_SIZE)).all()
    return {"events": upcoming, "state": state, "now": now}


register_panel("upcoming_events", "今後のイベント", "console/events/panel.html", _panel)
