"""`flask jobs import`: office exports in their encodings and formats, bad rows, re-imports, --full."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.jobs import importer
from bot.models import Job
from tests.factories import add_jobs, job

DATA = Path(__file__).parent / "data"
SAMPLE_CSV = DATA / "jobs_sample.csv"
HEADER = [c.header for c in importer.COLUMNS]


def run_import(app, *args):
    return app.test_cli_runner().invoke(args=["jobs", "import", *map(str, args)])


def snapshot(db) -> list[dict]:
    """Every column of every listing, timestamps included."""
    with db.session() as session:
        return [dict(row._mapping) for row in session.execute(select(Job.__table__).order_by(Job.job_number))]


def fields_of(db) -> list[dict]:
    return [{name: row[name] for name in importer.FIELDS} for row in snapshot(db)]


def expected_sample() -> list[dict]:
    """The sample listings as the catalogue should hold them, spelt out in the English-keyed file."""
    rows = [json.loads(line) for line in (DATA / "jobs_sample_en.jsonl").read_text("utf-8").splitlines()]
    for row in rows:
        for name in ("received_on", "referral_deadline"):
            row[name] = row[name] and dt.date.fromisoformat(row[name])
    return sorted(rows, key=lambda row: row["job_number"])


def good_row(**overrides) -> dict:
    """One valid listing keyed by the Japanese column names."""
    row = {
        "求人番号": "42040-00000001", "受理安定所": "ハローワーク大村", "事業所名": "株式会社テスト工業",
        "事業所所在地": "長崎県大村市森園町1番地", "職種": "製造オペレーター", "職業分類(大分類)": "H",
        "職業分類(中分類)": "53", "仕事内容": "製造ラインの機械を操作します。", "雇用形態": "正社員",
        "求人区分": "一般フルタイム", "就業場所(都道府県)": "長崎県", "就業場所(市区町村コード)": "42205",
        "就業場所(住所)": "長崎県大村市森園町1番地", "賃金(下限)": "180,000", "賃金(上限)": "220,000",
        "賃金形態": "月給", "就業時間": "8時30分～17時30分", "交替制": "固定", "休日": "土日祝",
        "土日祝休み": "○", "年齢制限": "不問", "受付年月日": "2026/11/20", "紹介期限日": "2027/01/31",
        "オンライン自主応募": "可", "求人状態": "有効",
    }
    row.update(overrides)
    return row


def write_rows(path: Path, rows: list[dict], header=HEADER, encoding="utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(name, "") for name in header])
    return path


def csv_line(cells) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


def read_report(path: Path) -> list[dict]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM, so that Excel reads UTF-8
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


# --- formats and encodings -------------------------------------------------------------------------

@pytest.mark.parametrize("codec, named", [("utf-8-sig", "UTF-8（BOM付き）"), ("utf-8", "UTF-8"),
                                          ("cp932", "Shift_JIS（CP932）")])
def test_csv_in_each_encoding_imports_the_same_listings(app, db, tmp_path, codec, named):
    path = tmp_path / "jobs.csv"
    path.write_bytes(SAMPLE_CSV.read_text("utf-8").encode(codec))
    result = run_import(app, path)
    assert result.exit_code == 0, result.output
    assert f"{named} の CSV として読み込みます" in result.stderr
    assert result.stdout.splitlines()[0] == \
        "取込 4件（新規 4件 / 更新 0件 / 変更なし 0件）、エラー 0件、無効化 0件"
    assert fields_of(db) == expected_sample()


def test_the_encoding_can_be_named(app, db, tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_bytes(SAMPLE_CSV.read_text("utf-8").encode("cp932"))
    result = run_import(app, path, "--encoding", "CP932", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert fields_of(db) == expected_sample()


@pytest.mark.parametrize("name", ["jobs_sample.jsonl", "jobs_sample_en.jsonl"])
def test_json_lines_with_japanese_or_english_keys(app, db, name):
    result = run_import(app, DATA / name)
    assert result.exit_code == 0, result.output
    assert "UTF-8 の JSON Lines として読み込みます" in result.stderr
    assert fields_of(db) == expected_sample()


def test_sample_values_are_normalised(app, db):
    assert run_import(app, SAMPLE_CSV).exit_code == 0
    rows = {row["job_number"]: row for row in fields_of(db)}
    care = rows["42040-00001234"]  # written as ４２０４０－００００１２３４ with 令和 dates and 423211
    assert (care["municipality_code"], care["wage_min"], care["wage_max"]) == ("42321", 1050, 1050)
    assert (care["received_on"], care["referral_deadline"]) == (dt.date(2026, 11, 18), dt.date(2027, 1, 31))
    assert care["status"] == "有効" and care["weekends_off"] is False
    assert rows["42040-12345678"]["description"] == "食品工場で製造ラインの機械を操作します。\n夜勤はありません。"
    cleaner = rows["42040-00000099"]  # パート労働者 / パート / 時間額 / 20261101
    assert (cleaner["employment_type"], cleaner["category"], cleaner["wage_unit"]) == ("パート", "一般パート", "時給")
    assert cleaner["received_on"] == dt.date(2026, 11, 1) and cleaner["company_address"] is None


# --- bad rows --------------------------------------------------------------------------------------

BAD_ROWS = [  # (overrides, column, reason) — each becomes one row of the file, from row 3 on
    ({"事業所名": ""}, "事業所名", "必須項目が入力されていません"),
    ({"雇用形態": "アルバイト"}, "雇用形態", "次のいずれかで入力してください: 正社員、正社員以外、パート"),
    ({"職業分類(大分類)": "Z"}, "職業分類(大分類)", "大分類は A〜K の記号"),
    ({"職業分類(中分類)": "36"}, "職業分類(中分類)", "中分類 36（介護サービスの職業）は大分類 E に属します"),
    ({"受付年月日": "2026/02/30"}, "受付年月日", "存在しない日付です"),
    ({"受付年月日": "11月20日"}, "受付年月日", "日付は 2026/11/25、2026-11-25 または 令和8年11月25日 の形で"),
    ({"賃金(下限)": "300,000", "賃金(上限)": "200,000"}, "賃金(上限)", "賃金(下限) 300,000円 より小さくなっています"),
    ({"紹介期限日": "2026/11/19"}, "紹介期限日", "受付年月日 2026/11/20 より前の日付です"),
    ({"事業所名": "株" * 201}, "事業所名", "200文字以内で入力してください（201文字あります）"),
    ({"求人番号": "42040-1234"}, "求人番号", "「42040-12345678」の形（数字5桁-8桁）"),
    ({"賃金(下限)": "25万"}, "賃金(下限)", "金額は数字で入力してください（例: 250,000）（入力値: 25万）"),
    ({"賃金(下限)": "0"}, "賃金(下限)", "金額は1円以上で入力してください"),
    ({"土日祝休み": "たぶん"}, "土日祝休み", "可/不可、有/無、○/×、はい/いいえ、1/0"),
    ({"就業場所(市区町村コード)": "大村"}, "就業場所(市区町村コード)", "5桁の数字で入力してください"),
    ({"事業所名": "株式会社\x00テスト"}, "事業所名", "使用できない制御文字が含まれています（入力値: 株式会社\\x00テスト）"),
]


def test_each_bad_row_is_reported_and_the_good_rows_are_saved(app, db, tmp_path):
    rows = [good_row()]
    rows += [good_row(**{"求人番号": f"42040-{10 + i:08d}", **overrides}) for i, (overrides, _, _) in
             enumerate(BAD_ROWS)]
    rows += [good_row(**{"求人番号": "42040-00000002"})]
    report = tmp_path / "report.csv"
    result = run_import(app, write_rows(tmp_path / "jobs.csv", rows), "--report", report)

    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[0] == \
        f"取込 2件（新規 2件 / 更新 0件 / 変更なし 0件）、エラー {len(BAD_ROWS)}件、無効化 0件"
    problems = read_report(report)
    assert len(problems) == len(BAD_ROWS)
    for problem, (row, (_, column, reason)) in zip(problems, enumerate(BAD_ROWS, start=3)):
        assert (problem["行"], problem["項目"], problem["区分"]) == (str(row), column, "エラー")
        assert reason in problem["内容"]
    assert problems[0]["求人番号"] == "42040-00000010"
    assert "3行目（求人番号 42040-00000010） [エラー] 事業所名: 必須項目が入力されていません" in result.stdout
    assert [row["job_number"] for row in fields_of(db)] == ["42040-00000001", "42040-00000002"]


def test_row_numbers_count_records_as_excel_shows_them(app, db, tmp_path):
    rows = [good_row(**{"仕事内容": "一行目\n二行目\n三行目"}), {}, good_row(**{"求人番号": "42040-00000002",
                                                                               "賃金形態": "年俸"})]
    result = run_import(app, write_rows(tmp_path / "jobs.csv", rows))
    assert result.exit_code == 1
    assert "4行目（求人番号 42040-00000002） [エラー] 賃金形態: 次のいずれかで入力してください: 月給、日給、時給" in result.stdout


def test_extra_cells_and_unknown_columns(app, db, tmp_path):
    path = tmp_path / "jobs.csv"
    header = HEADER + ["備考"]
    path.write_text(csv_line(header) + csv_line([*good_row().values(), "メモ"])
                    + csv_line([*good_row(**{"求人番号": "42040-00000002"}).values(), "メモ", "余分"]), encoding="utf-8")
    result = run_import(app, path)
    assert result.exit_code == 1
    assert "1行目 [警告] 備考: この列は取り込みの対象外です" in result.stdout
    assert "3行目 [エラー] 行全体: 見出し行より列が多くなっています" in result.stdout
    assert len(fields_of(db)) == 1


def test_unknown_municipality_and_middle_group_are_warnings(app, db, tmp_path):
    rows = [good_row(**{"就業場所(市区町村コード)": "42203", "職業分類(中分類)": "54"})]
    result = run_import(app, write_rows(tmp_path / "jobs.csv", rows))
    assert result.exit_code == 0, result.output
    assert "2行目（求人番号 42040-00000001） [警告] 就業場所(市区町村コード): 市区町村コード 42203 は管内・近隣の一覧にありません" in result.stdout
    assert "2行目（求人番号 42040-00000001） [警告] 職業分類(中分類): 中分類 54 は参照表にありません" in result.stdout
    assert fields_of(db)[0]["municipality_code"] == "42203"


def test_json_lines_bad_lines(app, db, tmp_path):
    path = tmp_path / "jobs.jsonl"
    good = {"job_number": "42040-00000001", **{k: v for k, v in good_row().items() if k != "求人番号"}}
    path.write_text("\n".join([json.dumps(good, ensure_ascii=False), "{broken", "[1, 2]",
                               json.dumps({**good, "job_number": "42040-00000002", "memo": "x"},
                                          ensure_ascii=False)]) + "\n", encoding="utf-8")
    result = run_import(app, path)
    assert result.exit_code == 1
    assert "2行目 [エラー] 行全体: JSON として読めません（2文字目付近）" in result.stdout
    assert "3行目 [エラー] 行全体: 1行に1つの JSON オブジェクト" in result.stdout
    assert "4行目 [警告] memo: この項目名は取り込みの対象外です" in result.stdout
    assert len(fields_of(db)) == 2


def test_a_repeated_job_number_keeps_the_later_row(app, db, tmp_path):
    rows = [good_row(), good_row(**{"求人番号": "42040-00000002"}), good_row(**{"賃金(下限)": "200,000"})]
    result = run_import(app, write_rows(tmp_path / "jobs.csv", rows))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("取込 2件（新規 2件 / 更新 0件 / 変更なし 0件）")
    assert "4行目（求人番号 42040-00000001） [警告] 求人番号: 2行目と同じ求人番号です（後の行の内容で取り込みます）" in result.stdout
    assert fields_of(db)[0]["wage_min"] == 200_000


def test_a_repeated_job_number_across_batches_counts_once(db, tmp_path):
    rows = [good_row(), good_row(**{"求人番号": "42040-00000002"}), good_row(**{"賃金(下限)": "200,000"})]
    source = importer.open_file(write_rows(tmp_path / "jobs.csv", rows))
    result = importer.run(db, source, batch_size=1)
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert fields_of(db)[0]["wage_min"] == 200_000


# --- re-import and --full --------------------------------------------------------------------------

def test_importing_the_same_file_again_changes_nothing(app, db):
    assert run_import(app, SAMPLE_CSV).exit_code == 0
    before = snapshot(db)
    result = run_import(app, SAMPLE_CSV)
    assert result.exit_code == 0
    assert result.stdout.startswith("取込 4件（新規 0件 / 更新 0件 / 変更なし 4件）")
    assert snapshot(db) == before  # ids, updated_at and status_changed_at included


def test_a_changed_listing_is_updated_without_moving_its_status_time(app, db, tmp_path):
    first = write_rows(tmp_path / "a.csv", [good_row(), good_row(**{"求人番号": "42040-00000002"})])
    assert run_import(app, first).exit_code == 0
    before = {row["job_number"]: row for row in snapshot(db)}
    second = write_rows(tmp_path / "b.csv", [good_row(**{"賃金(上限)": "240,000"}),
                                             good_row(**{"求人番号": "42040-00000002"})])
    result = run_import(app, second)
    assert result.stdout.startswith("取込 2件（新規 0件 / 更新 1件 / 変更なし 1件）")
    after = {row["job_number"]: row for row in snapshot(db)}
    changed = after["42040-00000001"]
    assert changed["wage_max"] == 240_000 and changed["wage_monthly_max"] == 240_000
    assert changed["status_changed_at"] == before["42040-00000001"]["status_changed_at"]
    assert changed["updated_at"] > before["42040-00000001"]["updated_at"]
    assert after["42040-00000002"] == before["42040-00000002"]


def test_full_import_closes_only_the_absent_open_listings(app, db, tmp_path):
    assert run_import(app, SAMPLE_CSV).exit_code == 0
    add_jobs(db, job(job_number="42040-90000001"), job(job_number="42040-90000002"),
             job(job_number="42040-90000003", status="無効"), job(job_number="42040-90000004"))
    before = {row["job_number"]: row for row in snapshot(db)}
    # The file has the four sample listings and a rejected row for 42040-90000004: a typo in a row must
    # not make its listing disappear.
    path = tmp_path / "full.csv"
    path.write_text(SAMPLE_CSV.read_text("utf-8")
                    + csv_line(good_row(**{"求人番号": "42040-90000004", "賃金形態": "年俸"}).values()), encoding="utf-8")

    result = run_import(app, path, "--full")
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("取込 4件（新規 0件 / 更新 0件 / 変更なし 4件）、エラー 1件、無効化 2件")
    after = {row["job_number"]: row for row in snapshot(db)}
    closed = {"42040-90000001", "42040-90000002"}
    for number, row in after.items():
        if number in closed:
            assert row["status"] == "無効"
            assert row["status_changed_at"] > before[number]["status_changed_at"]
        else:
            assert row == before[number], number


# --- files that cannot be used ---------------------------------------------------------------------

def _unusable_files(tmp_path: Path) -> dict[str, tuple[Path, list[str], str]]:
    sample = SAMPLE_CSV.read_text("utf-8")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\xfd\xfc" * 10)
    (tmp_path / "sjis.csv").write_bytes(sample.encode("cp932"))
    (tmp_path / "bom.csv").write_bytes(sample.encode("utf-8-sig"))
    write_rows(tmp_path / "columns.csv", [good_row()], header=[h for h in HEADER if h not in ("職種", "賃金形態")])
    (tmp_path / "twice.csv").write_text("求人番号,求人番号\n", encoding="utf-8")
    (tmp_path / "jobs.jsonl").write_text(sample, encoding="utf-8")
    (tmp_path / "lines.csv").write_text((DATA / "jobs_sample.jsonl").read_text("utf-8"), encoding="utf-8")
    (tmp_path / "empty.csv").write_text(",".join(HEADER) + "\n", encoding="utf-8")
    (tmp_path / "nothing.csv").write_bytes(b"")
    return {
        "missing": (tmp_path / "nowhere.csv", [], "ファイルが見つかりません"),
        "binary": (tmp_path / "binary.csv", [], "文字コードを判別できません"),
        "wrong encoding": (tmp_path / "sjis.csv", ["--encoding", "utf-8"],
                           "UTF-8 として読めません（1バイト目）。--encoding cp932 をお試しください"),
        "bom as cp932": (tmp_path / "bom.csv", ["--encoding", "cp932"], "UTF-8（BOM付き）です。--encoding cp932 を外して"),
        "missing columns": (tmp_path / "columns.csv", [], "必須の列がありません: 職種、賃金形態"),
        "column twice": (tmp_path / "twice.csv", [], "列「求人番号」が2つあります"),
        "csv as jsonl": (tmp_path / "jobs.jsonl", [], "JSON Lines として読めません"),
        "jsonl as csv": (tmp_path / "lines.csv", ["--format", "csv"], "CSV として読めません（JSON Lines のようです）"),
        "no header": (tmp_path / "nothing.csv", [], "1行目に見出し行"),
        "full without rows": (tmp_path / "empty.csv", [], "データ行が1件もないため"),
    }


@pytest.mark.parametrize("case", ["missing", "binary", "wrong encoding", "bom as cp932", "missing columns",
                                  "column twice", "csv as jsonl", "jsonl as csv", "no header", "full without rows"])
def test_an_unusable_file_exits_2_with_one_line_and_writes_nothing(app, db, tmp_path, case):
    add_jobs(db, job(job_number="42040-90000001"))
    before = snapshot(db)
    path, options, message = _unusable_files(tmp_path)[case]
    result = run_import(app, path, "--full", *options)  # --full: not even closing may happen
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("エラー: ")
    assert message in result.stderr
    assert snapshot(db) == before


# --- values ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("written", ["2026/11/25", "2026-11-25", "2026.11.25", "2026/11/25 0:00", "20261125",
                                     "２０２６／１１／２５", "2026年11月25日", "令和8年11月25日", "令和８年１１月２５日",
                                     "R8.11.25", "2026-11-25T00:00:00"])
def test_dates(written):
    assert importer.date(written) == dt.date(2026, 11, 25)


def test_first_year_of_an_era():
    assert importer.date("令和元年5月1日") == dt.date(2019, 5, 1)
    assert importer.date("平成31年4月30日") == dt.date(2019, 4, 30)


@pytest.mark.parametrize("written, number", [("250,000", 250_000), ("２５０，０００", 250_000), ("250000円", 250_000),
                                             ("¥1,050", 1_050), (1031, 1031), (180000.0, 180_000)])
def test_amounts(written, number):
    assert importer.amount(written) == number


@pytest.mark.parametrize("written", ["可", "有", "○", "〇", "はい", "true", "TRUE", "1", "あり", True, 1])
def test_true_words(written):
    assert importer.boolean(written) is True


@pytest.mark.parametrize("written", ["不可", "無", "×", "いいえ", "false", "0", "なし", False, 0])
def test_false_words(written):
    assert importer.boolean(written) is False


@pytest.mark.parametrize("written", ["42040-12345678", "4204012345678", "４２０４０－１２３４５６７８", "42040ー12345678",
                                     " 42040 12345678 ", 4204012345678])
def test_job_numbers(written):
    assert importer.job_number(written) == "42040-12345678"


@pytest.mark.parametrize("written, code", [("42205", "42205"), ("422053", "42205"), ("４２２０５", "42205"),
                                           ("大村市", "42205"), (42321, "42321")])
def test_municipality_codes(written, code):
    assert importer.municipality_code(written) == code


def test_a_six_digit_code_with_a_wrong_check_digit_is_refused():
    with pytest.raises(importer.Invalid, match="検査数字"):
        importer.municipality_code("422054")
