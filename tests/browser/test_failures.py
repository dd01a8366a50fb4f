"""The console in a real browser when the service fails: 5xx, 429 and an unreachable server, each
with its retry."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.desk import NUMBER, Tab, open_tab, seed, with_key
from tests.local.test_end_to_end import KEY1, start_server
from tests.processes import free_port


def _answer_once(page: Page, status: int, headers: dict[str, str], body: str) -> list[str]:
    """The next tracking lookup gets this answer (as API Gateway would give it); later ones pass."""
    answered: list[str] = []

    def handle(route: Route) -> None:
        if answered:
            route.continue_()
            return
        answered.append(route.request.url)
        route.fulfill(status=status, headers={"Content-Type": "application/json", **headers}, body=body)

    page.route("**/tracking/**", handle)
    return answered


def test_a_5xx_offers_a_retry_after_retry_after_and_the_retry_works(tab: Tab, artifacts: Path) -> None:
    page = tab.page
    with_key(tab, KEY1)
    answered = _answer_once(
        page, 502, {"Retry-After": "1", "x-request-id": "req-502"}, '{"message": "Bad Gateway"}'
    )

    tab.scan(NUMBER)

    state = page.locator("#results .state-failed")
    expect(state).to_contain_text("The service failed (HTTP 502)")
    expect(state).to_contain_text("Retry in 1 second")
    expect(state).to_contain_text("req-502")
    retry = state.get_by_role("button", name="Retry")
    expect(retry).to_be_disabled()
    tab.screenshot(artifacts, "07-service-failed")
    expect(retry).to_be_enabled(timeout=3000)
    retry.click()
    expect(tab.cards()).to_have_count(3)
    expect(page.locator("#scan-input")).to_be_focused()
    assert len(answered) == 1
    assert page.locator("#history .history-result").all_text_contents() == [
        "3 items: 1 returnable, 1 window closed, 1 no date",
        "failed (HTTP 502)",
    ]


def test_429_says_how_long_to_wait(tab: Tab) -> None:
    with_key(tab, KEY1)
    _answer_once(tab.page, 429, {"Retry-After": "2"}, '{"message": "Too Many Requests"}')

    tab.scan(NUMBER)

    state = tab.page.locator("#results .state-failed")
    expect(state).to_contain_text("Too many requests (HTTP 429)")
    expect(state).to_contain_text("Wait 2 seconds, then retry.")


def test_an_unreachable_server_offers_a_retry_that_works_once_it_is_back(
    browser: Browser, tmp_path: Path, request: pytest.FixtureRequest, artifacts: Path, tabs: list[Tab]
) -> None:
    port = free_port()
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = start_server(tmp_path / "first", request, port=port)
    tab = open_tab(browser, first.url + "/console")
    tabs.append(tab)
    with_key(tab, KEY1)
    first.process.kill()
    first.process.wait(timeout=10)

    tab.scan(NUMBER)

    state = tab.page.locator("#results .state-failed")
    expect(state).to_contain_text("Could not reach the service")
    expect(tab.page.locator("#history .history-result")).to_have_text(["service unreachable"])
    tab.screenshot(artifacts, "08-unreachable")

    second = start_server(tmp_path / "second", request, port=port)
    seed(second)
    state.get_by_role("button", name="Retry").click()

    expect(tab.cards()).to_have_count(3)
    for server in (first, second):
        assert not [line for line in server.output().splitlines() if KEY1 in line and " -> " in line]
