"""Job search: conditions as the Hello Work search offers them, and the query that runs them.

Free words match occupation, job description and company name through an n-gram index (SQLite FTS5
`trigram`, PostgreSQL `pg_trgm`) over text folded by bot.jobs.text.fold, so 全角/半角 and
ひらがな/カタカナ match alike. The trigram index needs three characters; one- and two-character words are
matched by a plain substring scan instead, so they still work.
"""
from __future__ import annotations

import dataclasses
import re

from sqlalchemy import Text, and_, bindparam, cast, column, func, literal_column, not_, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.orm import Session

from bot.jobs import reference
from bot.jobs.catalogue import WAGE_UNITS, monthly
from bot.jobs.text import bigrams, fold
from bot.models import Job
from bot.models.job import OPEN

PAGE_SIZE = 10
MAX_PAGE = 100
MAX_WORDS = 10
MAX_WORD_LENGTH = 30
MAX_KEYWORDS_LENGTH = 100
SORTS = {"new": "新着順", "wage": "賃金の高い順"}
HOURS = {"full": "フルタイム", "part": "パートタイム"}


class ConditionError(ValueError):
    """A condition a person entered that cannot be searched; `message` is Japanese, for them."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclasses.dataclass(frozen=True)
class Words:
    must: tuple[tuple[str, ...], ...] = ()  # every group must match; a group is OR-ed alternatives
    exclude: tuple[str, ...] = ()


def parse_words(keywords: str) -> Words:
    """Free words: spaces mean AND, `OR` (or `|`) between two words means either, `-word` excludes."""
    if len(keywords) > MAX_KEYWORDS_LENGTH:
        raise ConditionError("keywords", f"キーワードは{MAX_KEYWORDS_LENGTH}文字以内で入力してください。")
    tokens = fold(keywords).replace("|", " or ").split()
    must: list[list[str]] = []
    exclude: list[str] = []
    join_next = False
    for token in tokens:
        if token == "or":
            join_next = bool(must)
            continue
        if token.startswith("-") and len(token) > 1:
            exclude.append(token[1:])
            join_next = False
            continue
        if join_next:
            must[-1].append(token)
        else:
            must.append([token])
        join_next = False
    words = [w for group in must for w in group] + exclude
    if len(words) > MAX_WORDS:
        raise ConditionError("keywords", f"キーワードは{MAX_WORDS}個までにしてください。")
    if any(len(w) > MAX_WORD_LENGTH for w in words):
        raise ConditionError("keywords", f"キーワードは1語{MAX_WORD_LENGTH}文字以内で入力してください。")
    return Words(tuple(tuple(g) for g in must), tuple(exclude))


@dataclasses.dataclass(frozen=True)
class Conditions:
    category: str | None = None
    municipalities: tuple[str, ...] = ()
    occupation_major: str | None = None
    employment_type: str | None = None
    min_wage: int | None = None
    wage_unit: str = "月給"
    hours: str | None = None
    weekends_off: bool = False
    online_only: bool = False
    keywords: str = ""
    sort: str = "new"

    def __post_init__(self):
        checks = [
            ("category", self.category is None or self.category in reference.CATEGORIES, "求人区分を選び直してください。"),
            ("municipalities", all(c in reference.MUNICIPALITIES for c in self.municipalities),
             "就業場所を一覧から選んでください。"),
            ("occupation_major", self.occupation_major is None
             or self.occupation_major in reference.OCCUPATION_MAJORS, "職種を一覧から選んでください。"),
            ("employment_type", self.employment_type is None
             or self.employment_type in reference.EMPLOYMENT_TYPES, "雇用形態を一覧から選んでください。"),
            ("wage_unit", self.wage_unit in WAGE_UNITS, "賃金の単位は月給・日給・時給から選んでください。"),
            ("min_wage", self.min_wage is None or 0 < self.min_wage <= 10_000_000,
             "賃金の下限は1円以上、1,000万円以下の数字で入力してください。"),
            ("hours", self.hours is None or self.hours in HOURS, "就業時間を選び直してください。"),
            ("sort", self.sort in SORTS, "並び順を選び直してください。"),
        ]
        for field, ok, message in checks:
            if not ok:
                raise ConditionError(field, message)
        parse_words(self.keywords)

    @classmethod
    def from_dict(cls, data: dict) -> "Conditions":
        """From stored JSON or a form; unknown keys and wrong types are refused."""
        if not isinstance(data, dict):
            raise ConditionError("conditions", "検索条件を読み取れませんでした。")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(data) - set(fields)
        if unknown:
            raise ConditionError(sorted(unknown)[0], "検索条件を読み取れませんでした。")
        values = dict(data)
        if "municipalities" in values:
            if not isinstance(values["municipalities"], (list, tuple)):
                raise ConditionError("municipalities", "就業場所を一覧から選んでください。")
            values["municipalities"] = tuple(values["municipalities"])
        for name in ("weekends_off", "online_only"):
            if name in values and not isinstance(values[name], bool):
                raise ConditionError(name, "検索条件を読み取れませんでした。")
        if "min_wage" in values and values["min_wage"] is not None and not isinstance(values["min_wage"], int):
            raise ConditionError("min_wage", "賃金の下限は数字で入力してください。")
        for name in ("category", "occupation_major", "employment_type", "hours", "keywords", "sort", "wage_unit"):
            if name in values and values[name] is not None and not isinstance(values[name], str):
                raise ConditionError(name, "検索条件を読み取れませんでした。")
        return cls(**values)

    def to_dict(self) -> dict:
        # Only what differs from the defaults: saved conditions stay small and readable. (Every field is
        # a plain value or a tuple of strings: dataclasses.asdict's deep copy is not needed.)
        data = {f.name: value for f in dataclasses.fields(self)
                if (value := getattr(self, f.name)) != f.default}
        if "municipalities" in data:
            data["municipalities"] = list(self.municipalities)
        return data

    def summary(self) -> str:
        """The conditions in a few words, for names and headings: 大村市・介護・正社員."""
        parts = [reference.MUNICIPALITIES[c] for c in self.municipalities]
        if self.occupation_major:
            parts.append(reference.OCCUPATION_MAJOR_LABELS[self.occupation_major])
        parts += [p for p in (self.employment_type, self.category, HOURS.get(self.hours or "")) if p]
        if self.min_wage:
            parts.append(f"{self.wage_unit}{self.min_wage:,}円以上")
        if self.weekends_off:
            parts.append("土日祝休み")
        if self.online_only:
            parts.append("オンライン応募可")
        if self.keywords.strip():
            parts.append(f"「{self.keywords.strip()}」")
        return "・".join(parts) or "すべての求人"


def _fts(table: str, phrase: str):
    quoted = '"' + phrase.replace('"', '""') + '"'
    return Job.id.in_(text(f"SELECT rowid FROM {table} WHERE {table} MATCH :phrase").bindparams(
        bindparam("phrase", quoted, unique=True)).columns(column("rowid")))


def _word_clause(word: str, dialect: str, exclude: bool = False):
    """Three characters or more: the trigram index. Two word characters: the index of two-character
    pieces. Anything else (one character, symbols): a substring scan."""
    escaped = re.sub(r"([\\%_])", r"\\\1", word)
    substring = Job.search_text.like(f"%{escaped}%", escape="\\")
    two = len(word) == 2 and bigrams(word) == word
    if dialect == "sqlite":
        clause = _fts("jobs_bigram_fts", word) if two else _fts("jobs_fts", word) if len(word) >= 3 else substring
        return not_(clause) if exclude else clause
    if two:
        # Spelled exactly as the index expression (migration 0002), so the index serves it.
        pieces = func.string_to_array(Job.search_bigrams, literal_column("' '"), type_=ARRAY(Text))
        indexed = pieces.contains(array([cast(word, Text)]))
    elif len(word) >= 3:
        indexed = substring  # pg_trgm's GIN index serves LIKE '%word%'
    else:
        return ~substring if exclude else substring
    if not exclude:
        return indexed
    # An excluded word as NOT IN (ids the index finds): a plain NOT would be tested row by row.
    return Job.id.not_in(select(Job.id).where(indexed).correlate(None))


def where(conditions: Conditions, dialect: str) -> list:
    """The WHERE clauses of a search (open listings only)."""
    clauses = [Job.status == OPEN]
    c = conditions
    if c.category:
        clauses.append(Job.category == c.category)
    if c.municipalities:
        clauses.append(Job.municipality_code.in_(c.municipalities))
    if c.occupation_major:
        clauses.append(Job.occupation_major == c.occupation_major)
    if c.employment_type:
        clauses.append(Job.employment_type == c.employment_type)
    if c.min_wage:
        # A job qualifies when its best wage reaches the minimum, compared as monthly amounts.
        clauses.append(Job.wage_monthly_max >= monthly(c.min_wage, c.wage_unit))
    if c.hours == "full":
        clauses.append(Job.category != "一般パート")
    elif c.hours == "part":
        clauses.append(Job.category == "一般パート")
    if c.weekends_off:
        clauses.append(Job.weekends_off.is_(True))
    if c.online_only:
        clauses.append(Job.online_application.is_(True))
    words = parse_words(c.keywords)
    for group in words.must:
        clauses.append(or_(*(_word_clause(w, dialect) for w in group)))
    for word in words.exclude:
        clauses.append(_word_clause(word, dialect, exclude=True))
    return clauses


@dataclasses.dataclass
class Page:
    total: int
    jobs: list[Job]
    page: int

    @property
    def has_next(self) -> bool:
        return self.page * PAGE_SIZE < self.total and self.page < MAX_PAGE


def run(session: Session, conditions: Conditions, page: int = 1) -> Page:
    dialect = session.get_bind().dialect.name
    clauses = and_(*where(conditions, dialect))
    order = [Job.received_on.desc(), Job.id.desc()] if conditions.sort == "new" \
        else [Job.wage_monthly_max.desc(), Job.id.desc()]
    offset = (page - 1) * PAGE_SIZE

    def count() -> int:
        return session.scalar(select(func.count()).select_from(Job).where(clauses))

    if dialect == "sqlite" and parse_words(conditions.keywords).must:
        # SQLite with words to find: its n-gram index's hits are counted and paged in one pass (a count
        # over the window), where a separate count looked every hit up a second time: 35-40 % less
        # time (docs/performance.md). Without words, the count is an index scan and the page stops
        # after ten rows, so two statements are cheaper; PostgreSQL plans the window far worse.
        rows = session.execute(select(Job.id, func.count().over()).where(clauses).order_by(*order)
                               .offset(offset).limit(PAGE_SIZE)).all()
        if not rows:  # no hits, or a page past the last
            return Page(total=count() if page > 1 else 0, jobs=[], page=page)
        found = {j.id: j for j in session.scalars(select(Job).where(Job.id.in_([i for i, _ in rows])))}
        return Page(total=rows[0][1], jobs=[found[i] for i, _ in rows if i in found], page=page)
    jobs = list(session.scalars(select(Job).where(clauses).order_by(*order).offset(offset).limit(PAGE_SIZE)))
    return Page(total=count(), jobs=jobs, page=page)


def by_number(session: Session, job_number: str) -> Job | None:
    return session.scalar(select(Job).where(Job.job_number == job_number))


def similar_open(session: Session, job: Job, limit: int = 3) -> list[Job]:
    """Open listings like a closed one: same occupation group, same municipality first."""
    return list(session.scalars(
        select(Job).where(Job.status == OPEN, Job.occupation_major == job.occupation_major, Job.id != job.id)
        .order_by((Job.municipality_code == job.municipality_code).desc(), Job.received_on.desc())
        .limit(limit)))
