"""A real browser for the console's tests: Debian's headless Chromium driven by Playwright.

Playwright's own browser download is never used (it cannot work on these machines, and `make test`
installs Debian's ``chromium`` instead, see the Makefile); the tests point Playwright at that
executable. Missing, it is a failure that says how to get it, never a skip: a browser test that
does not run proves nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

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
