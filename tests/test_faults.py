"""LINE failing (429, 500, timeouts, refusals) on every way a message leaves the bot.

Every outbox row must reach the emulator exactly once, every attempt of a row must carry the row's
X-Line-Retry-Key and the same body, and a request LINE refuses for good (other 4xx) must end as a
failed row with LINE's reason, sent once and never again.
"""
from __future__ import annotations

import collections
import datetime as dt
import json
import threading
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from linebot.v3.messaging import TextMessage
from sqlalchemy import select

from app import create_app
from bot import applications, broadcasts, recommendations, staff_recommendations
from bot.line import outbox
from bot.line.dispatcher import DEFAULT_RATES
from bot.models import Broadcast, Job, OutboxMessage, User
from bot.models.application import COUNTER
from tests.console.conftest import STAFF_PASSWORD, csrf_token, make_staff, signed_in_client
from tests.factories import add_jobs, friends, job
from tests.test_dispatcher import dispatch as dispatch_at_default_rates

SENDS = ["push", "multicast", "broadcast", "narrowcast"]
TIMEOUT = 1.0  # the SDK's read timeout in these tests; a fault delay beyond it is a timeout
FAULTS = {"429": {"status": 429}, "500": {"status": 500}, "timeout": {"delay": TIMEOUT + 0.5}}
TOKYO = ZoneInfo("Asia/Tokyo")


def dispatch(app, **config):
    # LINE allows a narrowcast a minute; these tests do not wait for LINE's pace.
    return dispatch_at_default_rates(app, rates={**DEFAULT_RATES, "narrowcast": 100.0}, **config)


@pytest.fixture
def app(settings, emulator, tmp_path):
    application = create_app(settings.replace(line_timeout=TIMEOUT))
    application.config["TESTING"] = True
    application.instance_path = str(tmp_path / "instance")
    yield application
    application.extensions["bot"].close()
    # A call LINE was still serving after the client gave up (a delay fault) must not land in the next
    # test's emulator: wait for the emulator's request threads to finish.
    wait_for(lambda: not [t for t in threading.enumerate() if "process_request_thread" in t.name])


def outbox_rows(db) -> list[OutboxMessage]:
    with db.session() as s:
        return s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def wait_for(condition, seconds=10.0):
    """Polls until `condition()` is true (a delayed call the emulator is still serving)."""
    deadline = time.monotonic() + seconds
    pause = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        pause.wait(0.02)


def assert_exactly_once(emulator, db) -> list[OutboxMessage]:
    """Each row was accepted by LINE once, under its own key; every attempt repeated it exactly."""
    rows = outbox_rows(db)
    assert not [(r.id, r.status, r.last_error) for r in rows if r.status not in ("sent", "merged", "cancelled")]
    sent = {r.retry_key: r for r in rows if r.status == "sent"}
    accepted = [c for c in emulator.records() if c["endpoint"] in SENDS]
    keys = [c["retry_key"] for c in accepted]
    assert sorted(keys) == sorted(sent), "a row was accepted twice, or not at all"
    bodies = {c["retry_key"]: c["body"] for c in accepted}
    for call in emulator.rejected():
        if call["endpoint"] in SENDS:
            assert call["retry_key"] in sent and call["body"] == bodies[call["retry_key"]], \
                (call["status"], call.get("message"), str(call["body"])[:300], call["endpoint"], [(r.id, r.kind, r.status, r.attempts, r.last_error, r.source)
                                                    for r in rows if r.retry_key == call["retry_key"]])
    for call in accepted:
        row = sent[call["retry_key"]]
        assert call["endpoint"] == row.kind and row.line_request_id == call["request_id"]
        if row.kind in ("push", "multicast"):
            assert sorted(call["to"]) == sorted(row.recipients)
    return rows


def expected_messages(emulator, db) -> dict[str, collections.Counter]:
    """What each person should hold: every accepted reply, plus every sent row's messages once."""
    want: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    rows = {r.retry_key: r for r in outbox_rows(db) if r.status == "sent"}
    for call in emulator.records():
        if call["endpoint"] == "reply":
            messages = call["body"]["messages"]
        elif call["endpoint"] in SENDS:
            messages = rows[call["retry_key"]].payload["messages"]
        else:
            continue
        for uid in call["to"]:
            want[uid].update(json.dumps(m, sort_keys=True, ensure_ascii=False) for m in messages)
    return want


def held(emulator, uid) -> collections.Counter:
    return collections.Counter(json.dumps(m, sort_keys=True, ensure_ascii=False)
                               for m in emulator.messages_for(uid))


# --- each kind of request, each kind of failure ---------------------------------------------------

def queue_one(kind, emulator, db) -> list[str]:
    """Writes one row of `kind` (multicast: three identical pushes the dispatcher folds) and returns
    the people who should receive it."""
    ids = friends(emulator, db, 1 if kind == "push" else 3)
    with db.session() as s:
        if kind == "push":
            outbox.push(s, ids[0], [TextMessage(text="面接会のお知らせです")])
        elif kind == "multicast":
            for uid in ids:
                outbox.push(s, uid, [TextMessage(text="セミナーのお知らせです")])
        elif kind == "broadcast":
            outbox.broadcast(s, [TextMessage(text="年末年始の休業のお知らせです")], source="broadcast:1")
        else:
            outbox.narrowcast(s, [TextMessage(text="職業訓練のお知らせです")], limit={"max": 10})
    return ids


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", SENDS)
def test_transient_failures_are_retried_with_the_same_key_until_delivered_once(app, db, emulator, kind, fault):
    ids = queue_one(kind, emulator, db)
    emulator.inject(endpoint=kind, times=2, **FAULTS[fault])
    dispatch(app)
    [row] = [r for r in assert_exactly_once(emulator, db) if r.status == "sent"]
    assert row.kind == kind and row.attempts >= 3
    calls = [c for c in emulator.records() + emulator.rejected() if c["endpoint"] == kind]
    assert {c["retry_key"] for c in calls} == {row.retry_key}
    refused = collections.Counter(c["status"] for c in emulator.rejected(endpoint=kind))
    if fault == "timeout":
        # LINE did the first call after the client gave up; the resends were recognised by its key.
        wait_for(lambda: len(emulator.rejected(endpoint=kind)) >= 2)
        refused = collections.Counter(c["status"] for c in emulator.rejected(endpoint=kind))
        assert set(refused) == {409}
    else:
        # 409s only if a busy machine made an attempt time out besides the injected faults.
        assert refused[int(fault)] == 2 and set(refused) <= {int(fault), 409}
    assert all(len(emulator.messages_for(uid)) == 1 for uid in ids)


@pytest.mark.parametrize("status", [400, 403, 413])
@pytest.mark.parametrize("kind", SENDS)
def test_a_refusal_is_not_retried_and_keeps_the_reason(app, db, emulator, kind, status):
    ids = queue_one(kind, emulator, db)
    emulator.inject(endpoint=kind, status=status, times=1, message="refused by the fault test")
    dispatch(app)
    [row] = [r for r in outbox_rows(db) if r.status not in ("merged",)]
    assert row.status == "failed" and row.attempts == 1
    assert row.last_error.startswith(str(status)) and "refused by the fault test" in row.last_error
    assert [c["status"] for c in emulator.rejected(endpoint=kind)] == [status]
    assert emulator.records(endpoint=kind) == []
    assert all(emulator.messages_for(uid) == [] for uid in ids)
    dispatch(app)  # a later run leaves it alone
    assert len(emulator.rejected(endpoint=kind)) == 1


# --- replies --------------------------------------------------------------------------------------

def help_answer_count(emulator, uid, before: int) -> int:
    return len(emulator.messages_for(uid)) - before


@pytest.mark.parametrize("status", [500, 429, 400])
def test_a_failed_reply_becomes_one_push(app, db, emulator, line, status):
    uid = line.new_user()
    line.follow(uid)
    before = len(emulator.messages_for(uid))
    emulator.inject(endpoint="reply", status=status, times=1)
    emulator.inject(endpoint="push", status=500, times=1)
    assert line.say(uid, "使い方").status_code == 200
    [row] = outbox_rows(db)
    assert row.source.startswith("reply:") and row.recipients == [uid]
    dispatch(app)
    assert_exactly_once(emulator, db)
    assert help_answer_count(emulator, uid, before) == len(row.payload["messages"])
    assert {c["retry_key"] for c in emulator.rejected(endpoint="push")} == {row.retry_key}


def test_a_reply_that_timed_out_after_line_took_it_is_not_sent_again(app, db, emulator, line):
    uid = line.new_user()
    line.follow(uid)
    before = len(emulator.messages_for(uid))
    emulator.inject(endpoint="reply", delay=TIMEOUT + 0.5, times=1)
    assert line.say(uid, "使い方").status_code == 200
    # Wait until LINE has taken a reply to it (the slow one, or a resend with the same token).
    wait_for(lambda: len(emulator.records(endpoint="reply")) >= 2)
    dispatch(app)
    [answer] = [c for c in emulator.records(endpoint="reply") if c["to"] == [uid]][1:]
    assert help_answer_count(emulator, uid, before) == len(answer["body"]["messages"])
    assert outbox_rows(db) == []


# --- every capability that pushes, under a storm of faults ----------------------------------------

def test_every_push_capability_delivers_exactly_once_under_faults(app, db, emulator, line):
    omura = friends(emulator, db, 6, municipality_code="42205", interests=["E"])
    # A Monday in the past, so that the rows the run writes are due at once for the dispatcher.
    monday = dt.datetime(2026, 6, 1, 9, 0, tzinfo=TOKYO)
    with time_machine.travel(monday - dt.timedelta(days=1), tick=False):
        add_jobs(db, *(job(municipality_code="42205", occupation_major="E", received_on=dt.date(2026, 5, 29))
                       for _ in range(3)))
    services = app.extensions["bot"]
    left = broadcasts.quota_left(services.line)
    with db.session() as s:
        segment = Broadcast(title="面談会", topic="events", text="12月の事業所面談会のお知らせです。",
                            audience={"municipalities": ["42205"]})
        everyone = Broadcast(title="休業", topic="notices", text="年末年始は休業します。", audience={})
        s.add_all([segment, everyone])
        s.flush()
        broadcasts.queue(s, segment.id, services, left)   # event news: multicast rows
        broadcasts.queue(s, everyone.id, services, left)  # to every friend: one LINE broadcast
    with time_machine.travel(monday, tick=False):
        assert recommendations.run(services).sent == 6  # おすすめ求人: one push each
    with db.session() as s:
        jobs = s.scalars(select(Job)).all()
        people = s.scalars(select(User).where(User.line_user_id.in_(omura[:3]))).all()
        staff_recommendations.send(s, "shokuin", jobs[:2], people, dt.date(2026, 12, 7), "ぜひご検討ください",
                                   dt.datetime.now(dt.timezone.utc))
        application = applications.record(s, people[0].id, jobs[2], COUNTER, dt.datetime.now(dt.timezone.utc),
                                          "shokuin")
    make_staff(db, "shokuin")
    console = signed_in_client(app, "shokuin", STAFF_PASSWORD)
    answer = console.post(f"/console/applications/{application.id}/status",
                          data={"csrf_token": csrf_token(console, "/console/applications"), "status": "面接予定"})
    assert answer.status_code == 302  # 応募状況のお知らせ: a push
    emulator.inject(endpoint="reply", status=500, probability=0.5, seed=7)
    for uid in omura[:4]:
        line.say(uid, "使い方")  # replies, some falling back to pushes
    queued = outbox_rows(db)
    assert {r.kind for r in queued} == {"push", "multicast", "broadcast"}
    assert {r.source.split(":")[0] for r in queued} == {"broadcast", "recommend", "staffrec", "application", "reply"}

    emulator.inject(endpoint=SENDS, status=500, probability=0.3, seed=1)
    emulator.inject(endpoint=SENDS, status=429, probability=0.15, seed=2)
    emulator.inject(endpoint=SENDS, delay=TIMEOUT + 0.3, probability=0.03, seed=3)
    dispatch(app, max_attempts=40)
    emulator.clear_faults()
    assert_exactly_once(emulator, db)
    want = expected_messages(emulator, db)
    for uid in omura:
        assert held(emulator, uid) == want[uid], uid
    rejected = collections.Counter(c["status"] for c in emulator.rejected() if c["endpoint"] in SENDS)
    assert rejected[500] and rejected[429]  # the faults really happened
    rows = outbox_rows(db)
    print(f"\nfigures: storm: {len(rows)} outbox rows, {len(emulator.records())} calls accepted, "
          f"refused {dict(rejected)}, {sum(sum(want[u].values()) for u in want)} messages held, 0 lost, 0 doubled")
