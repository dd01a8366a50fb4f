"""The console in a real browser, the key: asked for again when refused, kept with the tab, forgotten
on request, never in a URL, a cookie or a request log line."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.browser.desk import NUMBER, WRONG_KEY, Desk, Tab, open_tab, with_key
from tests.local.test_end_to_end import KEY1


def test_a_refused_key_is_asked_for_again_and_the_scan_then_retried(tab: Tab, artifacts: Path) -> None:
    page = tab.page
    with_key(tab, WRONG_KEY)
    tab.scan(NUMBER)

    expect(page.locator("#key-error")).to_contain_text("The key was refused (HTTP 401)")
    expect(page.locator("#key-input")).to_be_focused()
    expect(page.locator("#scan-panel")).to_be_hidden()
    assert page.evaluate("() => sessionStorage.length") == 0
    tab.screenshot(artifacts, "06-key-refused")

    tab.enter_key(KEY1)

    expect(tab.cards()).to_have_count(3)
    outcomes = page.locator("#history .history-result").all_text_contents()
    assert outcomes == ["3 items: 1 returnable, 1 window closed, 1 no date", "key refused"]


def test_the_key_stays_with_the_tab_and_forget_key_removes_it(
    tab: Tab, browser: Browser, desk: Desk, tabs: list[Tab]
) -> None:
    page = tab.page
    with_key(tab, KEY1)
    tab.scan(NUMBER)
    expect(tab.cards()).to_have_count(3)

    page.reload()
    expect(page.locator("#scan-input")).to_be_focused()
    # Another tab has its own session storage: it asks for a key.
    other = open_tab(browser, desk.console_url)
    tabs.append(other)
    expect(other.page.locator("#key-input")).to_be_focused()

    page.locator("#forget-key").click()

    assert page.evaluate("() => sessionStorage.length") == 0
    expect(page.locator("#key-input")).to_be_focused()
    expect(page.locator("#key-error")).to_contain_text("Key forgotten")
    expect(page.locator("#results .card")).to_have_count(0)
    expect(page.locator("#history li")).to_have_count(0)
    page.reload()
    expect(page.locator("#key-panel")).to_be_visible()
    assert page.evaluate("() => document.cookie") == ""
    assert page.evaluate("() => localStorage.length") == 0
