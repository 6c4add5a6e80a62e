"""Console fixtures: staff accounts, signed-in test clients, and a running server with a real browser.

Browser tests (`@pytest.mark.browser`) drive Debian's Chromium (/usr/bin/chromium, `apt-get install
chromium`) through Playwright for Python; Playwright's own browser download is never used. A missing
browser fails the test; outside CI, SKIP_BROWSER_TESTS=1 turns that into a skip.
"""
from __future__ import annotations

import os
import re
import threading

import pytest
from werkzeug.serving import make_server

from bot.config import PROJECT_ROOT
from bot.models.staff import ADMIN, STAFF, Staff
from console.auth import hash_password

ADMIN_PASSWORD = "kanri-password-2026"
STAFF_PASSWORD = "shokuin-password-2026"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives Chromium (/usr/bin/chromium) through Playwright")


def make_staff(db, login_id: str, *, role: str = STAFF, password: str = STAFF_PASSWORD,
               name: str | None = None, **fields) -> Staff:
    with db.session() as s:
        staff = Staff(login_id=login_id, display_name=name or login_id, role=role,
                      password_hash=hash_password(password), **fields)
        s.add(staff)
    return staff


@pytest.fixture
def admin(db) -> Staff:
    return make_staff(db, "kanri", role=ADMIN, password=ADMIN_PASSWORD, name="管理 花子")


@pytest.fixture
def staff_member(db) -> Staff:
    return make_staff(db, "shokuin", name="職員 太郎")


def csrf_token(client, path: str = "/console/login") -> str:
    """The CSRF token of this client's session, read from a console page's hidden field."""
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client, login_id: str, password: str, next_: str | None = None, address: str | None = None):
    """Posts the sign-in form; `address` is the client's address as the proxy reports it."""
    url = "/console/login" + (f"?next={next_}" if next_ else "")
    headers = {"X-Forwarded-For": address} if address else {}
    return client.post(url, data={"csrf_token": csrf_token(client), "login_id": login_id, "password": password},
                       headers=headers)


def signed_in_client(app, login_id: str, password: str):
    client = app.test_client()
    answer = sign_in(client, login_id, password)
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/", answer.get_data(as_text=True)
    return client


@pytest.fixture
def admin_client(app, admin):
    return signed_in_client(app, admin.login_id, ADMIN_PASSWORD)


@pytest.fixture
def staff_client(app, staff_member):
    return signed_in_client(app, staff_member.login_id, STAFF_PASSWORD)


# ---- a running server and a browser ------------------------------------------------------------

@pytest.fixture
def live_server(app):
    """The test app served over HTTP on a free port, for the browser."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="console-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join(timeout=10)


def _browser_missing(reason: str):
    # Never a skip: a run that did not drive the browser must not pass (`make test` installs it).
    pytest.fail(f"{reason} (`make test` installs chromium and the fonts)", pytrace=False)


@pytest.fixture(scope="session")
def chromium():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_missing("Playwright for Python is not installed: .venv/bin/pip install -e '.[dev]'")
    if not os.access(CHROMIUM, os.X_OK):
        _browser_missing(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, live_server):
    """A fresh browser page (own cookies) whose relative URLs go to the live server.

    `browser_page.console_errors` collects the page's console errors, Content-Security-Policy
    violations among them.
    """
    context = chromium.new_context(base_url=live_server, locale="ja-JP", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    yield page
    context.close()


@pytest.fixture
def artifacts_dir():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
