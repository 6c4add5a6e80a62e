"""The staff console at /console/: sign-in, dashboard, staff accounts and the audit log.

Pages are views on the one blueprint `bp`; a new page module does `from console import bp`, protects
each view with `console.auth.login_required` or `admin_required`, and is imported in `init_app`.
Admin-only pages live under /console/admin/ (tests/console/test_routes.py relies on it).
"""
from __future__ import annotations

from flask import Blueprint, Flask
from werkzeug.middleware.proxy_fix import ProxyFix

bp = Blueprint("console", __name__, url_prefix="/console", static_folder="static")

# No inline scripts or styles anywhere in the console: the stylesheet is a static file and the
# dashboard chart is SVG drawn with attributes, so the policy can stay this strict.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self' data:; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def init_app(app: Flask) -> None:
    from console import admin, applications, auth, booking, booking_admin, broadcasts, cli, dashboard, events, recommendations, views  # noqa: F401 - importing registers the views

    settings = app.extensions["bot"].settings
    app.config.update(
        # Production is served over HTTPS only; the demo runs on plain http://127.0.0.1.
        SESSION_COOKIE_SECURE=not settings.demo,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    # The host (Render, Heroku-like routers, nginx) ends TLS and forwards the request: trust one hop
    # of X-Forwarded-For/-Proto, so that request.is_secure and the client address are right.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
    auth.login_manager.init_app(app)
    app.register_blueprint(bp)
    cli.register(app)


@bp.after_request
def security_headers(response):
    from flask import request

    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    if request.endpoint != "console.static":
        # Pages show personal figures and staff data: never keep them in a shared cache or history.
        response.headers["Cache-Control"] = "no-store"
    return response
