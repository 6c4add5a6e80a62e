"""Flask commands: `flask db upgrade`, `flask dispatcher`, `flask outbox status|retry`."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app


def _services():
    return current_app.extensions["bot"]


def fail(message: str) -> None:
    """One line on stderr and a non-zero exit, for operators."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def register(app: Flask) -> None:
    @app.cli.group("db")
    def db_group():
        """Database schema."""

    @db_group.command("upgrade")
    def db_upgrade():
        """Apply all migrations."""
        try:
            _services().db.migrate()
        except Exception as exc:  # noqa: BLE001 - an operator needs the reason, not a traceback
            fail(f"migration failed: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        click.echo("database is up to date")

    from bot import privacy, scheduler
    from bot.jobs import cli as jobs_cli
    from bot.line import dispatcher
    from richmenus import cli as richmenu_cli

    dispatcher.register_cli(app)
    privacy.register_cli(app)
    scheduler.register_cli(app)
    jobs_cli.register(app)
    richmenu_cli.register(app)
