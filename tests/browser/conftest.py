"""A real browser for the console's tests: Debian's headless Chromium driven by Playwright.

Playwright's own browser download is never used (it cannot work on these machines, and `make test`
installs Debian's ``chromium`` instead, see the Makefile); the tests point Playwright at that
executable. Missing, it is a failure that says how to get it, never a skip: a browser test that
does not run proves nothing.

The desk (one seeded ``forward-orders serve`` for the whole package) and the tabs a test opens,
checked afterwards for leaks (a key in a URL or a log line, a cookie, a dialog, a script error).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.browser.desk import WRONG_KEY, Desk, Tab, open_tab, seed
from tests.local.test_end_to_end import KEY1, KEY2, start_server

CHROMIUM = Path(os.environ.get("FORWARD_ORDERS_CHROMIUM", "/usr/bin/chromium"))
# Headless and quiet: on a machine with no network beyond the registries, Chromium's background
# connections (updates, sync, safe browsing, QUIC probes) would only be refused. Playwright gives
# every launch a fresh, empty profile directory of its own.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts" / "console"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: `make chromium` installs Debian's (make test does it itself), "
            "or set FORWARD_ORDERS_CHROMIUM to another Chromium or Chrome executable"
        )
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots of the console's states go (build/ is not committed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# One server for every module of the console's tests (seeding it takes a while).
@pytest.fixture(scope="package")
def desk(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Desk:
    server = start_server(tmp_path_factory.mktemp("serve-console"), request)
    seed(server)
    created = server.cli("keys", "create", "--operations", "--name", "dock-1")
    assert created.returncode == 0, created.stderr
    operations_key = created.stdout.strip()
    return Desk(server, operations_key, [KEY1, KEY2, operations_key, WRONG_KEY])


@pytest.fixture
def tabs(browser: Browser, desk: Desk) -> Iterator[list[Tab]]:
    """The tabs a test opens; afterwards, whatever the test did, nothing leaked and nothing broke."""
    opened: list[Tab] = []
    yield opened
    log_lines = desk.request_log_lines()
    for tab in opened:
        urls = [request.url for request in tab.requests]
        for key in desk.keys:
            assert not [url for url in urls if key in url], "a key in a URL"
            assert not [line for line in log_lines if key in line], "a key in the server's request log"
        assert tab.context.cookies() == []
        assert tab.dialogs == [], "a dialog opened: client data ran as script"
        assert tab.errors == []
        assert not [line for line in tab.console if "Content Security Policy" in line or "Trusted" in line]
        # Every request stayed on the console's own origin.
        assert len({urlsplit(url).netloc for url in urls}) == 1, urls
        tab.context.close()


@pytest.fixture
def tab(browser: Browser, desk: Desk, tabs: list[Tab]) -> Tab:
    opened = open_tab(browser, desk.console_url)
    tabs.append(opened)
    return opened
