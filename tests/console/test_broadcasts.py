"""一斉配信 in the console: compose, preview, send, schedule, cancel, figures; bad input and markup."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import time_machine
from PIL import Image
from sqlalchemy import select

from bot import broadcasts
from bot.models import AuditLog, Broadcast, OutboxMessage
from tests.factories import friends
from tests.test_dispatcher import dispatch

NOW = dt.datetime.now(dt.timezone.utc)


def token(client, path):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def create(client, **fields):
    data = {"csrf_token": token(client, "/console/broadcasts/new"), "title": "12月の面談会",
            "topic": "events", "text": "12月10日に事業所面談会を開きます。", "audience": "all"}
    data.update(fields)
    return client.post("/console/broadcasts/new", data=data, content_type="multipart/form-data")


def latest(db):
    with db.session() as s:
        return s.scalar(select(Broadcast).order_by(Broadcast.id.desc()))


def png(width=1600, height=900) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 110, 186)).save(buffer, "PNG")
    return buffer.getvalue()


def test_compose_preview_send_and_figures(staff_client, db, emulator, app):
    omura = friends(emulator, db, 3, municipality_code="42205")
    tired = friends(emulator, db, 1, municipality_code="42205", events=False)
    others = friends(emulator, db, 2, municipality_code="42201")
    answer = create(staff_client, audience="segment", municipalities=["42205"])
    assert answer.status_code == 302
    detail_path = answer.headers["Location"]
    page = staff_client.get(detail_path).get_data(as_text=True)
    assert "12月10日に事業所面談会を開きます。" in page and "地域: 大村市" in page
    assert re.search(r"送信する人数</th><td class=\"num\">3人", page)
    sent = staff_client.post(detail_path + "/send", data={"csrf_token": token(staff_client, detail_path)})
    assert sent.status_code == 302
    dispatch(app)
    assert [len(emulator.messages_for(u)) for u in omura + tired + others] == [1, 1, 1, 0, 0, 0]
    page = staff_client.get(detail_path).get_data(as_text=True)
    assert re.search(r"送信済み</th><td class=\"num\">3人", page)
    assert re.search(r"対象外（ブロック・配信停止）</th><td class=\"num\">1人|対象外\(ブロック・配信停止\)</th><td class=\"num\">1人",
                     page)
    listing = staff_client.get("/console/broadcasts").get_data(as_text=True)
    assert "12月の面談会" in listing and "送信済み" in listing
    with db.session() as s:
        actions = s.scalars(select(AuditLog.action).where(AuditLog.action.like("broadcast.%"))).all()
    assert sorted(actions) == ["broadcast.create", "broadcast.send"]


def test_the_quota_is_asked_of_line_while_no_transaction_is_open(staff_client, db, emulator, app,
                                                                 locks_held, monkeypatch):
    """LINE's quota API may take seconds; no webhook event may wait for it behind a database lock.
    Both ways a broadcast goes out: sent now from the console, and at its time by the clock."""
    friends(emulator, db, 2)
    asked, held = broadcasts.quota_left, []

    def quota_left(line):  # the real call to the emulator, with a look at the database first
        held.append(locks_held())
        return asked(line)

    monkeypatch.setattr(broadcasts, "quota_left", quota_left)
    path = create(staff_client).headers["Location"]
    assert staff_client.post(path + "/send", data={"csrf_token": token(staff_client, path)}).status_code == 302
    later = create(staff_client, title="予約した配信").headers["Location"]
    with db.session() as s:
        row = s.get(Broadcast, int(later.rsplit("/", 1)[1]))
        row.status, row.scheduled_at = "scheduled", NOW - dt.timedelta(minutes=1)
    assert broadcasts.send_due(app.extensions["bot"]) == 1
    assert held == [0, 0]
    with db.session() as s:
        assert s.scalars(select(Broadcast.status)).all() == ["queued", "queued"]


def test_image_is_checked_resized_and_sent(staff_client, db, emulator, app):
    [uid] = friends(emulator, db, 1)
    answer = create(staff_client, image=(io.BytesIO(png()), "flyer.png"))
    assert answer.status_code == 302
    broadcast = latest(db)
    path = f"{app.instance_path}/media/broadcasts/{broadcast.image_name}"
    with Image.open(path) as image:
        assert max(image.size) <= 1040
    staff_client.post(answer.headers["Location"] + "/send",
                      data={"csrf_token": token(staff_client, answer.headers["Location"])})
    dispatch(app)
    kinds = [m["type"] for m in emulator.messages_for(uid)]
    assert kinds == ["text", "image"]
    assert emulator.messages_for(uid)[1]["originalContentUrl"].endswith(broadcast.image_name)


@pytest.mark.parametrize("fields, message", [
    ({"title": ""}, "件名を入力してください"),
    ({"title": "あ" * 61}, "件名は60文字以内"),
    ({"text": "あ" * 5001}, "5,000文字以内"),
    ({"text": ""}, "いずれかを入れてください"),
    ({"audience": "segment"}, "いずれかを選んでください"),
    ({"audience": "segment", "municipalities": ["13101"]}, "地域を一覧から選んでください"),
    ({"topic": "spam"}, "お知らせの種類を一覧から選んでください"),
    ({"event_id": "99999"}, "イベントを一覧から選んでください"),
    ({"image": (b"not an image at all", "photo.jpg")}, "画像"),
])
def test_bad_input_gets_a_form_error_and_nothing_is_stored(staff_client, db, fields, message):
    # A file is given as (bytes, name): each run needs its own stream.
    fields = {k: (io.BytesIO(v[0]), v[1]) if k == "image" else v for k, v in fields.items()}
    answer = create(staff_client, **fields)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "入力内容を確認してください" in page or message in page
    assert message in page
    assert latest(db) is None


def test_markup_is_shown_as_text(staff_client, db):
    create(staff_client, title="<script>alert(1)</script>", text="<b>太字</b>")
    detail = staff_client.get(f"/console/broadcasts/{latest(db).id}").get_data(as_text=True)
    listing = staff_client.get("/console/broadcasts").get_data(as_text=True)
    for page in (detail, listing):
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<b>太字</b>" not in detail and "&lt;b&gt;太字&lt;/b&gt;" in detail


def test_schedule_in_the_past_is_refused_and_a_future_one_goes_out(staff_client, db, emulator, app):
    [uid] = friends(emulator, db, 1)
    path = create(staff_client).headers["Location"]
    past = (NOW - dt.timedelta(hours=1)).astimezone(dt.timezone(dt.timedelta(hours=9)))
    answer = staff_client.post(path + "/schedule", data={"csrf_token": token(staff_client, path),
                                                         "send_at": past.strftime("%Y-%m-%dT%H:%M")})
    assert "現在より後の時刻" in answer.get_data(as_text=True)
    assert latest(db).status == "draft"
    future = (NOW + dt.timedelta(hours=2)).astimezone(dt.timezone(dt.timedelta(hours=9)))
    staff_client.post(path + "/schedule", data={"csrf_token": token(staff_client, path),
                                                "send_at": future.strftime("%Y-%m-%dT%H:%M")})
    assert latest(db).status == "scheduled"
    assert "配信予定の一斉配信" in staff_client.get("/console/").get_data(as_text=True)
    with time_machine.travel(NOW + dt.timedelta(hours=2, minutes=1), tick=False):
        assert broadcasts.send_due(app.extensions["bot"]) == 1
        dispatch(app)
    assert len(emulator.messages_for(uid)) == 1


def test_cancel_before_sending(staff_client, db, emulator, app):
    friends(emulator, db, 2)
    path = create(staff_client).headers["Location"]
    staff_client.post(path + "/cancel", data={"csrf_token": token(staff_client, path)})
    assert latest(db).status == "cancelled"
    answer = staff_client.post(path + "/send", data={"csrf_token": token(staff_client, path)})
    assert "取り消されています" in answer.get_data(as_text=True)
    with db.session() as s:
        assert s.scalars(select(OutboxMessage)).all() == []


def test_over_quota_is_refused_with_the_numbers(staff_client, db, emulator):
    friends(emulator, db, 4)
    emulator.set_quota(2)
    path = create(staff_client).headers["Location"]
    answer = staff_client.post(path + "/send", data={"csrf_token": token(staff_client, path)})
    page = answer.get_data(as_text=True)
    assert "残り配信可能数 2通" in page and "4通が必要" in page
    assert latest(db).status == "draft"


def test_posts_without_csrf_are_refused(staff_client, db):
    answer = staff_client.post("/console/broadcasts/new", data={"title": "x", "text": "y", "topic": "events",
                                                               "audience": "all"})
    assert answer.status_code == 400 and latest(db) is None
    path = create(staff_client).headers["Location"]
    assert staff_client.post(path + "/send").status_code == 400
    assert latest(db).status == "draft"
