"""Synthetic listings: deterministic, plausible for the Omura area, and importable as an office export."""
from __future__ import annotations

import collections
import datetime as dt
import re

import jpholiday
import pytest
import time_machine
from sqlalchemy import select

from bot.jobs import generator, importer, reference
from bot.jobs.catalogue import monthly
from bot.models import Job

TODAY = dt.date(2026, 11, 25)


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return generator.generate(3000, 42, TODAY)


def catalogue_fields(db) -> list[dict]:
    with db.session() as session:
        jobs = session.scalars(select(Job).order_by(Job.job_number)).all()
        return [{name: getattr(j, name) for name in importer.FIELDS} for j in jobs]


def by_number(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: row["job_number"])


def test_the_same_seed_gives_the_same_listings():
    assert generator.generate(300, 7, TODAY) == generator.generate(300, 7, TODAY)
    assert generator.generate(300, 7, TODAY) != generator.generate(300, 8, TODAY)
    assert generator.generate(300, 7, TODAY) != generator.generate(300, 7, TODAY + dt.timedelta(days=1))


def test_listings_have_exactly_the_catalogue_fields(rows):
    assert all(tuple(row) == importer.FIELDS for row in rows)


def test_every_listing_passes_the_import_checks(rows):
    for row in rows:
        fields, problems = importer.validate(row)
        assert problems == [] and fields == row, row["job_number"]


def test_the_area_is_covered_and_weighted_toward_omura(rows):
    places = collections.Counter(row["municipality_code"] for row in rows)
    assert set(places) == set(reference.MUNICIPALITIES)
    assert places.most_common(1)[0][0] == "42205" and places["42205"] > 0.3 * len(rows)
    pottery = {row["municipality_code"] for row in rows if "波佐見焼" in row["occupation"]}
    assert pottery == {"42323", "42322"}
    for row in rows:
        town = reference.MUNICIPALITIES[row["municipality_code"]]
        assert row["work_address"].startswith(f"長崎県{'東彼杵郡' if row['municipality_code'] > '42300' else ''}{town}")


def test_job_numbers_are_unique_and_name_the_receiving_office(rows):
    numbers = [row["job_number"] for row in rows]
    assert len(set(numbers)) == len(numbers)
    for row in rows:
        assert re.fullmatch(r"420[1-4]0-[0-9]{8}", row["job_number"])
        assert row["office"] == generator.OFFICES[row["job_number"][:5]]
        if row["municipality_code"] in reference.OFFICE_AREA:
            assert row["job_number"].startswith("42040-")
    offices = collections.Counter(row["job_number"][:5] for row in rows)
    assert set(offices) == set(generator.OFFICES)


def test_wages_are_plausible_and_never_below_the_minimum_wage(rows):
    for row in rows:
        low, high, unit = row["wage_min"], row["wage_max"], row["wage_unit"]
        assert low <= high
        assert monthly(low, unit) >= monthly(generator.MINIMUM_HOURLY, "時給") == generator.MINIMUM_MONTHLY
        if unit == "時給":
            assert generator.MINIMUM_HOURLY <= low and high <= 1400
        if unit == "月給":
            assert 170_000 <= low and high <= 350_000
        if row["employment_type"] == "パート":
            assert unit == "時給" and row["category"] in ("一般パート", "障害者")
        if row["employment_type"] == "正社員":
            assert unit == "月給"
    units = collections.Counter(row["wage_unit"] for row in rows)
    assert set(units) == {"月給", "日給", "時給"}


def test_dates_follow_the_office_calendar(rows):
    for row in rows:
        received = row["received_on"]
        assert TODAY - dt.timedelta(days=60) <= received < TODAY
        assert received.weekday() < 5 and not jpholiday.is_holiday(received)
        assert row["referral_deadline"] == generator.referral_deadline(received)


@pytest.mark.parametrize("received, deadline", [(dt.date(2026, 11, 25), dt.date(2027, 1, 31)),
                                                (dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
                                                (dt.date(2027, 12, 10), dt.date(2028, 2, 29)),
                                                (dt.date(2026, 1, 5), dt.date(2026, 3, 31))])
def test_referral_deadline_is_the_end_of_the_second_month_after_receipt(received, deadline):
    assert generator.referral_deadline(received) == deadline


def test_the_closed_share(rows):
    assert sum(row["status"] == "無効" for row in rows) == 300
    assert all(row["status"] == "有効" for row in generator.generate(50, 1, TODAY, closed_ratio=0))


def test_occupations_descriptions_and_text(rows):
    for row in rows:
        major, _name = reference.OCCUPATION_MIDDLES[row["occupation_middle"]]
        assert row["occupation_major"] == major
        assert 1 <= row["description"].count("。") <= 3 and row["description"].endswith("。")
        assert re.fullmatch(r"(株式会社|有限会社|社会福祉法人|医療法人|農業生産法人|.+(株式会社|製陶所)$).*",
                            row["company_name"])
        assert re.search(r"[0-9]+時[0-9]{2}分～", row["working_hours"])
        assert row["weekends_off"] == row["days_off"].startswith("土日祝")
        for value in row.values():
            if isinstance(value, str):
                value.encode("cp932")  # a CP932 export must be able to hold every character
    occupations = {row["occupation"] for row in rows}
    for title in ("介護職員", "看護師", "一般事務", "製造オペレーター", "配送ドライバー", "調理補助", "販売スタッフ",
                  "施工管理", "プログラマー", "清掃スタッフ", "施設警備員", "波佐見焼の絵付け", "検品"):
        assert title in occupations


@pytest.mark.parametrize("encoding, named", [("cp932", "Shift_JIS（CP932）"), ("utf-8", "UTF-8（BOM付き）")])
def test_a_generated_export_imports_into_the_same_catalogue(app, db, tmp_path, encoding, named):
    path = tmp_path / "export.csv"
    runner = app.test_cli_runner()
    written = runner.invoke(args=["jobs", "generate", "--count", "400", "--seed", "3", "--today", "2026-11-25",
                                  "--csv", str(path), "--encoding", encoding])
    assert written.exit_code == 0, written.output
    assert "400件の求人を" in written.stdout
    result = runner.invoke(args=["jobs", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert named in result.stderr
    assert result.stdout == "取込 400件（新規 400件 / 更新 0件 / 変更なし 0件）、エラー 0件、無効化 0件\n"
    assert catalogue_fields(db) == by_number(generator.generate(400, 3, TODAY))


def test_generate_command_saves_the_listings_and_a_rerun_changes_nothing(app, db):
    runner = app.test_cli_runner()
    args = ["jobs", "generate", "--count", "150", "--seed", "9", "--today", "2026-11-25"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "150件の架空の求人を登録しました（受付日の基準日 2026/11/25、種 9）" in result.stdout
    assert catalogue_fields(db) == by_number(generator.generate(150, 9, TODAY))
    with db.session() as session:
        before = [dict(row._mapping) for row in session.execute(select(Job.__table__).order_by(Job.id))]
    assert runner.invoke(args=args).exit_code == 0
    with db.session() as session:
        assert [dict(row._mapping) for row in session.execute(select(Job.__table__).order_by(Job.id))] == before


def test_generate_command_takes_today_in_japan(app, db):
    # 16:30 UTC on the 24th is already the 25th in Tokyo.
    with time_machine.travel(dt.datetime(2026, 11, 24, 16, 30, tzinfo=dt.timezone.utc), tick=False):
        result = app.test_cli_runner().invoke(args=["jobs", "generate", "--count", "20", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert catalogue_fields(db) == by_number(generator.generate(20, 1, TODAY))


def test_no_dispatch_work_in_construction_security_or_medical(rows):
    dispatched = {row["occupation_middle"] for row in rows if row["employment_type"] == "有期雇用派遣"}
    assert dispatched and dispatched <= generator.DISPATCH_MIDDLES


def test_generate_if_empty_leaves_an_existing_catalogue_alone(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["jobs", "generate", "--count", "5", "--seed", "3", "--if-empty"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=["jobs", "generate", "--count", "50", "--seed", "4", "--if-empty"])
    assert again.exit_code == 0 and "作成しませんでした" in again.output
    from sqlalchemy import func, select

    from bot.models import Job
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 5
