"""Health checks and the bot's own small pages (privacy notice)."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, send_from_directory

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


@bp.get("/media/<any(events, broadcasts):kind>/<name>")
def media(kind: str, name: str):
    """Images uploaded by staff (checked and re-encoded with Pillow when uploaded), which LINE fetches."""
    return send_from_directory(f"{current_app.instance_path}/media/{kind}", name, max_age=3600)
