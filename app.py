"""The Flask application: `create_app()` for tests and tools, `app` for gunicorn and `flask --app app`."""
from __future__ import annotations

import gc
import logging
import sys

from flask import Flask

from bot.config import EMULATOR_MOUNT, PROJECT_ROOT, ConfigError, Settings, load_settings
from bot.db import Database
from bot.line.client import LineClient
from bot.services import Services


def create_app(settings: Settings | None = None, *, migrate: bool = False) -> Flask:
    if settings is None:
        try:
            settings = load_settings()
        except ConfigError as exc:
            # One line naming the variable, then stop: gunicorn and flask both exit on this.
            print(f"configuration error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    app = Flask(__name__, template_folder=str(PROJECT_ROOT / "templates"),
                instance_path=str(PROJECT_ROOT / "instance"))
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=2 * 1024 * 1024,
                      # Forms take WTForms' own Japanese messages (Flask-Babel is not used).
                      WTF_I18N_ENABLED=False)
    app.json.ensure_ascii = False

    from handlers import build_router

    db = Database(settings.database_url)
    if migrate:
        db.migrate()
    services = Services(settings=settings, db=db, line=LineClient(settings), router=build_router())
    app.extensions["bot"] = services

    from flask_wtf.csrf import CSRFProtect

    from bot import cli, search_form, web, webhook

    app.session_interface = webhook.SessionsButNotForLine()
    csrf = CSRFProtect(app)
    csrf.exempt(webhook.bp)  # LINE signs its webhooks instead
    app.register_blueprint(webhook.bp)
    app.register_blueprint(web.bp)
    app.register_blueprint(search_form.bp)
    cli.register(app)
    from console import init_app as init_console
    init_console(app)  # the staff console at /console/ and `flask staff`

    if settings.demo:
        _mount_demo(app, settings)
    return app


def _mount_demo(app: Flask, settings: Settings) -> None:
    """Demo mode serves the LINE emulator in the same process, where the SDK is pointed."""
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from simulator.emulator import create_emulator

    emulator = create_emulator(access_tokens=(settings.channel_access_token,))
    app.extensions["emulator"] = emulator
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {EMULATOR_MOUNT: emulator})

    from simulator import web as simulator_web
    simulator_web.init_app(app)  # the LINE simulator page at /simulator/


def _freeze_startup_objects() -> None:
    """What starting made (modules, models, templates: some 250,000 objects) lives as long as the
    process. Frozen, Python's full garbage collections stop walking it again and again: a web worker's
    full collection took 75-186 ms under load, a pause for every request in flight, and about 3 ms
    frozen. The startup's own garbage is collected first, since frozen objects never are."""
    gc.collect()
    gc.freeze()


def __getattr__(name: str):
    # `app` is built on first use (gunicorn "app:app", flask --app app), so that importing
    # create_app in tests and tools does not start an application from the environment.
    if name == "app":
        value = globals()["app"] = create_app()
        _freeze_startup_objects()
        return value
    raise AttributeError(name)
