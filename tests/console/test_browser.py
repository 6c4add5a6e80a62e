"""The console in a real browser: sign in as an administrator and see the dashboard."""
from __future__ import annotations

import pytest

from .conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser


def test_admin_signs_in_and_sees_the_dashboard(browser_page, admin, database_url, artifacts_dir):
    page = browser_page
    page.goto("/console/")
    assert "/console/login" in page.url  # asked to sign in first

    page.fill("#login_id", admin.login_id)
    page.fill("#password", ADMIN_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/console/")

    assert page.locator("h1").inner_text() == "ダッシュボード"
    assert page.locator("header .name").inner_text() == "管理 花子さん"
    assert page.locator("svg.chart rect.bar").count() == 30
    assert page.locator("#panel-upcoming_events").is_visible()
    # The stylesheet came through the Content-Security-Policy (a blocked one would leave it unstyled).
    assert page.eval_on_selector("header.top", "e => getComputedStyle(e).backgroundColor") == "rgb(30, 111, 186)"
    assert page.console_errors == []

    backend = database_url.split(":", 1)[0].split("+", 1)[0]
    path = artifacts_dir / f"console-dashboard-{backend}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
