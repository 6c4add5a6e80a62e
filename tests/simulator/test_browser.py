"""The simulator page in a real browser (Debian's Chromium through Playwright) against the DEMO app."""
from __future__ import annotations

import pytest

from tests.simulator.phone import Phone

REPLY = "reply"  # the emulator's name for LINE's reply endpoint


@pytest.mark.browser
def test_simulator_follow_and_rich_menu(in_browser, demo_server, database_url, artifacts_dir):
    app, base_url = demo_server
    in_browser(lambda page: _scenario(page, app, database_url, artifacts_dir), base_url)


def _scenario(page, app, database_url, artifacts_dir):
    phone = Phone(page)
    page.goto("/simulator/")
    page.fill("#sim-new-name", "大村 花子")
    page.click("#sim-create")
    page.locator("#sim-follow:not([disabled])").click()

    chat = page.locator("#sim-chat")
    chat.locator(".sim-from-bot").first.wait_for()  # the greeting
    greeting_count = chat.locator(".sim-from-bot").count()
    assert greeting_count >= 1
    assert page.locator("#sim-text").is_enabled()

    area = phone.menu_area("求人を探す")
    box = area.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 50, box
    area.click()
    chat.locator(".sim-from-user", has_text="求人を探す").wait_for()
    reply = chat.locator(".sim-from-bot").nth(greeting_count)
    reply.wait_for()
    assert reply.locator("[data-action]").count() >= 1, "the search menu offers buttons"
    assert "求人を探す" in reply.inner_text() and "かんたん検索" in reply.inner_text()
    # What the page shows came through the emulator: the greeting and the menu were LINE replies.
    user_id = phone.user_id()
    records = app.extensions["emulator"].state.records(user_id=user_id)
    assert sum(r["endpoint"] == REPLY for r in records) >= 2, [r["endpoint"] for r in records]

    backend = database_url.split(":", 1)[0].split("+", 1)[0]
    path = artifacts_dir / f"simulator-{backend}.png"
    reply.scroll_into_view_if_needed()
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000

    # The tab switch shows the other menu.
    phone.menu_area("相談・イベント").click()
    page.locator(".sim-richmenu[data-alias='main-consult']:not([hidden])").wait_for()

    assert phone.errors == []
