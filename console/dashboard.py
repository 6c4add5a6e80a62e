"""What the dashboard shows: friends, this month's LINE quota, the outbox, deliveries per day, panels.

Later features add their own panel ("upcoming events", "scheduled broadcasts", ...) with
`register_panel()`; the dashboard template renders every registered panel in order.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.line import outbox
from bot.models import OutboxMessage, User
from bot.models.outbox import SENT
from bot.models.user import BLOCKED, FOLLOWING

log = logging.getLogger(__name__)

CHART_DAYS = 30
# The dashboard must open even when LINE is slow: give up on the quota after a few seconds.
QUOTA_TIMEOUT = (2.0, 3.0)

OUTBOX_LABELS = {"pending": "送信待ち", "sending": "送信中", "sent": "送信済み", "failed": "失敗",
                 "merged": "まとめて送信", "cancelled": "取りやめ"}


# ---- panels -----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Panel:
    key: str
    title: str
    template: str  # rendered with `panel` and whatever `load` returns
    load: Callable[[Session], dict] | None = None


PANELS: dict[str, Panel] = {}


def register_panel(key: str, title: str, template: str, load: Callable[[Session], dict] | None = None) -> None:
    """Adds a dashboard panel, or replaces the one with the same key (keeping its place)."""
    PANELS[key] = Panel(key, title, template, load)


# The order panels appear in; the features register them (console/events.py, console/broadcasts.py).
PANEL_ORDER = ("upcoming_events", "scheduled_broadcasts")


def _panels(session: Session) -> list[dict]:
    shown = []
    ordered = sorted(PANELS.values(), key=lambda p: PANEL_ORDER.index(p.key) if p.key in PANEL_ORDER else 99)
    for panel in ordered:
        try:
            context = panel.load(session) if panel.load else {}
        except Exception:  # noqa: BLE001 - one broken panel must not take the dashboard down
            log.exception("dashboard panel %s failed", panel.key)
            context, panel = {}, dataclasses.replace(panel, template="console/panels/failed.html")
        shown.append({"panel": panel, "context": context})
    return shown


# ---- figures ----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Quota:
    limit: int | None  # None: no monthly limit (LINE answers type "none")
    used: int

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)


def quota(line) -> Quota | None:
    """This month's message quota and usage from LINE, or None when LINE does not answer."""
    try:
        limit = line.messaging.get_message_quota(_request_timeout=QUOTA_TIMEOUT)
        usage = line.messaging.get_message_quota_consumption(_request_timeout=QUOTA_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - any failure reads the same on the dashboard
        log.warning("message quota unavailable: %s: %s", type(exc).__name__, str(exc).splitlines()[0][:200])
        return None
    return Quota(limit=limit.value if limit.type == "limited" else None, used=usage.total_usage)


def friends(session: Session) -> dict[str, int]:
    found = dict(session.execute(select(User.status, func.count()).group_by(User.status)).all())
    return {"following": found.get(FOLLOWING, 0), "blocked": found.get(BLOCKED, 0)}


@dataclasses.dataclass
class Day:
    date: dt.date
    recipients: int = 0  # people reached by pushes and multicasts
    broadcasts: int = 0  # broadcasts and narrowcasts: LINE picks the recipients, we cannot count them


def deliveries(session: Session, tz: dt.tzinfo, today: dt.date, days: int = CHART_DAYS) -> list[Day]:
    """Sent outbox rows per day (in the office's time zone) over the last `days` days up to today."""
    first = today - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first, dt.time(), tzinfo=tz)
    until = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    by_day = {first + dt.timedelta(days=i): Day(first + dt.timedelta(days=i)) for i in range(days)}
    # Bucketed here rather than in SQL: "the day in Asia/Tokyo" is spelled differently on each database.
    rows = session.execute(
        select(OutboxMessage.sent_at, OutboxMessage.kind, func.json_array_length(OutboxMessage.recipients))
        .where(OutboxMessage.status == SENT, OutboxMessage.sent_at >= since, OutboxMessage.sent_at < until))
    for sent_at, kind, count in rows:
        day = by_day[sent_at.astimezone(tz).date()]
        if kind in ("push", "multicast"):
            day.recipients += count or 0
        else:
            day.broadcasts += 1
    return list(by_day.values())


def figures(services) -> dict:
    tz = services.settings.tz
    today = dt.datetime.now(tz).date()
    with services.db.session() as session:
        counts = outbox.counts(session)
        result = {
            "friends": friends(session),
            "outbox": [(OUTBOX_LABELS.get(state, state), count) for state, count in counts.items()],
            "chart": chart(deliveries(session, tz, today)),
            "panels": _panels(session),
        }
    result["quota"] = quota(services.line)
    result["month"] = today.month
    return result


# ---- the chart --------------------------------------------------------------------------------

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 16, 28  # room for the axis labels


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least `value` (so the axis reads well)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def chart(days: list[Day]) -> dict:
    """Bar geometry for the server-drawn SVG chart (the template only places what is computed here)."""
    top_value = _nice_ceiling(max((d.recipients for d in days), default=0) or 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bars = []
    for i, day in enumerate(days):
        h = plot_h * day.recipients / top_value
        bars.append({
            "x": round(LEFT + i * slot + slot * 0.15, 1), "width": round(slot * 0.7, 1),
            "y": round(TOP + plot_h - h, 1), "height": round(h, 1), "mid": round(LEFT + (i + 0.5) * slot, 1),
            "day": day,
            # Every fifth day and the last one get a date under the axis; the rest would overlap.
            "label": f"{day.date.month}/{day.date.day}" if (len(days) - 1 - i) % 5 == 0 else "",
        })
    return {"width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "top": TOP,
            "bottom": TOP + plot_h, "middle": TOP + plot_h / 2, "top_value": top_value, "bars": bars,
            "total": sum(d.recipients for d in days), "broadcasts": sum(d.broadcasts for d in days),
            "first": days[0].date if days else None, "last": days[-1].date if days else None}
