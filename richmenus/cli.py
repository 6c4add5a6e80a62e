"""`flask richmenu render` and `flask richmenu deploy [--dry-run]`. Staff run these: output is Japanese."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app

from . import definitions, deploy, render


def _stop(message: str) -> None:
    """One line on stderr and exit code 1."""
    click.echo(f"エラー: {message}", err=True)
    sys.exit(1)


def _load(source: Path) -> definitions.Definitions:
    try:
        return definitions.load(source)
    except definitions.DefinitionError as exc:
        _stop(str(exc))


SOURCE = click.option("--source", type=click.Path(dir_okay=False, path_type=Path),
                      default=definitions.SOURCE, show_default=True,
                      help="メニューの定義ファイル（画像は同じフォルダの images/ に置きます）")


def register(app: Flask) -> None:
    @app.cli.group("richmenu")
    def richmenu_group():
        """リッチメニューの画像作成と LINE への登録。"""

    @richmenu_group.command("render")
    @SOURCE
    def render_command(source: Path):
        """定義からメニュー画像（images/<id>.png）と manifest.json を作ります。"""
        defs = _load(source)
        try:
            render.render_all(defs, echo=click.echo)
        except (render.FontMissing, ValueError, OSError) as exc:
            _stop(str(exc))

    @richmenu_group.command("deploy")
    @click.option("--dry-run", is_flag=True, help="確認と予定の表示だけ行い、LINE には接続しません")
    @SOURCE
    def deploy_command(dry_run: bool, source: Path):
        """定義どおりのリッチメニューを LINE に登録します（変更がなければ何もしません）。"""
        defs = _load(source)
        services = current_app.extensions["bot"]
        try:
            if dry_run:
                deploy.dry_run(defs, services.router, click.echo)
            else:
                deploy.deploy(services.line, defs, services.router, click.echo)
        except deploy.DeployError as exc:
            _stop(str(exc))
