"""Importing listings from a file: reading CSV or JSON Lines, checking each row, saving the good ones.

The command line (bot.jobs.cli) only prints what this module returns. Every message here is read by
office staff fixing their export, so it is Japanese and names the column as it appears in the file.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import select

from bot.jobs import catalogue, reference
from bot.models import Job
from bot.models.job import OPEN

ERROR = "エラー"
WARNING = "警告"
WHOLE_ROW = "行全体"
BATCH_SIZE = 1000
# The largest wage accepted: its monthly equivalent (x168 for 時給) must still fit a 32-bit integer column.
MAX_WAGE = 9_999_999


class FileError(Exception):
    """The file as a whole cannot be imported (exit code 2). Raised before anything is written."""


class Invalid(ValueError):
    """One value is wrong; the message is shown to staff as it is."""


# --- values -------------------------------------------------------------------------------------------

def _nfkc(text: str) -> str:
    # Full-width digits, letters and brackets become half-width: "２５０，０００" -> "250,000".
    return unicodedata.normalize("NFKC", text)


def _plain(value: Any) -> str:
    """A cell as stripped text. JSON Lines values may be numbers or booleans rather than strings."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, dict)):
        raise Invalid("文字列か数値で指定してください")
    return str(value).strip()


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text(limit: int | None) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        result = _plain(value).replace("\r\n", "\n").replace("\r", "\n")
        # PostgreSQL refuses NUL in text, and other control characters are export damage.
        if _CONTROL.search(result):
            raise Invalid("使用できない制御文字が含まれています")
        if limit is not None and len(result) > limit:
            raise Invalid(f"{limit}文字以内で入力してください（{len(result)}文字あります）")
        return result
    return parse


_DASHES = re.compile(r"[\s\-‐‑‒–—―−ー]")


def job_number(value: Any) -> str:
    digits = _DASHES.sub("", _nfkc(_plain(value)))
    if not re.fullmatch(r"[0-9]{13}", digits):
        raise Invalid("求人番号は「42040-12345678」の形（数字5桁-8桁）で入力してください")
    return f"{digits[:5]}-{digits[5:]}"


def amount(value: Any) -> int:
    if isinstance(value, bool):
        raise Invalid("金額は数字で入力してください（例: 250,000）")
    digits = re.sub(r"[,\s円¥\\]", "", _nfkc(_plain(value)))
    if not re.fullmatch(r"-?[0-9]+", digits):
        raise Invalid("金額は数字で入力してください（例: 250,000）")
    number = int(digits)
    if number <= 0:
        raise Invalid("金額は1円以上で入力してください")
    if number > MAX_WAGE:
        raise Invalid(f"金額が大きすぎます（{MAX_WAGE:,}円まで）")
    return number


_TRUE = {"可", "有", "あり", "○", "〇", "◯", "はい", "true", "yes", "1"}
_FALSE = {"不可", "無", "なし", "×", "✕", "x", "いいえ", "false", "no", "0"}


def boolean(value: Any) -> bool:
    word = _nfkc(_plain(value)).replace(" ", "").lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise Invalid("可/不可、有/無、○/×、はい/いいえ、1/0 のいずれかで入力してください")


_ERAS = {"令和": 2018, "R": 2018, "平成": 1988, "H": 1988}  # year 1 of the era is this + 1
_WESTERN = re.compile(r"([0-9]{4})[/.\-年]([0-9]{1,2})[/.\-月]([0-9]{1,2})日?")
_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_JAPANESE = re.compile(r"(令和|平成|R|H)(元|[0-9]{1,2})[/.\-年]([0-9]{1,2})[/.\-月]([0-9]{1,2})日?")
_TIME = re.compile(r"[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$")  # Excel and ISO add a time


def date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    written = _TIME.sub("", _nfkc(_plain(value))).replace(" ", "").upper()
    if match := _WESTERN.fullmatch(written) or _COMPACT.fullmatch(written):
        year, month, day = (int(part) for part in match.groups())
    elif match := _JAPANESE.fullmatch(written):
        era, year, month, day = match.groups()
        year = _ERAS[era] + (1 if year == "元" else int(year))
        month, day = int(month), int(day)
    else:
        raise Invalid("日付は 2026/11/25、2026-11-25 または 令和8年11月25日 の形で入力してください")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise Invalid("存在しない日付です") from None


def choice(values: Iterable[str], aliases: dict[str, str] | None = None) -> Callable[[Any], str]:
    # Compared in NFKC so that half-width katakana and full-width brackets match; stored as spelt here.
    known = {_nfkc(v): v for v in values}
    known.update({_nfkc(k): v for k, v in (aliases or {}).items()})
    listed = "、".join(dict.fromkeys(values))

    def parse(value: Any) -> str:
        word = _nfkc(_plain(value)).replace(" ", "")
        if word not in known:
            raise Invalid(f"次のいずれかで入力してください: {listed}")
        return known[word]
    return parse


employment_type = choice(reference.EMPLOYMENT_TYPES, {
    "パート労働者": "パート", "有期雇用派遣労働者": "有期雇用派遣", "無期雇用派遣労働者": "無期雇用派遣"})
category = choice(reference.CATEGORIES, {
    "一般(フルタイム)": "一般フルタイム", "一般(パート)": "一般パート", "フルタイム": "一般フルタイム",
    "パート": "一般パート", "障害者求人": "障害者"})
wage_unit = choice(catalogue.WAGE_UNITS, {"月額": "月給", "日額": "日給", "時間額": "時給", "時間給": "時給"})
status = choice(reference.STATUSES)
_shift_words = choice(reference.SHIFT_TYPES, {"交代制": "交替制", "シフト": "シフト制"})


def shift_type(value: Any) -> str:
    """The model's own words, or yes/no as in a 交替制 あり/なし column."""
    try:
        return _shift_words(value)
    except Invalid:
        pass
    try:
        return "交替制" if boolean(value) else "固定"
    except Invalid:
        raise Invalid("固定・交替制・シフト制、または 有/無 で入力してください") from None


def occupation_major(value: Any) -> str:
    written = _nfkc(_plain(value))
    if match := re.match(r"([A-Ka-k])(?![A-Za-z])", written):  # "E", "e", "E サービスの職業"
        return match.group(1).upper()
    for code, name in reference.OCCUPATION_MAJORS.items():
        if written == _nfkc(name):
            return code
    raise Invalid("大分類は A〜K の記号（例: E）か大分類名で入力してください")


def occupation_middle(value: Any) -> str:
    written = _nfkc(_plain(value))
    if match := re.match(r"([0-9]{1,2})(?![0-9])", written):  # "36", "5", "36 介護サービスの職業"
        number = int(match.group(1))
        if 1 <= number <= 73:
            return f"{number:02d}"
    for code, (_major, name) in reference.OCCUPATION_MIDDLES.items():
        if written == _nfkc(name):
            return code
    raise Invalid("中分類は 01〜73 の番号（例: 36）で入力してください")


_MUNICIPALITY_NAMES = {name: code for code, name in reference.MUNICIPALITIES.items()}


def municipality_code(value: Any) -> str:
    written = _nfkc(_plain(value)).replace(" ", "")
    if written in _MUNICIPALITY_NAMES:
        return _MUNICIPALITY_NAMES[written]
    if re.fullmatch(r"[0-9]{6}", written):
        # The six-digit form (全国地方公共団体コード) ends in a check digit; the catalogue keeps five.
        weighted = sum(int(d) * w for d, w in zip(written[:5], (6, 5, 4, 3, 2)))
        if (11 - weighted % 11) % 10 != int(written[5]):
            raise Invalid("6桁の市区町村コードの検査数字（末尾）が合いません")
        return written[:5]
    if not re.fullmatch(r"[0-9]{5}", written):
        raise Invalid("市区町村コードは5桁の数字で入力してください（例: 大村市 42205）")
    return written


# --- columns ------------------------------------------------------------------------------------------

class Column(NamedTuple):
    header: str  # as the office export names it
    field: str  # Job attribute
    parse: Callable[[Any], Any]
    required: bool
    aliases: tuple[str, ...] = ()


COLUMNS = (
    Column("求人番号", "job_number", job_number, True),
    Column("受理安定所", "office", text(40), True, ("受理安定所名", "安定所")),
    Column("事業所名", "company_name", text(200), True, ("事業所名称", "会社名")),
    Column("事業所所在地", "company_address", text(300), False, ("所在地",)),
    Column("職種", "occupation", text(200), True),
    Column("職業分類(大分類)", "occupation_major", occupation_major, True, ("大分類",)),
    Column("職業分類(中分類)", "occupation_middle", occupation_middle, False, ("中分類",)),
    Column("仕事内容", "description", text(None), False, ("仕事の内容",)),
    Column("雇用形態", "employment_type", employment_type, True),
    Column("求人区分", "category", category, True),
    Column("就業場所(都道府県)", "prefecture", text(8), True, ("都道府県",)),
    Column("就業場所(市区町村コード)", "municipality_code", municipality_code, True, ("市区町村コード",)),
    Column("就業場所(住所)", "work_address", text(300), False, ("就業場所",)),
    Column("賃金(下限)", "wage_min", amount, True, ("賃金下限", "賃金(下限額)")),
    Column("賃金(上限)", "wage_max", amount, False, ("賃金上限", "賃金(上限額)")),
    Column("賃金形態", "wage_unit", wage_unit, True, ("賃金形態等",)),
    Column("就業時間", "working_hours", text(200), False),
    Column("交替制", "shift_type", shift_type, False, ("交代制", "勤務形態")),
    Column("休日", "days_off", text(100), False, ("休日等",)),
    Column("土日祝休み", "weekends_off", boolean, False),
    Column("年齢制限", "age_limit", text(60), False),
    Column("受付年月日", "received_on", date, True, ("受付日",)),
    Column("紹介期限日", "referral_deadline", date, False, ("紹介期限",)),
    Column("オンライン自主応募", "online_application", boolean, False, ("オンライン自主応募可",)),
    Column("求人状態", "status", status, False, ("状態",)),
)
FIELDS = tuple(c.field for c in COLUMNS)
HEADERS = {c.field: c.header for c in COLUMNS}
# What an empty optional cell means (賃金(上限) empty: a single amount, so the same as 賃金(下限)).
DEFAULTS = {"description": "", "weekends_off": False, "online_application": False, "status": OPEN}


def _key(name: str) -> str:
    # Headers are matched ignoring width, spaces and letter case: "職業分類（大分類）" = "職業分類(大分類)".
    return re.sub(r"\s", "", _nfkc(name)).lower()


_KEYS = {_key(name): c.field for c in COLUMNS for name in (c.header, c.field, *c.aliases)}


def _short(value: Any) -> str:
    shown = _plain(value) if not isinstance(value, (list, dict)) else json.dumps(value, ensure_ascii=False)
    shown = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", shown)  # visible, not sent to the terminal
    return shown if len(shown) <= 20 else shown[:20] + "…"


def validate(raw: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """Checks one row (field -> value as read). Returns the Job fields and (level, field, message) problems;
    the row is rejected when any problem is an error. Fields that failed are left out of the dict."""
    fields: dict[str, Any] = {}
    problems: list[tuple[str, str, str]] = []
    for column in COLUMNS:
        value = raw.get(column.field)
        if is_blank(value):
            if column.required:
                problems.append((ERROR, column.field, "必須項目が入力されていません"))
            else:
                fields[column.field] = DEFAULTS.get(column.field)
            continue
        try:
            fields[column.field] = column.parse(value)
        except Invalid as exc:
            problems.append((ERROR, column.field, f"{exc}（入力値: {_short(value)}）"))
    problems += _cross_checks(fields)
    return fields, problems


def _cross_checks(fields: dict[str, Any]) -> list[tuple[str, str, str]]:
    problems = []
    low, high = fields.get("wage_min"), fields.get("wage_max")
    if low is not None and "wage_max" in fields and high is None:
        fields["wage_max"] = high = low
    if low is not None and high is not None and low > high:
        problems.append((ERROR, "wage_max", f"賃金(下限) {low:,}円 より小さくなっています"))
    received, deadline = fields.get("received_on"), fields.get("referral_deadline")
    if received and deadline and deadline < received:
        problems.append((ERROR, "referral_deadline", f"受付年月日 {received:%Y/%m/%d} より前の日付です"))
    middle, major = fields.get("occupation_middle"), fields.get("occupation_major")
    if middle and middle in reference.OCCUPATION_MIDDLES:
        belongs, name = reference.OCCUPATION_MIDDLES[middle]
        if major and major != belongs:
            problems.append((ERROR, "occupation_middle",
                             f"中分類 {middle}（{name}）は大分類 {belongs} に属しますが、大分類が {major} になっています"))
    elif middle:
        # The reference lists the groups the bot offers; a real but unlisted group is kept, not lost.
        problems.append((WARNING, "occupation_middle", f"中分類 {middle} は参照表にありません（そのまま取り込みます）"))
    code = fields.get("municipality_code")
    if code and code not in reference.MUNICIPALITIES:
        problems.append((WARNING, "municipality_code",
                         f"市区町村コード {code} は管内・近隣の一覧にありません（そのまま取り込みます）"))
    return problems


# --- reading a file -----------------------------------------------------------------------------------

ENCODING_NAMES = {"utf-8-sig": "UTF-8（BOM付き）", "utf-8": "UTF-8", "cp932": "Shift_JIS（CP932）"}


def decode(data: bytes, encoding: str | None) -> tuple[str, str]:
    """The file's text and the codec used. Without `encoding`: BOM, then UTF-8, then CP932."""
    if encoding == "cp932" and data.startswith(b"\xef\xbb\xbf"):
        # CP932 would read the BOM as two odd characters glued to the first column name.
        raise FileError("このファイルは UTF-8（BOM付き）です。--encoding cp932 を外してお試しください")
    if encoding in ("utf-8", None) and data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif encoding is None:
        candidates = ["utf-8", "cp932"]
    else:
        candidates = [encoding]
    for codec in candidates:
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError as exc:
            failure = exc
    if encoding is None:
        raise FileError("文字コードを判別できません（UTF-8 でも Shift_JIS（CP932）でもありません）")
    other = "cp932" if encoding == "utf-8" else "utf-8"
    raise FileError(f"{ENCODING_NAMES[encoding]} として読めません（{failure.start + 1}バイト目）。"
                    f"--encoding {other} をお試しください")


def _lines(text: str) -> Iterator[str]:
    """Lines with their endings, made one at a time: a StringIO would hold another copy of a large file."""
    start = 0
    while start < len(text):
        end = text.find("\n", start) + 1 or len(text)
        yield text[start:end]
        start = end


@dataclass
class Problem:
    row: int  # as a person counts in the file: the CSV header is row 1 (Excel's row number)
    column: str  # the Japanese column name, or 行全体
    level: str  # エラー / 警告
    message: str
    job_number: str = ""


@dataclass
class Source:
    """A decoded file whose header (for CSV) has been checked; nothing is written before this exists."""
    path: Path
    format: str  # csv / jsonl
    codec: str
    text: str
    lines: int  # physical lines, for the progress bar
    columns: dict[int, str] = field(default_factory=dict)  # CSV: cell index -> field
    header_length: int = 0
    problems: list[Problem] = field(default_factory=list)  # warnings found while reading the header

    @property
    def encoding_name(self) -> str:
        return ENCODING_NAMES[self.codec]

    def is_empty(self) -> bool:
        """No data rows at all (a header alone, or blank lines)."""
        if self.format == "jsonl":
            return not self.text.strip()
        reader = csv.reader(_lines(self.text))
        next(reader, None)
        try:
            return not any(any(cell.strip() for cell in cells) for cells in reader)
        except csv.Error:
            return False

    def records(self) -> Iterator[tuple[int, int, dict[str, Any] | str]]:
        """(row number, lines read so far, field -> value) per data row; a string instead of the dict
        is why the row could not be read at all."""
        return self._csv_records() if self.format == "csv" else self._jsonl_records()

    def _csv_records(self):
        reader = csv.reader(_lines(self.text))
        next(reader, None)
        row = 1
        while True:
            row += 1  # a record, not a line: a quoted cell may span lines and Excel still shows one row
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield row, reader.line_num, f"CSV として読めません（{exc}）"
                continue
            if not any(cell.strip() for cell in cells):
                continue  # Excel leaves rows of empty cells at the end
            if any(cell.strip() for cell in cells[self.header_length:]):
                yield row, reader.line_num, "見出し行より列が多くなっています（値の中の「,」を \" で囲んでください）"
                continue
            yield row, reader.line_num, {name: cells[i] if i < len(cells) else "" for i, name in self.columns.items()}

    def _jsonl_records(self):
        reported: set[str] = set()
        for row, line in enumerate(_lines(self.text), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                yield row, row, f"JSON として読めません（{exc.colno}文字目付近）"
                continue
            if not isinstance(item, dict):
                yield row, row, "1行に1つの JSON オブジェクト（{...}）を書いてください"
                continue
            record: dict[str, Any] = {}
            for key, value in item.items():
                name = _KEYS.get(_key(key))
                if name is None:
                    if key not in reported:  # once per file is enough to spot a misspelt key
                        reported.add(key)
                        self.problems.append(Problem(row, key, WARNING, "この項目名は取り込みの対象外です"))
                    continue
                if name in record:
                    yield row, row, f"項目「{HEADERS[name]}」が2回書かれています"
                    break
                record[name] = value
            else:
                yield row, row, record


def open_file(path: Path, format: str | None = None, encoding: str | None = None) -> Source:
    """Reads and decodes the whole file and checks its header; raises FileError for an unusable file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileError(f"ファイルが見つかりません: {path}") from None
    except OSError as exc:
        raise FileError(f"ファイルを読めません: {path}（{exc.strerror}）") from None
    content, codec = decode(data, encoding)
    if format is None:
        jsonl = path.suffix.lower() in (".jsonl", ".ndjson", ".json") or content.lstrip().startswith("{")
        format = "jsonl" if jsonl else "csv"
    lines = content.count("\n") + (0 if content.endswith("\n") else 1)
    source = Source(path=path, format=format, codec=codec, text=content, lines=lines)
    if format == "csv":
        _check_header(source)
    else:
        _check_jsonl(source)
    return source


def _check_header(source: Source) -> None:
    header = next(csv.reader(_lines(source.text)), [])
    if not any(cell.strip() for cell in header):
        raise FileError("1行目に見出し行（求人番号、事業所名 などの列名）がありません")
    if header[0].lstrip().startswith("{"):
        raise FileError("CSV として読めません（JSON Lines のようです）。--format jsonl を指定してください")
    seen: dict[str, str] = {}
    for index, cell in enumerate(header):
        name = _KEYS.get(_key(cell))
        if name is None:
            if cell.strip():
                source.problems.append(Problem(1, cell.strip(), WARNING, "この列は取り込みの対象外です"))
            continue
        if name in seen:
            raise FileError(f"列「{HEADERS[name]}」が2つあります（「{seen[name]}」と「{cell.strip()}」）")
        seen[name] = cell.strip()
        source.columns[index] = name
    source.header_length = len(header)
    missing = [c.header for c in COLUMNS if c.required and c.field not in seen]
    if missing:
        raise FileError(f"必須の列がありません: {'、'.join(missing)}")


def _check_jsonl(source: Source) -> None:
    first = next((line for line in _lines(source.text) if line.strip()), None)
    if first is None:
        return
    try:
        item = json.loads(first)
    except ValueError:
        item = None
    if not isinstance(item, dict):
        raise FileError("JSON Lines として読めません（1行に1つの {...} が必要です）。CSV の場合は --format csv を指定してください")


# --- saving -------------------------------------------------------------------------------------------

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


def save(session, rows: list[dict[str, Any]]) -> dict[str, str]:
    """Upserts rows (full dicts of FIELDS) and tells per job number what happened. Unchanged listings
    are not written at all, so a re-import keeps updated_at and the search index untouched."""
    numbers = [row["job_number"] for row in rows]
    stored = {values[0]: tuple(values) for values in session.execute(
        select(*(getattr(Job, name) for name in FIELDS)).where(Job.job_number.in_(numbers)))}
    outcome, changed = {}, []
    for row in rows:
        before = stored.get(row["job_number"])
        if before == tuple(row[name] for name in FIELDS):
            outcome[row["job_number"]] = UNCHANGED
        else:
            outcome[row["job_number"]] = CREATED if before is None else UPDATED
            changed.append(row)
    catalogue.upsert(session, changed)
    return outcome


@dataclass
class Result:
    format: str
    encoding_name: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # rows with at least one error
    closed: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def warnings(self) -> int:
        return sum(p.level == WARNING for p in self.problems)

    def summary(self) -> str:
        return (f"取込 {self.imported:,}件（新規 {self.created:,}件 / 更新 {self.updated:,}件 / "
                f"変更なし {self.unchanged:,}件）、エラー {self.rejected:,}件、無効化 {self.closed:,}件")


def run(db, source: Source, *, full: bool = False, progress: Callable[[int], None] | None = None,
        batch_size: int = BATCH_SIZE) -> Result:
    """Imports every good row of `source`, batch by batch (each batch its own transaction, so the bot
    keeps working during a long import; a re-run finishes an interrupted one). With `full`, open
    listings whose number does not occur in the file are closed at the end."""
    result = Result(format=source.format, encoding_name=source.encoding_name)
    present: set[str] = set()  # every number in the file, rejected rows too: a typo must not close a listing
    last_row: dict[str, int] = {}
    outcome: dict[str, str] = {}
    pending: dict[str, dict[str, Any]] = {}

    def flush():
        with db.session() as session:
            saved = save(session, list(pending.values()))
        for number, what in saved.items():
            # A number repeated in a later batch keeps its first outcome, unless the later row changed it.
            if number not in outcome or (outcome[number] == UNCHANGED and what == UPDATED):
                outcome[number] = what
        pending.clear()

    for count, (row, lines, record) in enumerate(source.records(), start=1):
        if isinstance(record, str):
            result.rejected += 1
            result.problems.append(Problem(row, WHOLE_ROW, ERROR, record))
            continue
        fields, problems = validate(record)
        number = fields.get("job_number", "")
        if number:
            present.add(number)
        for level, name, message in problems:
            result.problems.append(Problem(row, HEADERS[name], level, message, number))
        if any(level == ERROR for level, _, _ in problems):
            result.rejected += 1
        else:
            if number in last_row:
                result.problems.append(Problem(row, HEADERS["job_number"], WARNING,
                                               f"{last_row[number]}行目と同じ求人番号です（後の行の内容で取り込みます）",
                                               number))
            last_row[number] = row
            pending[number] = fields  # a later row with the same number replaces the earlier one
            if len(pending) >= batch_size:
                flush()
        if progress and count % 200 == 0:
            progress(lines)
    if pending:
        flush()
    if progress:
        progress(source.lines)
    if full:
        if not present:
            raise FileError("データ行が1件もないため、--full による無効化は行いませんでした")
        with db.session() as session:
            result.closed = catalogue.close_absent(session, present)
    result.problems = source.problems + result.problems
    result.created = sum(v == CREATED for v in outcome.values())
    result.updated = sum(v == UPDATED for v in outcome.values())
    result.unchanged = sum(v == UNCHANGED for v in outcome.values())
    return result


# --- writing ------------------------------------------------------------------------------------------

def csv_records(rows: Iterable[dict[str, Any]]) -> Iterator[list[str]]:
    """Listings as an office export would write them: the header, then one list of cells per listing."""
    yield [c.header for c in COLUMNS]
    for row in rows:
        yield [_cell(name, row.get(name)) for name in FIELDS]


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return {"weekends_off": ("○", "×")}.get(name, ("可", "不可"))[0 if value else 1]
    if isinstance(value, dt.date):
        return f"{value:%Y/%m/%d}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_csv(path: Path, rows: Iterable[dict[str, Any]], encoding: str = "utf-8") -> int:
    """Writes listings as CSV; UTF-8 gets a BOM so that Excel opens it. Returns the number of rows."""
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    count = -1
    with open(path, "w", encoding=codec, newline="") as out:
        writer = csv.writer(out)
        for count, cells in enumerate(csv_records(rows)):
            writer.writerow(cells)
    return count
