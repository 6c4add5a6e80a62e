"""Every postback action, tapped with forged, stale and other people's parameters.

The actions are read from the router at test time, so an action added later is covered without touching
this file. Person A owns rows in every table that has a `user_id`; person B taps A's ids (and stale ones,
malformed ones, huge ones). Each tap must be answered 200 with polite Japanese, log no exception, change
none of A's rows and show B nothing of A's.
"""
from __future__ import annotations

import datetime as dt
import inspect
import itertools
import json
import logging
import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import delete, func, select

from bot import applications, favorites, office_events, staff_recommendations
from bot.jobs import saved
from bot.jobs.search import Conditions
from bot.models import (Base, Booking, ConsultationSlot, Event, Job, RecentSearch, SavedSearch, User,
                        utcnow)
from bot.router import POSTBACK_MAX, POSTBACK_VERSION
from simulator import webhook_events as ev

from .factories import add_jobs, job
from .test_fuzz_webhook import refused

A_NAME = "秘密野 花子"
# What only A's rows lead to: none of it may reach B. A's LINE user id is added by the fixture.
A_PERSONAL = ("花子の秘密条件", "秘密の相談メモ", "secret-a-meeting", "himitsu-pass", A_NAME)
# Jobs A favourited, searched, applied to or was recommended: listed only through A's rows.
A_JOBS = ("アルファ秘密職種", "アルファ秘密商事", "ベータ秘密職種", "ベータ秘密商事", "ガンマ秘密職種",
          "ガンマ秘密商事", "デルタ秘密職種", "デルタ秘密商事")
PUBLIC_JOB = "42040-99990001"
JAPANESE = re.compile(r"[ぁ-んァ-ヶ一-龠]")
POLITE = re.compile(r"(です|ます|ください|ません|ました)")

# Values of the wrong type or shape for (nearly) every parameter, and numbers out of every sensible range.
WRONG_TYPES = ["", "abc", "-1", "1.5", "１２", "0x10", "1e3", " 1", "1 ", "<script>alert(1)</script>",
               "' OR 1=1 --", "1;DROP TABLE users", "\u0000", "\u202e1", "😀", "null", "[]", "%00"]
HUGE = ["0", "2147483648", "9999999999", "99999999999999999999", "9" * 200]


# ---- what the router offers ---------------------------------------------------------------------

def kind(check) -> tuple[str, dict]:
    """What a parameter validator of bot.router accepts, read from its closure; ("other", {}) if unknown."""
    name = getattr(check, "__qualname__", "")
    free = inspect.getclosurevars(check).nonlocals if inspect.isfunction(check) else {}
    for maker in ("integer", "choice", "token", "words"):
        if name.startswith(f"{maker}.<locals>"):
            return maker, free
    return ("job_number", {}) if name == "job_number" else ("other", {})


def valid_value(check, own_ids: list[int]) -> str | None:
    """A value this validator accepts, preferring B's own ids for integers; None if none is known."""
    what, free = kind(check)
    if what == "integer":
        candidates = [str(i) for i in own_ids] + [str(free["lo"])]
    elif what == "choice":
        candidates = list(free["values"])
    else:
        candidates = {"words": ["介護"], "job_number": [PUBLIC_JOB]}.get(
            what, ["abc", "1", PUBLIC_JOB, "20261202", "2026-12-02", "10:00"])
    for raw in candidates:
        try:
            check(raw)
            return raw
        except ValueError:
            continue
    return None


def accepts_ids(check) -> bool:
    try:
        check("1")
        check("12")
        return True
    except ValueError:
        return False


def data(action: str, **params) -> str:
    return urlencode({"v": POSTBACK_VERSION, "a": action, **params})


def forged_cases(action, a_ids: list[int], b_ids: list[int], stale_ids: list[int]) -> list[tuple[str, str]]:
    """(label, postback data) for one action: every way its data can be wrong or someone else's."""
    base = {k: valid_value(c, b_ids) for k, c in action.schema.items() if k not in action.optional}
    optional = {k: valid_value(c, b_ids) for k, c in action.schema.items() if k in action.optional}
    cases = [("unknown version " + v, urlencode({"v": v, "a": action.name, **_clean(base)}))
             for v in ("0", "2", "", "１", "1.0")]
    cases += [("no version", urlencode({"a": action.name, **_clean(base)})),
              ("version twice", data(action.name, **_clean(base)) + "&v=1"),
              ("action twice", data(action.name, **_clean(base)) + f"&a={action.name}"),
              ("unknown parameter", data(action.name, **_clean(base), zz="1")),
              ("too long", data(action.name, **_clean(base), pad="x" * POSTBACK_MAX)),
              ("not a query string", f"v=1&a={action.name}&&&=%%")]
    for key in action.schema:
        if key not in action.optional:
            cases.append((f"missing {key}", data(action.name, **_clean({k: v for k, v in base.items() if k != key}))))
        for raw in WRONG_TYPES + HUGE:
            cases.append((f"{key}={raw[:12]!r}", data(action.name, **_clean({**base, key: raw}))))
    # Other people's and stale ids, with and without the confirmation (c=1) and other optionals.
    int_keys = [k for k, c in action.schema.items() if accepts_ids(c)]
    variants = [{}, _clean(optional)] if optional else [{}]
    for key in int_keys:
        others = [k for k in int_keys if k != key]
        for target, filler in itertools.product(a_ids + stale_ids, b_ids + [None]):
            params = {**base, key: str(target), **{k: str(filler if filler is not None else target) for k in others}}
            for extra in variants:
                cases.append((f"{key}=other/stale {target}", data(action.name, **_clean({**params, **extra}))))
    return _unique(cases)


def _clean(params: dict) -> dict:
    return {k: v for k, v in params.items() if v is not None}


def _unique(cases):
    seen, out = set(), []
    for label, raw in cases:
        if raw not in seen:
            seen.add(raw)
            out.append((label, raw))
    return out


# ---- A's and B's rows ---------------------------------------------------------------------------

def user_tables():
    return [t for t in Base.metadata.sorted_tables if "user_id" in t.c]


def snapshot(db, user_id: int) -> dict:
    """Every row of this person in every table that has a user_id, plus the person's own row."""
    with db.session() as s:
        rows = {t.name: sorted(map(tuple, s.execute(select(t).where(t.c.user_id == user_id)).all()), key=repr)
                for t in user_tables()}
        rows["users"] = [tuple(s.execute(select(User.__table__).where(User.id == user_id)).one())]
    return rows


def ids_of(db, user_id: int) -> dict[str, list[int]]:
    """This person's row ids, per table that has both an id and a user_id."""
    with db.session() as s:
        found = {t.name: list(s.scalars(select(t.c.id).where(t.c.user_id == user_id)))
                 for t in user_tables() if "id" in t.c}
    return {name: ids for name, ids in found.items() if ids}


def flat(ids: dict[str, list[int]]) -> list[int]:
    return sorted({i for found in ids.values() for i in found})


@pytest.fixture
def world(app, db, line):
    now = utcnow()
    a, b = line.new_user(A_NAME), line.new_user("公開野 太郎")
    assert line.follow(a).status_code == 200 and line.follow(b).status_code == 200
    names = ("アルファ", "ベータ", "ガンマ", "デルタ")
    add_jobs(db, *[job(occupation=f"{n}秘密職種", company_name=f"{n}秘密商事", online_application=True)
                   for n in names],
             job(job_number=PUBLIC_JOB, occupation="公開の介護職", company_name="公開福祉会", online_application=True))
    with db.session() as s:
        ua, ub = (s.scalar(select(User).where(User.line_user_id == u)) for u in (a, b))
        alpha, beta, gamma, delta = (s.scalar(select(Job).where(Job.occupation == f"{n}秘密職種")) for n in names)
        # A: a favourite, a saved and a recent search, an application, a staff recommendation, an event
        # registration and a consultation booking with personal meeting details.
        favorites.add(s, ua.id, alpha.id)
        saved.save(s, ua.id, Conditions(keywords="アルファ秘密職種"), name="花子の秘密条件")
        saved.remember(s, ua.id, Conditions(keywords="ベータ秘密職種"))
        applications.apply_self(s, ua.id, gamma, now)
        staff_recommendations.send(s, "kanri", [delta], [ua], (now + dt.timedelta(days=7)).date(), "", now)
        event = Event(kind="セミナー", title="公開セミナー", apply_method="line", capacity=10,
                      publish_from=now - dt.timedelta(days=1), starts_at=now + dt.timedelta(days=10))
        slot = ConsultationSlot(starts_at=now + dt.timedelta(days=9), length_minutes=30, capacity=2, booked_count=1)
        s.add_all([event, slot])
        s.flush()
        assert office_events.register(s, event, ua.id, now) is office_events.Outcome.REGISTERED
        s.add(Booking(slot_id=slot.id, user_id=ua.id, topic="仕事探し", note="秘密の相談メモ",
                      zoom_url="https://zoom.example/j/secret-a-meeting", passcode="himitsu-pass"))
        # B: own rows of the same kinds, so "B's id here, A's id there" is tried too.
        saved.save(s, ub.id, Conditions(keywords="介護"))
        saved.remember(s, ub.id, Conditions(keywords="介護"))
        # Stale: rows that existed and are gone.
        gone_saved = saved.save(s, ub.id, Conditions(keywords="消えた条件"))
        gone_recent = saved.remember(s, ub.id, Conditions(keywords="消えた条件"))
        gone_event = Event(kind="セミナー", title="削除されたセミナー", apply_method="line",
                           starts_at=now + dt.timedelta(days=3))
        s.add(gone_event)
        s.flush()
        stale = [gone_saved.id, gone_recent, gone_event.id]
        s.execute(delete(SavedSearch).where(SavedSearch.id == gone_saved.id))
        s.execute(delete(RecentSearch).where(RecentSearch.id == gone_recent))
        s.execute(delete(Event).where(Event.id == gone_event.id))
        top = max(s.scalar(select(func.max(t.c.id))) or 0 for t in Base.metadata.sorted_tables if "id" in t.c)
        a_id, b_id = ua.id, ub.id
    a_rows = ids_of(db, a_id)
    return {"a": a, "b": b, "a_id": a_id, "b_id": b_id, "a_rows": a_rows, "a_ids": flat(a_rows),
            "b_ids": flat(ids_of(db, b_id)),
            "stale": sorted(set(stale + [top + 1, top + 1000, 2**31 - 1]))}


# ---- the test -----------------------------------------------------------------------------------

BATCH = 25  # events per webhook request, as LINE batches them; keeps the run short


def test_every_action_refuses_forged_stale_and_other_peoples_data(app, db, line, emulator, world, caplog):
    router = app.extensions["bot"].router
    actions = router.actions
    assert len(actions) >= 30, sorted(actions)
    before = snapshot(db, world["a_id"])
    caplog.set_level(logging.INFO)
    problems, tried = [], 0
    for name in sorted(actions):
        cases = forged_cases(actions[name], world["a_ids"], world["b_ids"], world["stale"])
        tried += len(cases)
        problems += tap_all(line, emulator, caplog, world, actions[name], cases)
    if snapshot(db, world["a_id"]) != before:
        problems.append("B's taps changed A's rows")
    problems += [f"emulator refused: {r}" for r in refused(emulator)]
    print(f"\nforged postbacks: {tried} taps over {len(actions)} actions")
    assert problems == [], "\n".join(problems[:40]) + f"\n({len(problems)} problems in {tried} taps)"


def tap_all(line, emulator, caplog, world, action, cases) -> list[str]:
    """B taps every case (in batches), then each one's reply is checked, found by its reply token."""
    b = world["b"]
    asked, found = {}, []
    for start in range(0, len(cases), BATCH):
        batch = [(f"{action.name} [{label}] {raw[:80]!r}", raw, ev.postback(b, line.token(b), raw))
                 for label, raw in cases[start:start + BATCH]]
        caplog.clear()
        status = line.post(*[event for _, _, event in batch]).status_code
        if status != 200:
            found.append(f"{action.name} batch {start}: HTTP {status}")
        for record in caplog.records:
            if record.levelno >= logging.ERROR or record.exc_info:
                where = next((w for w, _, e in batch if e["webhookEventId"] in record.getMessage()),
                             f"{action.name} batch {start}")
                found.append(f"{where}: logged {record.getMessage()[:120]}")
        asked.update({event["replyToken"]: (where, raw) for where, raw, event in batch})
    replies = {r["body"]["replyToken"]: r["body"]["messages"] for r in emulator.records(user_id=b, endpoint="reply")}
    # Free search words run a public search, which may list any open job, A's included.
    public_search = any(kind(c)[0] == "words" for c in action.schema.values())
    secrets = (world["a"],) + A_PERSONAL + (() if public_search else A_JOBS)
    for token, (where, raw) in asked.items():
        found += check_reply(where, replies.get(token), secrets, silent_ok=raw == data("menu.tab"))
    return found


def check_reply(where: str, messages: list | None, secrets, silent_ok: bool) -> list[str]:
    if not messages:
        return [] if silent_ok else [f"{where}: no reply"]
    found = []
    shown = json.dumps(messages, ensure_ascii=False)
    if not JAPANESE.search(shown):
        found.append(f"{where}: reply not in Japanese: {shown[:120]}")
    if messages[0].get("type") == "text" and not POLITE.search(messages[0]["text"]):
        found.append(f"{where}: reply not polite: {messages[0]['text'][:80]}")
    leaked = [s for s in secrets if s in shown]
    if leaked:
        found.append(f"{where}: shows A's {leaked}")
    return found


def test_the_cases_include_other_peoples_ids_for_id_actions(app, world):
    """The enumeration itself: every action with an id parameter is tried with each of A's ids."""
    actions = app.extensions["bot"].router.actions
    with_ids = [a for a in actions.values() if any(accepts_ids(c) for c in a.schema.values())]
    assert {"app.withdraw", "search.run", "search.delete", "event.join", "srec.apply"} <= {a.name for a in with_ids}
    # A owns rows of each kind a postback can name by id (ids repeat across tables: one value tries them all).
    assert {"favorites", "saved_searches", "recent_searches", "applications", "staff_recommendation_items",
            "event_registrations", "bookings"} <= set(world["a_rows"]), world["a_rows"]
    for action in with_ids:
        raws = [raw for _, raw in forged_cases(action, world["a_ids"], world["b_ids"], world["stale"])]
        for a_id in world["a_ids"]:
            assert any(re.search(rf"=({a_id})(&|$)", raw) for raw in raws), (action.name, a_id)
