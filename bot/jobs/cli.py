"""`flask jobs import FILE` and `flask jobs generate`: the catalogue from an office export, or made up.

Staff run these, so what they print is Japanese. Exit codes of import: 0 every row saved, 1 some rows
rejected (the others saved), 2 the file could not be used at all (nothing written).
"""
from __future__ import annotations

import csv
import datetime as dt
import itertools
import sys
from pathlib import Path

import click
from flask import Flask, current_app

from sqlalchemy import select

from bot.jobs import generator, importer
from bot.models import Job

SHOWN_PROBLEMS = 100  # lines printed after the summary; --report keeps all of them
EXIT_REJECTED = 1
EXIT_UNUSABLE = 2


def _stop(message: str) -> None:
    """One line on stderr and exit code 2: the file could not be used, nothing was written."""
    click.echo(f"エラー: {message}", err=True)
    sys.exit(EXIT_UNUSABLE)


def register(app: Flask) -> None:
    @app.cli.group("jobs")
    def jobs_group():
        """求人票の取込とデモ用データの作成。"""

    @jobs_group.command("import")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--format", "format_", type=click.Choice(["csv", "jsonl"]),
                  help="ファイル形式（省略時は拡張子と内容から判断: .jsonl/.json は JSON Lines、それ以外は CSV）")
    @click.option("--encoding", type=click.Choice(["utf-8", "cp932"], case_sensitive=False),
                  help="文字コード（省略時は BOM・UTF-8 を確かめ、読めなければ Shift_JIS（CP932））")
    @click.option("--full", is_flag=True,
                  help="全件の取込として扱い、ファイルにない有効求人を「無効」にします")
    @click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
                  help="エラーと警告の一覧を CSV（Excel で開ける UTF-8 BOM 付き）で保存します")
    def import_command(file: Path, format_: str | None, encoding: str | None, full: bool,
                       report_path: Path | None):
        """求人票のファイル（CSV または JSON Lines）を取り込みます。"""
        db = current_app.extensions["bot"].db
        try:
            source = importer.open_file(file, format_, encoding and encoding.lower())
        except importer.FileError as exc:
            _stop(str(exc))
        if full and source.is_empty():
            _stop("データ行が1件もないため、--full による無効化は行いませんでした")
        kind = "CSV" if source.format == "csv" else "JSON Lines"
        click.echo(f"{file.name} を {source.encoding_name} の {kind} として読み込みます", err=True)
        with click.progressbar(length=source.lines, label="取込中", file=sys.stderr) as bar:
            try:
                result = importer.run(db, source, full=full, progress=lambda lines: bar.update(lines - bar.pos))
            except importer.FileError as exc:
                _stop(str(exc))
        db.analyze()  # a large import changes what the search planner should choose
        click.echo(result.summary())
        _print_problems(result.problems, report_path)
        if report_path:
            try:
                _write_report(report_path, result.problems)
            except OSError as exc:  # the import itself is done; say so rather than show a traceback
                click.echo(f"エラー: 結果の CSV を保存できませんでした: {report_path}（{exc.strerror}）", err=True)
        sys.exit(EXIT_REJECTED if result.rejected else 0)

    @jobs_group.command("generate")
    @click.option("--count", type=click.IntRange(1, 1_000_000), required=True, help="作る求人の件数")
    @click.option("--seed", type=int, required=True, help="乱数の種（同じ種・件数・日付なら同じ求人になります）")
    @click.option("--closed-ratio", type=click.FloatRange(0, 1), default=0.1, show_default=True,
                  help="「無効」にする求人の割合")
    @click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]),
                  help="受付日の基準日（省略時は日本時間の今日）")
    @click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
                  help="データベースには入れず、取込用の CSV ファイルに書き出します")
    @click.option("--encoding", type=click.Choice(["utf-8", "cp932"], case_sensitive=False), default="utf-8",
                  show_default=True, help="--csv の文字コード（UTF-8 は BOM 付き）")
    @click.option("--if-empty", is_flag=True, help="求人がすでに登録されていれば何もしません（デモの初期化用）")
    def generate_command(count: int, seed: int, closed_ratio: float, today: dt.datetime | None,
                         csv_path: Path | None, encoding: str, if_empty: bool):
        """デモ・試験用の架空の求人（大村周辺）を作ります。"""
        services = current_app.extensions["bot"]
        if if_empty and not csv_path:
            with services.db.session() as session:
                if session.scalar(select(Job.id).limit(1)) is not None:
                    click.echo("求人がすでに登録されているため、作成しませんでした")
                    return
        day = today.date() if today else dt.datetime.now(services.settings.tz).date()
        rows = generator.iter_generate(count, seed, day, closed_ratio)
        if csv_path:
            written = importer.write_csv(csv_path, rows, encoding.lower())
            click.echo(f"{written:,}件の求人を {csv_path} に書き出しました")
            return
        saved = 0
        with click.progressbar(length=count, label="作成中", file=sys.stderr) as bar:
            while batch := list(itertools.islice(rows, importer.BATCH_SIZE)):
                with services.db.session() as session:
                    importer.save(session, batch)
                saved += len(batch)
                bar.update(len(batch))
        services.db.analyze()
        click.echo(f"{saved:,}件の架空の求人を登録しました（受付日の基準日 {day:%Y/%m/%d}、種 {seed}）")


def _print_problems(problems: list[importer.Problem], report_path: Path | None) -> None:
    for problem in problems[:SHOWN_PROBLEMS]:
        click.echo(format_problem(problem))
    if len(problems) > SHOWN_PROBLEMS:
        rest = len(problems) - SHOWN_PROBLEMS
        where = f"{report_path} に保存しました" if report_path else "--report で CSV に保存できます"
        click.echo(f"…ほか {rest:,}件（すべての内容は {where}）")


def format_problem(problem: importer.Problem) -> str:
    number = f"（求人番号 {problem.job_number}）" if problem.job_number else ""
    return f"{problem.row}行目{number} [{problem.level}] {problem.column}: {problem.message}"


def _write_report(path: Path, problems: list[importer.Problem]) -> None:
    # UTF-8 with BOM: Excel on Windows opens it with the right characters.
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["行", "求人番号", "項目", "区分", "内容"])
        for p in problems:
            writer.writerow([p.row, p.job_number, p.column, p.level, p.message])
