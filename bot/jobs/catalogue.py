"""Writing listings into the catalogue: upsert by job number, derived columns, closing absent ones."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.jobs.text import bigrams, searchable
from bot.models import Job, utcnow
from bot.models.job import CLOSED, OPEN

# A month of work as Hello Work's wage comparison assumes it: 8 hours a day, 21 days a month.
HOURS_PER_DAY = 8
DAYS_PER_MONTH = 21
WAGE_UNITS = ("月給", "日給", "時給")


def monthly(amount: int, unit: str) -> int:
    """A wage as a monthly amount, so that 時給, 日給 and 月給 can be compared."""
    factor = {"月給": 1, "日給": DAYS_PER_MONTH, "時給": HOURS_PER_DAY * DAYS_PER_MONTH}[unit]
    return amount * factor


def derived(fields: dict) -> dict:
    """The columns computed from a listing's own fields."""
    text = searchable(fields["occupation"], fields.get("description") or "", fields["company_name"])
    return {
        "wage_monthly_min": monthly(fields["wage_min"], fields["wage_unit"]),
        "wage_monthly_max": monthly(fields["wage_max"], fields["wage_unit"]),
        "search_text": text,
        "search_bigrams": bigrams(text),
    }


def upsert(session: Session, rows: Iterable[dict]) -> int:
    """Inserts or updates listings by job number; status_changed_at moves only when the status does."""
    now = utcnow()
    values = [{**row, **derived(row), "status": row.get("status", OPEN), "status_changed_at": now,
               "created_at": now, "updated_at": now} for row in rows]
    if not values:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(Job)
    columns = set(values[0]) - {"job_number", "created_at", "status_changed_at"}
    stmt = stmt.on_conflict_do_update(index_elements=["job_number"], set_={
        **{name: stmt.excluded[name] for name in columns},
        "status_changed_at": case((Job.status != stmt.excluded.status, stmt.excluded.status_changed_at),
                                  else_=Job.status_changed_at),
    })
    # executemany keeps large imports fast; chunks bound the size of one statement.
    for start in range(0, len(values), 500):
        session.execute(stmt, values[start:start + 500])
    return len(values)


def close_absent(session: Session, present: set[str]) -> int:
    """Marks open listings whose numbers are not in `present` as 無効 (a full import)."""
    open_numbers = set(session.scalars(select(Job.job_number).where(Job.status == OPEN)))
    gone = sorted(open_numbers - present)
    for start in range(0, len(gone), 500):
        session.execute(update(Job).where(Job.job_number.in_(gone[start:start + 500]))
                        .values(status=CLOSED, status_changed_at=utcnow(), updated_at=utcnow()))
    return len(gone)
