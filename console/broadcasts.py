"""一斉配信: compose, preview, send now or at a set time, cancel, and follow the figures."""
from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from bot import broadcasts, office_events
from bot.jobs import reference
from bot.models import Broadcast, Event, utcnow
from bot.models.broadcast import CANCELLED, DRAFT, QUEUED, REFUSED, SCHEDULED
from bot.preferences import TOPIC_LABELS
from console import bp
from console.auth import audit, get_or_404, login_required
from console.broadcast_forms import MAX_IMAGE_BYTES, BroadcastForm, ScheduleForm
from console.dashboard import register_panel
from console.forms import ActionForm
from simulator.flex import render_message

STATUS_LABELS = {DRAFT: "下書き", SCHEDULED: "予約済み", QUEUED: "送信済み", CANCELLED: "取り消し", REFUSED: "送信できず"}
PAGE = 30


def _services():
    return current_app.extensions["bot"]


def _events(session) -> list[Event]:
    return office_events.upcoming(session, utcnow(), limit=50)


def audience_text(audience: dict, session) -> str:
    if not audience:
        return "友だち全員"
    parts = []
    if audience.get("municipalities"):
        parts.append("地域: " + "・".join(reference.MUNICIPALITIES.get(c, c) for c in audience["municipalities"]))
    if audience.get("interests"):
        parts.append("職種: " + "・".join(reference.OCCUPATION_MAJORS.get(c, c) for c in audience["interests"]))
    if audience.get("event_id"):
        event = session.get(Event, audience["event_id"])
        parts.append("申込者: " + (event.title if event else "(削除されたイベント)"))
    return " / ".join(parts)


@bp.get("/broadcasts")
@login_required
def broadcasts_list():
    with _services().db.session() as session:
        rows = session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(PAGE)).all()
        items = [{"b": b, "audience": audience_text(b.audience, session),
                  "figures": broadcasts.figures(session, b) if b.status == QUEUED else None} for b in rows]
    return render_template("console/broadcasts/list.html", items=items, labels=STATUS_LABELS, topics=TOPIC_LABELS)


@bp.route("/broadcasts/new", methods=["GET", "POST"])
@login_required
def broadcast_new():
    services = _services()
    with services.db.session() as session:
        form = BroadcastForm()
        form.set_events(_events(session))
        if request.method == "GET" and request.args.get("event", "").isdigit():
            form.event_id.data = request.args["event"]
        if not form.validate_on_submit():
            return render_template("console/broadcasts/new.html", form=form)
        image_name = None
        upload = form.image.data
        if upload and getattr(upload, "filename", ""):
            data = upload.read(MAX_IMAGE_BYTES + 1)
            if len(data) > MAX_IMAGE_BYTES:
                form.image.errors.append("画像は10MBまでにしてください。")
                return render_template("console/broadcasts/new.html", form=form)
            from bot.images import ImageError, save_image

            try:
                image_name = save_image(data, Path(current_app.instance_path) / "media" / "broadcasts")
            except ImageError as exc:
                form.image.errors.append(str(exc))
                return render_template("console/broadcasts/new.html", form=form)
        if not (form.text.data or image_name or form.event_id.data):
            form.text.errors.append("本文・画像・イベントの案内のいずれかを入れてください。")
            return render_template("console/broadcasts/new.html", form=form)
        broadcast = Broadcast(title=form.title.data, topic=form.topic.data, text=form.text.data or None,
                              image_name=image_name, event_id=int(form.event_id.data) if form.event_id.data else None,
                              audience=form.segment(), status=DRAFT, created_by=current_user.login_id)
        session.add(broadcast)
        session.flush()
        audit("broadcast.create", f"broadcast:{broadcast.id}", session=session, title=broadcast.title)
        broadcast_id = broadcast.id
    flash("下書きを保存しました。内容と送信先を確認してから、送信または予約してください。", "info")
    return redirect(url_for("console.broadcast_detail", broadcast_id=broadcast_id))


def _load(session, broadcast_id: int) -> Broadcast:
    return get_or_404(session, Broadcast, broadcast_id)


@bp.get("/broadcasts/<int:broadcast_id>")
@login_required
def broadcast_detail(broadcast_id: int, schedule_form: ScheduleForm | None = None, error: str | None = None):
    services = _services()
    with services.db.session() as session:
        broadcast = _load(session, broadcast_id)
        try:
            preview = broadcasts.compose(session, broadcast, services.settings)
        except broadcasts.BroadcastError as exc:
            preview, error = [], error or exc.message
        people = broadcasts.audience(session, broadcast) if broadcast.status in (DRAFT, SCHEDULED) else None
        context = dict(
            b=broadcast, preview=[render_message(m, rewrite_url=_local_url(services.settings)) for m in preview],
            people=people, labels=STATUS_LABELS, topics=TOPIC_LABELS,
            audience=audience_text(broadcast.audience, session),
            figures=broadcasts.figures(session, broadcast) if broadcast.status == QUEUED else None,
            image_url=url_for("web.media", kind="broadcasts", name=broadcast.image_name)
            if broadcast.image_name else None,
            schedule_form=schedule_form or ScheduleForm(), error=error,
            demo_image_note=bool(broadcast.image_name) and not services.settings.public_base_url.startswith("https"))
    return render_template("console/broadcasts/detail.html", **context)


def _local_url(settings):
    """Images in the preview come from this site (the CSP allows no other), not from the public address."""
    base = settings.public_base_url.rstrip("/")
    return lambda url: url[len(base):] if base and url.startswith(base + "/") else url


@bp.post("/broadcasts/<int:broadcast_id>/send")
@login_required
def broadcast_send(broadcast_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    services = _services()
    try:
        left = broadcasts.quota_left(services.line)  # before the transaction (broadcasts.queue)
        with services.db.session() as session:
            broadcast = broadcasts.queue(session, broadcast_id, services, left)
            audit("broadcast.send", f"broadcast:{broadcast_id}", session=session,
                  targeted=broadcast.targeted, skipped=broadcast.skipped)
    except broadcasts.BroadcastError as exc:
        return broadcast_detail(broadcast_id, error=exc.message)
    flash("送信を開始しました。配信状況はこの画面で確認できます。", "info")
    return redirect(url_for("console.broadcast_detail", broadcast_id=broadcast_id))


@bp.post("/broadcasts/<int:broadcast_id>/schedule")
@login_required
def broadcast_schedule(broadcast_id: int):
    services = _services()
    form = ScheduleForm()
    if not form.validate_on_submit():
        return broadcast_detail(broadcast_id, schedule_form=form, error="送信日時を確認してください。")
    try:
        at = form.when(services.settings.tz, utcnow())
    except ValueError as exc:
        form.send_at.errors = [str(exc)]
        return broadcast_detail(broadcast_id, schedule_form=form, error=str(exc))
    with services.db.session() as session:
        broadcast = _load(session, broadcast_id)
        if broadcast.status not in (DRAFT, SCHEDULED):
            return broadcast_detail(broadcast_id, error="送信済みまたは取り消した配信は予約できません。")
        broadcast.status, broadcast.scheduled_at = SCHEDULED, at
        audit("broadcast.schedule", f"broadcast:{broadcast_id}", session=session, at=at.isoformat())
    flash("送信を予約しました。予約した時刻になると自動で送信します。", "info")
    return redirect(url_for("console.broadcast_detail", broadcast_id=broadcast_id))


@bp.post("/broadcasts/<int:broadcast_id>/cancel")
@login_required
def broadcast_cancel(broadcast_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        with _services().db.session() as session:
            broadcasts.cancel(session, _load(session, broadcast_id))
            audit("broadcast.cancel", f"broadcast:{broadcast_id}", session=session)
    except broadcasts.BroadcastError as exc:
        return broadcast_detail(broadcast_id, error=exc.message)
    flash("配信を取り消しました。", "info")
    return redirect(url_for("console.broadcast_detail", broadcast_id=broadcast_id))


def _scheduled_panel(session) -> dict:
    rows = session.scalars(select(Broadcast).where(Broadcast.status == SCHEDULED)
                           .order_by(Broadcast.scheduled_at).limit(5)).all()
    return {"items": [{"b": b, "audience": audience_text(b.audience, session)} for b in rows]}


register_panel("scheduled_broadcasts", "配信予定の一斉配信", "console/broadcasts/panel.html", _scheduled_panel)
