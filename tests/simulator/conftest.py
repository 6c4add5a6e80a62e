"""Simulator fixtures: the app in DEMO mode served over HTTP, so the bot's LINE calls reach the
emulator mounted in the same app (/emulator), as `make run` serves it."""
from __future__ import annotations

import contextlib
import os
import threading

import pytest
from werkzeug.serving import make_server

from app import create_app
from bot.config import EMULATOR_MOUNT, Settings
from simulator.emulator.server import QuietHandler
from tests.console.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

DEMO_TOKEN = "demo-token"
DEMO_SECRET = "fedcba9876543210fedcba9876543210"


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives Chromium (/usr/bin/chromium) through Playwright")


def _placeholder(environ, start_response):
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


# What `make run` does before it serves (Makefile, target run), with fewer listings.
MAKE_RUN_SETUP = (("jobs", "generate", "--count", "300", "--seed", "1", "--if-empty"),
                  ("simulator", "demo-users"))


def run_cli(settings: Settings, *args: str) -> str:
    """A `flask --app app ...` command in an app of its own, as a separate process would run it."""
    app = create_app(settings)
    try:
        result = app.test_cli_runner().invoke(args=list(args))
        assert result.exit_code == 0, (args, result.output)
        return result.output
    finally:
        app.extensions["bot"].close()


@contextlib.contextmanager
def serving(database_url: str, tmp_path, setup=()):
    """(app, base_url): the demo app on a free port. The socket is bound first, so the settings can
    point the SDK at this very server's /emulator; then `setup` runs (CLI commands, before the app
    starts, as in `make run`), and the app is built and put behind the socket."""
    server = make_server("127.0.0.1", 0, _placeholder, threaded=True, request_handler=QuietHandler)
    base_url = f"http://127.0.0.1:{server.port}"
    settings = Settings(demo=True, channel_secret=DEMO_SECRET, channel_access_token=DEMO_TOKEN,
                        api_base_url=base_url + EMULATOR_MOUNT, data_api_base_url=base_url + EMULATOR_MOUNT,
                        database_url=database_url, secret_key="s" * 40, public_base_url=base_url,
                        line_timeout=5.0)
    for args in setup:
        run_cli(settings, *args)
    app = create_app(settings)
    app.config["TESTING"] = True
    app.instance_path = str(tmp_path / "instance")
    server.app = app
    thread = threading.Thread(target=server.serve_forever, name="simulator-live-server", daemon=True)
    thread.start()
    try:
        yield app, base_url
    finally:
        server.shutdown()
        thread.join(timeout=10)
        services = app.extensions["bot"]
        services.close()


@pytest.fixture
def demo_server(database_url, tmp_path):
    """The demo app on an empty database."""
    with serving(database_url, tmp_path) as served:
        yield served


@pytest.fixture
def made_demo_server(database_url, tmp_path):
    """The demo app as `make run` leaves it: listings and the demo friends made before it started."""
    with serving(database_url, tmp_path, MAKE_RUN_SETUP) as served:
        yield served


@pytest.fixture
def demo_app(demo_server):
    return demo_server[0]


@pytest.fixture
def demo_client(demo_app):
    return demo_app.test_client()


@pytest.fixture
def artifacts_dir():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _browser_missing(reason: str):
    # Never a skip: a run that did not drive the browser must not pass (`make test` installs it).
    pytest.fail(f"{reason} (`make test` installs chromium and the fonts)", pytrace=False)


@pytest.fixture
def in_browser():
    """`in_browser(scenario, base_url)` runs `scenario(page)` in Chromium, in a thread of its own.

    The console's session-wide Playwright (tests/console/conftest.py) may already be running in this
    worker's main thread, and Playwright's sync API allows one per thread; so this one gets a thread.
    """
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _browser_missing("Playwright for Python is not installed: .venv/bin/pip install -e '.[dev]'")
    if not os.access(CHROMIUM, os.X_OK):
        _browser_missing(f"{CHROMIUM} is missing: apt-get install -y chromium")

    def run(scenario, base_url: str):
        from playwright.sync_api import sync_playwright

        outcome: dict = {}

        def target():
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                         headless=True)
                    try:
                        context = browser.new_context(base_url=base_url, locale="ja-JP",
                                                      viewport={"width": 1100, "height": 900})
                        context.set_default_timeout(15_000)
                        scenario(context.new_page())
                        context.close()
                    finally:
                        browser.close()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
                outcome["error"] = exc

        thread = threading.Thread(target=target, name="simulator-browser", daemon=True)
        thread.start()
        thread.join(timeout=120)
        if thread.is_alive():
            pytest.fail("the browser scenario did not finish in 120 s")
        if "error" in outcome:
            raise outcome["error"]

    return run
