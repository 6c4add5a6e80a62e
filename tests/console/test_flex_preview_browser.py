"""The console's broadcast preview drawn by simulator.flex: the HTML, and the carousel in a real browser."""
from __future__ import annotations

import datetime as dt

import pytest

from bot.models import Broadcast, Event
from tests.test_flex_render import Page

def make_event_broadcast(db) -> int:
    with db.session() as s:
        event = Event(kind="セミナー", title="面接対策セミナー<b>", body="持ち物: 筆記用具", place="ハローワーク大村",
                      apply_method="line", capacity=20,
                      starts_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7))
        s.add(event)
        s.flush()
        broadcast = Broadcast(title="12月のセミナー", topic="events", text="セミナーのご案内です。\n<script>x</script>",
                              event_id=event.id, audience={}, status="draft", created_by="shokuin")
        s.add(broadcast)
        s.flush()
        return broadcast.id


def test_console_preview_renders_the_event_bubble(staff_client, db):
    broadcast_id = make_event_broadcast(db)
    answer = staff_client.get(f"/console/broadcasts/{broadcast_id}")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "/console/static/flex.css" in html
    preview = html[html.index('<div class="phone">'):]
    page = Page(preview)
    assert "面接対策セミナー<b>" in page.text and "<b>" not in preview.split("lf-carousel")[1][:5000]
    assert "セミナーのご案内です。\n<script>x</script>" in page.text
    assert "参加を申し込む" in [b["label"] for b in page.buttons]
    assert 'class="lf-carousel"' in preview
    assert ' style="' not in html


@pytest.mark.browser
def test_preview_carousel_in_the_browser(browser_page, staff_member, db, database_url, artifacts_dir):
    from .conftest import STAFF_PASSWORD

    broadcast_id = make_event_broadcast(db)
    page = browser_page
    page.goto(f"/console/broadcasts/{broadcast_id}")
    page.fill("#login_id", staff_member.login_id)
    page.fill("#password", STAFF_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**/console/broadcasts/{broadcast_id}")

    carousel = page.locator(".phone .lf-carousel")
    assert carousel.is_visible()
    box = carousel.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100
    bubble = page.locator(".phone .lf-bubble").first.bounding_box()
    assert bubble and 250 <= bubble["width"] <= 310  # a mega bubble, 300px wide
    join = page.get_by_role("button", name="参加を申し込む")
    assert join.is_visible()
    # The stylesheet came through the Content-Security-Policy: LINE's green primary button.
    assert join.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(6, 199, 85)"
    assert page.locator(".phone .lf-text-message").is_visible()
    assert page.console_errors == []

    backend = database_url.split(":", 1)[0].split("+", 1)[0]
    path = artifacts_dir / f"console-broadcast-preview-{backend}.png"
    page.locator(".phone").screenshot(path=str(path))
    page.screenshot(path=str(artifacts_dir / f"console-broadcast-preview-page-{backend}.png"), full_page=True)
    assert path.stat().st_size > 5_000
