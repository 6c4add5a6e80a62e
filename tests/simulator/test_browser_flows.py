"""Whole conversations in the simulator page, in Chromium, with the friends `make run` leaves ready:
a saved search paged through its carousel (and a screenshot of it checked), and a consultation booked
from the rich menu to the confirmation, with the calendar (datetime picker) used on the way."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from PIL import Image, ImageStat
from sqlalchemy import select

from bot import users
from bot.booking import rules as booking_rules
from bot.jobs import saved
from bot.jobs import search as job_search
from bot.models import Booking
from simulator.demo_users import DEMO_USERS
from tests.simulator.phone import Phone

JOB_NUMBER = re.compile(r"\d{5}-\d{8}")


def _numbers(carousel) -> list[str]:
    """The job numbers behind the carousel's 詳しく見る buttons, in order."""
    found = []
    for button in carousel.get_by_role("button", name="詳しく見る", exact=True).all():
        found += JOB_NUMBER.findall(Phone.action(button)["data"])
    return found


@pytest.mark.browser
def test_saved_search_and_its_carousel_pages(in_browser, made_demo_server, database_url, artifacts_dir):
    app, base_url = made_demo_server
    hanako = DEMO_USERS[0]
    with app.extensions["bot"].db.session() as session:
        search = saved.listing(session, users.find(session, hanako.line_user_id).id)[0]
        conditions = job_search.Conditions.from_dict(search.conditions)
        pages = [job_search.run(session, conditions, page) for page in (1, 2)]
    assert pages[0].total > 10, "the demo data gives a second page"
    shot = artifacts_dir / f"simulator-carousel-{database_url.split(':', 1)[0].split('+', 1)[0]}.png"

    def scenario(page):
        phone = Phone(page)
        phone.open_as(hanako.name)
        listing = phone.answer(lambda: phone.menu_area("保存した条件").click())
        assert "保存した検索条件(2/3件)" in listing.inner_text()
        bubble = listing.locator(".lf-bubble", has_text=search.name)
        results = phone.answer(lambda: phone.button(bubble, "この条件で検索").click())
        phone.chat.locator(".sim-from-user", has_text=f"「{search.name}」で検索").wait_for()

        carousel = results.locator(".lf-carousel")
        bubbles = carousel.locator(".lf-bubble")
        assert bubbles.count() == 11, "ten jobs and the summary"
        assert f"{pages[0].total}件見つかりました" in results.inner_text()
        assert "1〜10件目を表示しています" in results.inner_text()
        assert set(_numbers(carousel)) == {j.job_number for j in pages[0].jobs}

        # The bubbles stand side by side, at the same height, in order, of a phone's size.
        boxes = [bubbles.nth(i).bounding_box() for i in range(3)]
        for left, right in zip(boxes, boxes[1:]):
            assert abs(left["y"] - right["y"]) < 1, boxes
            assert right["x"] >= left["x"] + left["width"], boxes
        assert all(200 <= b["width"] <= 340 and b["height"] >= 200 for b in boxes), boxes
        results.screenshot(path=str(shot))

        summary = bubbles.last
        second = phone.answer(lambda: phone.button(summary, "次の10件").click())
        assert "11〜20件目を表示しています" in second.inner_text()
        assert set(_numbers(second)) == {j.job_number for j in pages[1].jobs}
        assert not set(_numbers(second)) & set(_numbers(carousel))
        assert phone.errors == []

    in_browser(scenario, base_url)
    _looks_like_a_carousel(shot)


def _looks_like_a_carousel(path) -> None:
    """Obvious breakage only: a blank, tiny or single-colour picture."""
    assert path.stat().st_size > 10_000, path
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        width, height = rgb.size
        assert 300 <= width <= 400 and 250 <= height <= 1_200, rgb.size  # the chat column of the phone
        colours = rgb.getcolors(maxcolors=width * height)
        assert len(colours) > 200, "text, buttons and background, not a flat picture"
        assert max(count for count, _ in colours) < 0.8 * width * height, "mostly one colour"
        assert min(ImageStat.Stat(rgb).stddev) > 20, ImageStat.Stat(rgb).stddev


@pytest.mark.browser
def test_booking_a_consultation_end_to_end(in_browser, made_demo_server):
    app, base_url = made_demo_server
    friend = DEMO_USERS[2]
    tz = app.extensions["bot"].settings.tz
    chosen: dict = {}

    def scenario(page):
        phone = Phone(page)
        phone.open_as(friend.name)
        phone.menu_area("相談・イベント").click()
        page.locator(".sim-richmenu[data-alias='main-consult']:not([hidden])").wait_for()
        info = phone.answer(lambda: phone.menu_area("オンライン相談予約").click())
        assert "オンライン" in info.inner_text()
        phone.answer(lambda: phone.button(info, "相談を予約する").click())

        # The days come from the quick replies: the window moves with today's date in Japan.
        days = _offered_days(phone)
        assert days, "the office has open days in the booking window"
        calendar = phone.chip("カレンダーで選ぶ")
        picker = Phone.action(calendar)
        assert (picker["mode"], picker["min"], picker["max"]) == ("date", days[0].isoformat(), days[-1].isoformat())

        # The calendar: a date before the first one is refused in the dialog, one offered is sent.
        calendar.click()
        dialog = page.locator("#sim-picker")
        field = dialog.locator("input[type='date']")
        field.wait_for()
        assert field.input_value() == picker["initial"]
        field.fill((days[0] - dt.timedelta(days=1)).isoformat())
        dialog.get_by_role("button", name="決定").click()
        assert "の間で選んでください" in dialog.locator("#sim-picker-error").inner_text()
        assert dialog.is_visible()
        by_calendar = days[-1]
        field.fill(by_calendar.isoformat())
        times = phone.answer(lambda: dialog.get_by_role("button", name="決定").click())
        assert not dialog.is_visible()
        note = f"{by_calendar.year}年{by_calendar.month}月{by_calendar.day}日を選びました"
        phone.chat.locator(".sim-note", has_text=note).wait_for()
        assert f"{booking_rules.label_day(by_calendar)}の空いている時間" in times.inner_text()

        # Back to the dates, then a date and a time from the quick replies.
        phone.answer(lambda: phone.chip("日付を選び直す").click())
        day = _offered_days(phone)[0]
        times = phone.answer(lambda: phone.chip(booking_rules.label_day(day)).click())
        assert f"{booking_rules.label_day(day)}の空いている時間" in times.inner_text()
        first_time = phone.chips().first
        chosen.update(day=day, time=first_time.inner_text().strip())
        topics = phone.answer(lambda: first_time.click())
        assert "どのようなご相談ですか" in topics.inner_text()
        phone.answer(lambda: phone.chip("面接の受け方").click())
        summary = phone.answer(lambda: phone.chip("特になし").click())
        assert booking_rules.label_day(day) in summary.inner_text() and chosen["time"] in summary.inner_text()
        done = phone.answer(lambda: phone.button(summary, "予約する").click())
        text = done.inner_text()
        assert "ご予約を受け付けました" in text
        assert f"日時: {booking_rules.label_day(day)} {chosen['time']}〜" in text and "相談内容: 面接の受け方" in text
        assert phone.errors == []

    in_browser(scenario, base_url)
    with app.extensions["bot"].db.session() as session:
        user = users.find(session, friend.line_user_id)
        booked = session.scalars(select(Booking).where(Booking.user_id == user.id)).all()
        assert len(booked) == 1 and booked[0].topic == "interview"
        starts = booked[0].slot.starts_at.astimezone(tz)
        assert (starts.date(), f"{starts:%H:%M}") == (chosen["day"], chosen["time"])


def _offered_days(phone) -> list[dt.date]:
    days = []
    for chip in phone.chips().all():
        found = re.search(r"a=booking\.date&d=(\d{8})", Phone.action(chip).get("data", ""))
        if found:
            days.append(dt.datetime.strptime(found.group(1), "%Y%m%d").date())
    return days


@pytest.mark.browser
def test_time_and_datetime_pickers(in_browser, made_demo_server):
    """The bot itself asks only for dates; a push with the other two modes shows their inputs."""
    app, base_url = made_demo_server
    friend = DEMO_USERS[1]
    pickers = [{"type": "datetimepicker", "label": "時刻", "data": "v=1&a=help.show", "mode": "time",
                "initial": "10:00", "min": "09:00", "max": "17:00"},
               {"type": "datetimepicker", "label": "日時", "data": "v=1&a=help.show", "mode": "datetime",
                "initial": "2030-12-02t10:00", "min": "2030-12-01T09:00", "max": "2030-12-31T17:00"}]
    state = app.extensions["emulator"].state

    def scenario(page):
        phone = Phone(page)
        posted = []  # what the page sent to the simulator's postback API
        page.on("request", lambda r: r.url.endswith("/postback") and posted.append(r.post_data_json))
        phone.open_as(friend.name)
        dialog = page.locator("#sim-picker")
        for picker, kind, value, shown in ((pickers[0], "time", "16:45", "16:45"),
                                           (pickers[1], "datetime-local", "2030-12-24T15:30",
                                            "2030年12月24日 15:30")):
            phone.answer(lambda: state.deliver([friend.line_user_id], [{
                "type": "text", "text": "お選びください",
                "quickReply": {"items": [{"type": "action", "action": picker}]}}]))
            phone.chip(picker["label"]).click()
            field = dialog.locator(f"input[type='{kind}']")
            field.wait_for()
            assert field.input_value() == picker["initial"].replace("t", "T")
            assert (field.get_attribute("min"), field.get_attribute("max")) == (picker["min"], picker["max"])
            field.fill(value)
            answer = phone.answer(lambda: dialog.get_by_role("button", name="決定").click())
            phone.chat.locator(".sim-note", has_text=f"{shown}を選びました").wait_for()
            assert "使い方" in answer.inner_text(), "the postback reached the bot"
        assert posted == [{"data": "v=1&a=help.show", "params": {"time": "16:45"}},
                          {"data": "v=1&a=help.show", "params": {"datetime": "2030-12-24T15:30"}}]
        # Cancelling sends nothing (the next round trip would have shown a postback sent before it).
        phone.answer(lambda: state.deliver([friend.line_user_id], [{
            "type": "text", "text": "お選びください", "quickReply": {"items": [{"type": "action", "action": pickers[0]}]}}]))
        phone.chip("時刻").click()
        dialog.get_by_role("button", name="キャンセル").click()
        assert not dialog.is_visible() and phone.chip("時刻").is_visible()
        phone.answer(lambda: state.deliver([friend.line_user_id], [{"type": "text", "text": "次のお知らせ"}]))
        assert len(posted) == 2
        assert phone.errors == []

    in_browser(scenario, base_url)
