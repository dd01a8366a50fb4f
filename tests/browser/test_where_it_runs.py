"""The console in a real browser, where it runs: under a stage prefix, at a phone's width, by
label for assistive technology."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Route, expect

from tests.browser.desk import DESKTOP, NUMBER, PHONE, Desk, Tab, open_tab, with_key
from tests.local.test_end_to_end import KEY1


def test_under_a_stage_prefix_the_page_its_assets_and_its_lookups_stay_under_the_stage(
    browser: Browser, desk: Desk, tabs: list[Tab]
) -> None:
    """As at https://<api>.execute-api.<region>.amazonaws.com/v1/console: the browser sees /v1/...,
    and the stage strips /v1 before routing (here, a route that forwards to the local server)."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    tab = Tab(page, context)
    tabs.append(tab)
    context.on("request", tab.record)
    page.on("pageerror", lambda error: tab.errors.append(str(error)))

    def strip_stage(route: Route) -> None:
        parts = urlsplit(route.request.url)
        target = desk.server.url + parts.path.removeprefix("/v1") + (f"?{parts.query}" if parts.query else "")
        route.fulfill(response=route.fetch(url=target))

    page.route(f"{desk.server.url}/v1/**", strip_stage)
    page.goto(desk.server.url + "/v1/console")
    with_key(tab, KEY1)
    tab.scan(NUMBER)

    expect(tab.cards()).to_have_count(3)
    paths = [urlsplit(request.url).path for request in tab.requests]
    assert paths == [
        "/v1/console",
        "/v1/console/console.css",
        "/v1/console/console.js",
        f"/v1/tracking/{NUMBER}",
    ]


def test_at_a_phones_width_everything_fits(
    browser: Browser, desk: Desk, tabs: list[Tab], artifacts: Path
) -> None:
    tab = open_tab(browser, desk.console_url, viewport=PHONE)
    tabs.append(tab)
    with_key(tab, KEY1)
    tab.scan(NUMBER)
    expect(tab.cards()).to_have_count(3)

    widths = tab.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths == [PHONE["width"], PHONE["width"]], "nothing wider than the screen"
    badge = tab.cards().nth(0).locator(".badge-text").bounding_box()
    assert badge is not None and badge["x"] >= 0 and badge["x"] + badge["width"] <= PHONE["width"]
    tab.screenshot(artifacts, "09-phone")


def test_the_page_is_accessible_by_label_with_live_results_and_a_visible_focus(tab: Tab) -> None:
    page = tab.page
    expect(page.get_by_label("Operations or client API key")).to_be_focused()
    with_key(tab, KEY1)
    expect(page.get_by_label("Tracking number")).to_be_focused()
    assert page.locator("#summary").get_attribute("aria-live") == "polite"
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    tab.scan(NUMBER)
    expect(page.locator("#summary")).to_have_text(f"3 items for {NUMBER}")
    # The badge's words say it all: no colour needed, the icon is decoration.
    assert page.locator("#results svg[aria-hidden='true']").count() == 3
