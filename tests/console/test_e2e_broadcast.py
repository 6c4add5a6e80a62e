"""In a real browser: a staff member announces a seminar and schedules it to a segment; at the set time
exactly the right friends receive it at the emulator."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from PIL import Image
from sqlalchemy import select

from bot import broadcasts
from bot.models import Event
from tests.factories import friends
from tests.test_dispatcher import dispatch

from .conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser
TOKYO = dt.timezone(dt.timedelta(hours=9))


def test_event_with_image_scheduled_to_a_segment(browser_page, staff_member, db, emulator, app, tmp_path,
                                                  artifacts_dir, database_url):
    omura = friends(emulator, db, 3, municipality_code="42205")
    omura_no_events = friends(emulator, db, 1, municipality_code="42205", events=False)
    isahaya = friends(emulator, db, 2, municipality_code="42204")
    flyer = tmp_path / "flyer.png"
    Image.new("RGB", (1800, 1200), (30, 110, 186)).save(flyer)

    page = browser_page
    page.goto("/console/login")
    page.fill("#login_id", staff_member.login_id)
    page.fill("#password", STAFF_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/console/")

    # 1. The seminar, with its image.
    starts = (dt.datetime.now(TOKYO) + dt.timedelta(days=10)).replace(hour=13, minute=30)
    page.goto("/console/events/new")
    page.fill("#title", "面接対策セミナー")
    page.fill("#body", "面接でよく聞かれる質問と答え方を練習します。")
    page.fill("#starts_at", starts.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#ends_at", (starts + dt.timedelta(hours=1, minutes=30)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#place", "ハローワーク大村 2階会議室")
    page.fill("#capacity", "20")
    page.set_input_files("#image", str(flyer))
    page.click("form input[type=submit]")
    page.wait_for_url("**/console/events**")
    assert page.locator("text=面接対策セミナー").first.is_visible()
    with db.session() as s:
        event = s.scalar(select(Event).where(Event.title == "面接対策セミナー"))
        assert event.image_name and event.capacity == 20

    # 2. A broadcast of it to friends in Omura, scheduled two hours ahead.
    page.goto("/console/broadcasts/new")
    page.fill("#title", "面接対策セミナーの案内(大村市)")
    page.fill("#text", "面接対策セミナーを開きます。ぜひご参加ください。")
    page.select_option("#event_id", label="セミナー: 面接対策セミナー")
    page.check("input[name=audience][value=segment]")
    page.check("input[name=municipalities][value='42205']")
    page.click("form input[type=submit]")
    page.wait_for_url("**/console/broadcasts/*")
    assert "送信する人数" in page.content()
    send_at = dt.datetime.now(TOKYO) + dt.timedelta(hours=2)
    page.fill("#send_at", send_at.strftime("%Y-%m-%dT%H:%M"))
    page.click("text=予約する")
    page.wait_for_load_state()
    assert "予約済み" in page.content()
    assert emulator.records(endpoint="multicast") == []  # nothing before its time

    # 3. The clock reaches the set time; the dispatcher delivers.
    with time_machine.travel(send_at + dt.timedelta(minutes=1), tick=False):
        assert broadcasts.send_due(app.extensions["bot"]) == 1
        dispatch(app)
    for uid in omura:
        received = emulator.messages_for(uid)
        assert [m["type"] for m in received] == ["text", "flex"]
        assert "面接対策セミナー" in received[1]["altText"]
        assert received[1]["contents"]["contents"][0]["hero"]["url"].endswith(event.image_name)
    for uid in omura_no_events + isahaya:
        assert emulator.messages_for(uid) == []

    page.reload()
    content = page.content()
    assert "送信済み" in content
    backend = database_url.split(":", 1)[0].split("+", 1)[0]
    shot = artifacts_dir / f"console-broadcast-{backend}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert page.console_errors == []
