"""Ready-made friends for the demo, so the simulator has someone to be on a fresh clone.

`flask simulator demo-users` (run by `make run`) keeps them in the database: three friends who have
already added the account, one with saved search conditions and two favourite jobs. It creates only
the ones that are missing, so it can run at every start and never undoes what someone did in the demo.

The emulator keeps its users in the demo process's memory, which starts empty; `register_friends`
tells it, at start-up, about the friends the database knows (these and any made in the simulator
before), so that they can be picked, and reached by pushes, without following again.
"""
from __future__ import annotations

import dataclasses
import logging

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot import favorites, users
from bot.cli import fail
from bot.jobs import saved
from bot.jobs import search as job_search
from bot.models import Job, User
from bot.models.job import OPEN
from bot.models.user import BLOCKED

log = logging.getLogger(__name__)

REGISTERED_MAX = 200  # friends taken into the emulator at start-up, the most recent first
UNNAMED = "LINEユーザー"


@dataclasses.dataclass(frozen=True)
class DemoUser:
    line_user_id: str
    name: str
    searches: tuple[tuple[str, job_search.Conditions], ...] = ()
    favorites_from: job_search.Conditions | None = None  # the first open jobs of this search
    favorites: int = 0


OMURA, KAWATANA, HASAMI = "42205", "42322", "42323"

DEMO_USERS = (
    DemoUser("U" + "de70" + "0" * 27 + "1", "大村 花子",
             searches=(("大村市の正社員", job_search.Conditions(municipalities=(OMURA,), employment_type="正社員")),
                       ("大村市のサービス職", job_search.Conditions(municipalities=(OMURA,), occupation_major="E"))),
             favorites_from=job_search.Conditions(municipalities=(OMURA,), occupation_major="E"), favorites=2),
    DemoUser("U" + "de70" + "0" * 27 + "2", "川棚 一郎",
             searches=(("川棚・波佐見のパート",
                        job_search.Conditions(municipalities=(KAWATANA, HASAMI), employment_type="パート")),)),
    DemoUser("U" + "de70" + "0" * 27 + "3", "東彼杵 みどり"),
)


def ensure(session: Session) -> list[str]:
    """Creates the demo friends that are missing; returns the names of those created."""
    created = []
    for demo in DEMO_USERS:
        if users.find(session, demo.line_user_id) is not None:
            continue
        friend = users.follow(session, demo.line_user_id, demo.name)
        session.flush()
        for name, conditions in demo.searches:
            saved.save(session, friend.id, conditions, name=name)
        if demo.favorites_from is not None:
            clauses = job_search.where(demo.favorites_from, session.get_bind().dialect.name)
            for job_id in session.scalars(select(Job.id).where(*clauses).order_by(Job.job_number)
                                          .limit(demo.favorites)):
                favorites.add(session, friend.id, job_id)
        created.append(demo.name)
    return created


def has_open_jobs(session: Session) -> bool:
    return session.scalar(select(Job.id).where(Job.status == OPEN).limit(1)) is not None


@click.command("demo-users")
@with_appcontext
def command():
    """デモ用の友だち（保存した条件・お気に入りつき）を用意します。すでにいる方はそのままです。"""
    services = current_app.extensions["bot"]
    with services.db.session() as session:
        if not has_open_jobs(session):
            fail("募集中の求人がないため、お気に入りを用意できません。"
                 "先に flask --app app jobs generate --count 3000 --seed 1 を実行してください")
        created = ensure(session)
    names = "、".join(d.name for d in DEMO_USERS)
    click.echo(f"デモ用の友だち {len(DEMO_USERS)}人（{names}）を用意しました（新しく作成: {len(created)}人）")


def register_friends(db, state, followed: set[str]) -> int:
    """Tells the emulator about the friends in the database (blocked ones stay blocked); returns how
    many. A database that is not set up yet (before `flask db upgrade`) is not an error here."""
    try:
        with db.session() as session:
            rows = session.execute(select(User.line_user_id, User.display_name, User.status)
                                   .order_by(User.id.desc()).limit(REGISTERED_MAX)).all()
    except SQLAlchemyError as exc:
        log.debug("simulator: no friends taken from the database (%s)", exc.__class__.__name__)
        return 0
    count = 0
    for line_user_id, name, status in reversed(rows):
        try:
            state.add_user(line_user_id, display_name=name or UNNAMED)
        except ValueError:  # not a LINE user id (made by hand in the database)
            continue
        if status == BLOCKED:
            state.set_blocked(line_user_id, True)
        followed.add(line_user_id)  # their next follow is a re-follow (an unblock)
        count += 1
    return count
