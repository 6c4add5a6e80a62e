"""Applications: 応募中 and 選考が終わった求人, withdrawal within 24 hours, and the move to
選考が終わった求人 once selection ended or the job has been closed past 翌々々月末日."""
from __future__ import annotations

import calendar
import datetime as dt
import enum
import logging
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import Application, Job, utcnow
from bot.models.application import FINAL, ONLINE_ROUTES, SELF
from bot.models.job import CLOSED
from bot.scheduler import scheduled

log = logging.getLogger(__name__)

WITHDRAW_WINDOW = dt.timedelta(hours=24)
PAGE_SIZE = 10


class Withdrawal(enum.Enum):
    DONE = "done"
    NOT_ONLINE = "not_online"   # 窓口紹介: withdraw by telling the office
    TOO_LATE = "too_late"       # more than 24 hours after applying
    FINISHED = "finished"       # already withdrawn or selection over


def listing(session: Session, user_id: int, finished: bool, page: int = 1) -> tuple[int, list[Application]]:
    where = (Application.user_id == user_id, Application.finished.is_(finished))
    total = session.scalar(select(func.count()).select_from(Application).where(*where))
    rows = session.scalars(select(Application).where(*where)
                           .order_by(Application.applied_at.desc(), Application.id.desc())
                           .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return total, list(rows)


def owned(session: Session, user_id: int, application_id: int) -> Application | None:
    """This person's application only: another person's id finds nothing."""
    return session.scalar(select(Application).where(Application.id == application_id,
                                                    Application.user_id == user_id))


def can_withdraw(application: Application, now: dt.datetime) -> Withdrawal:
    if application.route not in ONLINE_ROUTES:
        return Withdrawal.NOT_ONLINE
    if application.finished or application.status in FINAL:
        return Withdrawal.FINISHED
    if now - application.applied_at > WITHDRAW_WINDOW:
        return Withdrawal.TOO_LATE
    return Withdrawal.DONE


def withdraw(session: Session, application: Application, now: dt.datetime) -> Withdrawal:
    """Checked again here, at the moment of the tap, whatever the button showed earlier."""
    verdict = can_withdraw(application, now)
    if verdict is Withdrawal.DONE:
        set_status(application, "取消", now)
    return verdict


def set_status(application: Application, status: str, now: dt.datetime) -> None:
    application.status, application.status_changed_at = status, now
    if status in FINAL:
        application.finished = True


def apply_self(session: Session, user_id: int, job: Job, now: dt.datetime) -> Application | None:
    """Records an オンライン自主応募; None when this person already applied to the job."""
    try:
        with session.begin_nested():
            application = Application(user_id=user_id, job_id=job.id, route=SELF, status="応募中",
                                      applied_at=now, status_changed_at=now)
            session.add(application)
            session.flush()
    except IntegrityError:
        return None
    return application


def record(session: Session, user_id: int, job: Job, route: str, now: dt.datetime, staff: str | None = None):
    """A referral recorded by staff (窓口紹介) or any route; None if the person already applied."""
    try:
        with session.begin_nested():
            application = Application(user_id=user_id, job_id=job.id, route=route, status="応募中",
                                      applied_at=now, status_changed_at=now, recorded_by=staff)
            session.add(application)
            session.flush()
    except IntegrityError:
        return None
    return application


def end_of_third_month_after(day: dt.date) -> dt.date:
    """翌々々月末日: the last day of the third month after the month of `day`."""
    month_index = day.month - 1 + 3
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def expired(job: Job, now: dt.datetime, tz: ZoneInfo) -> bool:
    """Whether the job became invalid long enough ago that its applications count as finished."""
    if job.status != CLOSED:
        return False
    closed_on = job.status_changed_at.astimezone(tz).date()
    return now.astimezone(tz).date() > end_of_third_month_after(closed_on)


def finish_expired(session: Session, now: dt.datetime, tz: ZoneInfo) -> int:
    """Moves open applications of long-closed jobs to 選考が終わった求人."""
    moved = 0
    rows = session.execute(select(Application, Job).join(Job, Job.id == Application.job_id)
                           .where(Application.finished.is_(False), Job.status == CLOSED))
    for application, job in rows:
        if expired(job, now, tz):
            application.finished = True
            moved += 1
    return moved


@scheduled("finish-expired-applications", "Move applications of long-closed jobs to 選考が終わった求人",
           hour=4, minute=10)
def finish_expired_job(services) -> int:
    with services.db.session() as session:
        moved = finish_expired(session, utcnow(), services.settings.tz)
    log.info("moved %d applications to finished", moved)
    return moved
