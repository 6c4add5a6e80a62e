"""Health checks and the bot's own small pages (privacy notice)."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, send_from_directory

from bot import links

bp = Blueprint("web", __name__)

# The pages opened from LINE have no scripts; their one stylesheet is inline in templates/web/base.html.
PAGE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
               "frame-ancestors 'none'; base-uri 'none'")


def page_headers(response):
    """Security headers of the bot's own pages and files (the console sets its own)."""
    response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


bp.after_request(page_headers)


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
