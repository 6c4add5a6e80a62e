"""Broadcasts: segments, 配信設定, the monthly quota, scheduling, and exact figures at the emulator."""
from __future__ import annotations

import collections
import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from bot import broadcasts
from bot.models import Broadcast, Event, EventRegistration, OutboxMessage, User
from tests.factories import friends as people
from tests.test_dispatcher import dispatch

NOW = dt.datetime.now(dt.timezone.utc)


def new_broadcast(db, **fields) -> int:
    values = dict(title="面接会のお知らせ", topic="events", text="12月の事業所面談会のお知らせです。", audience={})
    values.update(fields)
    with db.session() as s:
        b = Broadcast(**values)
        s.add(b)
        s.flush()
        return b.id


def queue(app, db, broadcast_id):
    services = app.extensions["bot"]
    left = broadcasts.quota_left(services.line)
    with db.session() as s:
        return broadcasts.queue(s, broadcast_id, services, left)


def figures(db, broadcast_id):
    with db.session() as s:
        return broadcasts.figures(s, s.get(Broadcast, broadcast_id))


def got(emulator, ids):
    return collections.Counter(len(emulator.messages_for(uid)) for uid in ids)


def test_segment_by_municipality_and_interests(app, db, emulator):
    omura = people(emulator, db, 3, municipality_code="42205", interests=["E"])
    omura_other = people(emulator, db, 2, municipality_code="42205", interests=["H"])
    hasami = people(emulator, db, 2, municipality_code="42323", interests=["E"])
    unknown = people(emulator, db, 2)
    b = new_broadcast(db, audience={"municipalities": ["42205"], "interests": ["E"]})
    queue(app, db, b)
    dispatch(app)
    assert got(emulator, omura) == {1: 3}
    assert got(emulator, omura_other + hasami + unknown) == {0: 6}
    assert figures(db, b) == {"targeted": 3, "sent": 3, "failed": 0, "waiting": 0, "skipped": 0}


def test_blocked_and_opted_out_are_skipped_and_counted(app, db, emulator):
    keen = people(emulator, db, 4, municipality_code="42205")
    tired = people(emulator, db, 2, municipality_code="42205", events=False)
    stopped = people(emulator, db, 1, municipality_code="42205", stopped=True)
    with db.session() as s:
        s.execute(User.__table__.update().where(User.line_user_id == keen[0]).values(status="blocked"))
    b = new_broadcast(db, audience={"municipalities": ["42205"]})
    queue(app, db, b)
    dispatch(app)
    assert got(emulator, keen[1:]) == {1: 3} and got(emulator, tired + stopped + keen[:1]) == {0: 4}
    assert figures(db, b) == {"targeted": 7, "sent": 3, "failed": 0, "waiting": 0, "skipped": 4}


def test_registrants_of_an_event(app, db, emulator):
    ids = people(emulator, db, 5)
    with db.session() as s:
        event = Event(kind="セミナー", title="面接対策", starts_at=NOW + dt.timedelta(days=3), apply_method="line",
                      registered_count=2)
        s.add(event)
        s.flush()
        user_ids = s.scalars(select(User.id).where(User.line_user_id.in_(ids[:2]))).all()
        s.add_all(EventRegistration(event_id=event.id, user_id=u) for u in user_ids)
        event_id = event.id
    b = new_broadcast(db, audience={"event_id": event_id}, text="明日の持ち物のご案内です。")
    queue(app, db, b)
    dispatch(app)
    assert got(emulator, ids[:2]) == {1: 2} and got(emulator, ids[2:]) == {0: 3}


def test_everyone_without_opt_outs_uses_the_broadcast_api(app, db, emulator):
    ids = people(emulator, db, 4)
    b = new_broadcast(db)
    queue(app, db, b)
    dispatch(app)
    assert len(emulator.records(endpoint="broadcast")) == 1 and emulator.records(endpoint="multicast") == []
    assert got(emulator, ids) == {1: 4}
    assert figures(db, b)["sent"] == 4


def test_everyone_with_an_opt_out_goes_by_multicast(app, db, emulator):
    ids = people(emulator, db, 3)
    tired = people(emulator, db, 1, events=False)
    b = new_broadcast(db)
    queue(app, db, b)
    dispatch(app)
    assert emulator.records(endpoint="broadcast") == []
    assert got(emulator, ids) == {1: 3} and got(emulator, tired) == {0: 1}


def test_event_broadcast_carries_the_event_bubble(app, db, emulator):
    ids = people(emulator, db, 2)
    with db.session() as s:
        event = Event(kind="職業訓練", title="介護職員初任者研修", starts_at=NOW + dt.timedelta(days=30),
                      apply_method="line", capacity=20)
        s.add(event)
        s.flush()
        event_id = event.id
    b = new_broadcast(db, text=None, event_id=event_id, topic="training", audience={"municipalities": []})
    queue(app, db, b)
    dispatch(app)
    [message] = emulator.messages_for(ids[0])
    assert message["type"] == "flex" and "介護職員初任者研修" in message["altText"]


def test_quota_refusal_sends_nothing(app, db, emulator):
    people(emulator, db, 5)
    emulator.set_quota(3)
    b = new_broadcast(db)
    with pytest.raises(broadcasts.QuotaRefused) as info:
        queue(app, db, b)
    assert "残り配信可能数 3通" in info.value.message and "5通" in info.value.message
    with db.session() as s:
        assert s.scalars(select(OutboxMessage)).all() == []
        assert s.get(Broadcast, b).status == "draft"


def test_quota_unknown_sends_nothing(app, db, emulator):
    people(emulator, db, 2)
    emulator.inject(endpoint="*", status=500, times=1)
    b = new_broadcast(db)
    with pytest.raises(broadcasts.BroadcastError) as info:
        queue(app, db, b)
    assert "取得できなかった" in info.value.message


def test_a_broadcast_is_queued_once(app, db, emulator):
    people(emulator, db, 2)
    b = new_broadcast(db)
    queue(app, db, b)
    with pytest.raises(broadcasts.BroadcastError):
        queue(app, db, b)


def test_scheduled_broadcast_goes_out_at_its_time_and_cancel_stops_it(app, db, emulator):
    ids = people(emulator, db, 3)
    at = NOW + dt.timedelta(hours=3)
    later = new_broadcast(db, status="scheduled", scheduled_at=at)
    cancelled = new_broadcast(db, status="scheduled", scheduled_at=at, text="取り消す配信")
    with db.session() as s:
        broadcasts.cancel(s, s.get(Broadcast, cancelled))
    services = app.extensions["bot"]
    assert broadcasts.send_due(services) == 0
    with time_machine.travel(at + dt.timedelta(seconds=30), tick=False):
        assert broadcasts.send_due(services) == 1
        assert broadcasts.send_due(services) == 0  # not twice
        dispatch(app)
    assert [m["text"] for m in emulator.messages_for(ids[0])] == ["12月の事業所面談会のお知らせです。"]
    with db.session() as s:
        assert s.get(Broadcast, later).status == "queued" and s.get(Broadcast, cancelled).status == "cancelled"
        with pytest.raises(broadcasts.BroadcastError):
            broadcasts.cancel(s, s.get(Broadcast, later))


def test_a_scheduled_broadcast_over_quota_is_refused_with_its_reason(app, db, emulator):
    people(emulator, db, 4)
    emulator.set_quota(1)
    b = new_broadcast(db, status="scheduled", scheduled_at=NOW - dt.timedelta(minutes=1))
    assert broadcasts.send_due(app.extensions["bot"]) == 0
    with db.session() as s:
        row = s.get(Broadcast, b)
        assert row.status == "refused" and "残り配信可能数 1通" in row.note


@pytest.mark.slow
def test_ten_thousand_friends_exact_figures(app, db, emulator):
    ids = people(emulator, db, 10_000, municipality_code="42205")
    opted = people(emulator, db, 300, municipality_code="42205", events=False)
    emulator.inject(endpoint="multicast", status=500, probability=0.2, seed=5)
    b = new_broadcast(db, audience={"municipalities": ["42205"]})
    queue(app, db, b)
    dispatch(app, max_attempts=30)
    assert got(emulator, ids) == {1: 10_000} and got(emulator, opted) == {0: 300}
    assert figures(db, b) == {"targeted": 10_300, "sent": 10_000, "failed": 0, "waiting": 0, "skipped": 300}
    assert len(emulator.records(endpoint="multicast")) == 20
