"""The dashboard: friends, this month's quota from LINE, the outbox, deliveries per day, panels."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from linebot.v3.messaging import MulticastRequest, TextMessage
from sqlalchemy import update

from bot.line import outbox
from bot.models import OutboxMessage, User
from bot.models.outbox import FAILED, SENT
from console import dashboard

from .conftest import STAFF_PASSWORD, signed_in_client

JST = dt.timezone(dt.timedelta(hours=9))


def text(answer) -> str:
    return answer.get_data(as_text=True)


def tile(html: str, heading: str) -> str:
    """The text of the dashboard tile under `heading`, tags removed."""
    section = re.search(rf"<h2>{re.escape(heading)}.*?</section>", html, re.S).group(0)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section))


def add_users(db, following: int, blocked: int):
    with db.session() as s:
        s.add_all([User(line_user_id=f"U{n:032x}", status="following") for n in range(following)])
        s.add_all([User(line_user_id=f"U{n + 1000:032x}", status="blocked") for n in range(blocked)])


def test_figures_as_line_and_the_database_report_them(app, staff_client, db, emulator):
    add_users(db, following=3, blocked=2)
    emulator.set_quota(1000)
    people = [emulator.add_user()["userId"] for _ in range(3)]
    app.extensions["bot"].line.messaging.multicast(MulticastRequest(to=people, messages=[TextMessage(text="お知らせ")]))
    assert emulator.consumption() == 3
    with db.session() as s:
        outbox.push(s, [f"U{n:032x}" for n in range(2)], [{"type": "text", "text": "a"}])  # one multicast
        failed = outbox.push(s, f"U{5:032x}", [{"type": "text", "text": "b"}])[0]
        failed.status = FAILED

    html = text(staff_client.get("/console/"))
    friends = tile(html, "友だち")
    assert "3 人" in friends and "ブロック中 2人" in friends
    quota = tile(html, f"今月（{dt.datetime.now(JST).month}月）の送信数")
    assert "3 / 1,000通" in quota and "残り 997通" in quota
    assert '<meter min="0" max="1000" value="3"' in html
    queue = tile(html, "送信キュー")
    assert "送信待ち 1" in queue and "失敗 1" in queue and "送信済み 0" in queue


def test_no_monthly_limit(staff_client, emulator):
    emulator.set_quota(None)
    assert "上限なし" in tile(text(staff_client.get("/console/")), f"今月（{dt.datetime.now(JST).month}月）の送信数")


@pytest.mark.parametrize("endpoint", ["quota", "quota.consumption"])
def test_dashboard_opens_when_line_fails(staff_client, emulator, endpoint):
    emulator.set_quota(1000)
    emulator.inject(endpoint=endpoint, status=500)
    answer = staff_client.get("/console/")
    assert answer.status_code == 200
    html = text(answer)
    assert "LINEから数値を取得できなかったため、表示できません。" in html
    assert "1,000" not in html
    assert "友だち" in html and "送信キュー" in html and "svg" in html  # the rest is there


def test_dashboard_does_not_wait_long_for_a_slow_line(staff_client, emulator, monkeypatch):
    monkeypatch.setattr(dashboard, "QUOTA_TIMEOUT", (1.0, 0.3))
    emulator.inject(endpoint="quota", delay=2, times=1)
    answer = staff_client.get("/console/")
    # The quota would arrive after 2 s; the page gave up at its read timeout and says so.
    assert "LINEから数値を取得できなかった" in text(answer)


def sent(session, rows, kind, recipients, at: dt.datetime, status=SENT):
    if kind == "broadcast":
        row = outbox.broadcast(session, [{"type": "text", "text": "全員へ"}])
    else:
        row = outbox.push(session, recipients, [{"type": "text", "text": "x"}])[0]
    session.flush()
    session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(status=status, sent_at=at))
    rows.append(row)


def test_deliveries_per_day_in_japan_time(app, staff_member, db):
    users = [f"U{n:032x}" for n in range(6)]
    rows = []
    with db.session() as s:
        sent(s, rows, "push", users[0], dt.datetime(2026, 11, 19, 23, 30, tzinfo=JST))  # 14:30 UTC on the 19th
        sent(s, rows, "multicast", users[:3], dt.datetime(2026, 11, 20, 0, 30, tzinfo=JST))  # 15:30 UTC on the 19th
        sent(s, rows, "multicast", users[3:5], dt.datetime(2026, 11, 20, 9, 0, tzinfo=JST))
        sent(s, rows, "broadcast", [], dt.datetime(2026, 11, 18, 10, 0, tzinfo=JST))
        sent(s, rows, "multicast", users, dt.datetime(2026, 11, 20, 10, 0, tzinfo=JST), status=FAILED)
        sent(s, rows, "push", users[0], dt.datetime(2026, 10, 21, 23, 59, tzinfo=JST))  # 30 days ago: left out
        sent(s, rows, "push", users[1], dt.datetime(2026, 10, 22, 0, 0, tzinfo=JST))  # the first day shown

    with time_machine.travel(dt.datetime(2026, 11, 20, 12, 0, tzinfo=JST), tick=False):
        with db.session() as s:
            days = dashboard.deliveries(s, app.extensions["bot"].settings.tz, dt.date(2026, 11, 20))
        # Signed in inside the travel: a session cookie signed "later" would be refused as forged.
        html = text(signed_in_client(app, staff_member.login_id, STAFF_PASSWORD).get("/console/"))
    assert len(days) == 30 and days[0].date == dt.date(2026, 10, 22) and days[-1].date == dt.date(2026, 11, 20)
    figures = {d.date.day: (d.recipients, d.broadcasts) for d in days if d.recipients or d.broadcasts}
    assert figures == {22: (1, 0), 18: (0, 1), 19: (1, 0), 20: (5, 0)}

    assert "<title>11月19日: 1人</title>" in html
    assert "<title>11月20日: 5人</title>" in html
    assert "<title>11月18日: 0人、一斉配信 1回</title>" in html
    assert "10月22日〜11月20日の合計 7人、一斉配信 1回" in html
    assert html.count('class="bar"') == 30 and html.count('class="broadcast"') == 1
    # The axis tops out at 5 (the busiest day), so that day's bar is the full plot height.
    chart = dashboard.chart(days)
    assert chart["top_value"] == 5
    tallest = max(chart["bars"], key=lambda b: b["height"])
    assert tallest["day"].date.day == 20 and tallest["height"] == chart["bottom"] - chart["top"]


def test_nice_axis_ceiling():
    given = (1, 3, 7, 10, 11, 480, 501, 12000)
    assert [dashboard._nice_ceiling(n) for n in given] == [1, 5, 10, 10, 20, 500, 1000, 20000]


def test_panels_kept_for_later_features(staff_client):
    html = text(staff_client.get("/console/"))
    for key, title in [("upcoming_events", "今後のイベント"), ("scheduled_broadcasts", "配信予定の一斉配信")]:
        assert f'id="panel-{key}"' in html and title in html
    assert html.index("panel-upcoming_events") < html.index("panel-scheduled_broadcasts")


def test_a_registered_panel_fills_its_place_and_a_broken_one_does_not_break_the_page(staff_client, monkeypatch):
    monkeypatch.setattr(dashboard, "PANELS", dict(dashboard.PANELS))
    dashboard.register_panel("upcoming_events", "今後のイベント", "console/broadcasts/panel.html",
                             load=lambda session: {"items": []})
    dashboard.register_panel("broken", "壊れた欄", "console/broadcasts/panel.html",
                             load=lambda session: 1 / 0)
    html = text(staff_client.get("/console/"))
    events = html[html.index('id="panel-upcoming_events"'):html.index('id="panel-scheduled_broadcasts"')]
    assert "予約中の配信はありません" in events  # replaced in place: still first
    assert 'id="panel-broken"' in html and "この欄の内容を読み込めませんでした。" in html
