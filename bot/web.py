"""Health checks and the bot's own small pages (privacy notice)."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from bot import links

bp = Blueprint("web", __name__)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    if current_app.extensions["bot"].db.ping():
        return {"status": "ok", "database": "ok"}
    return {"status": "unavailable", "database": "unreachable"}, 503


@bp.get("/privacy")
def privacy():
    return render_template("web/privacy.html", links=links)


@bp.get("/media/events/<name>")
def event_image(name: str):
    """Event images uploaded by staff (checked and resized with Pillow when uploaded)."""
    from flask import send_from_directory

    return send_from_directory(current_app.instance_path + "/media/events", name, max_age=3600)
