"""The returns desk console in a real browser (headless Chromium, Playwright) against a real
``forward-orders serve``, seeded with real POSTs: a key entered once, numbers typed and ended with
Enter as a keyboard-wedge scanner does, the cards and their badges, several matches, the history,
not found, a refused key, 5xx, 429 and network failures with retry, hostile client data, a stage
prefix, a phone's width, and that the key never reaches a URL, a cookie or a request log line.

Dates are relative to the moment the data is posted and written as date-times: 12 days and 12 hours
ahead reads "12 days left" for as long as a test run can last, on either side of midnight.
Screenshots of the main states go to build/test-artifacts/console/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Route,
    ViewportSize,
    expect,
)

from tests.local.test_end_to_end import KEY1, KEY2, start_server
from tests.processes import ServeProcess, free_port

NUMBER = "1Z999AA10123456784"  # three acme items (one by its return number), one globex item
PARCEL = "1Z12345E0205271688"  # a tidy parcel of two clients' items, for the README's screenshot
GROUPED = "JD014600006281234567"  # printed in groups on the label, pasted with spaces
SLASHED = "RMA/2024#7"  # needs percent-encoding in the path
UNKNOWN = "1Z000NOTHING0000"
HOSTILE_SKU = "<img src=x onerror=alert(1)>"
HOSTILE_CONCEPT = "Acme <b>Outdoors</b><script>alert(2)</script>"
HOSTILE_LABEL = '"><svg onload=alert(3)>'
WRONG_KEY = "fo_not-a-key-of-anyone"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 375, "height": 812}


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def acme_batch() -> dict[str, Any]:
    return {
        "orders": [
            {
                "identifier": "A-100",
                "concept": HOSTILE_CONCEPT,
                "items": [
                    {
                        "identifier": "1",
                        "upc": "012345678905",
                        "sku": "SKU-TENT-2P",
                        "quantity": 2,
                        "tracking_number": NUMBER,
                        "return_policy_end_date": in_days(12.5),
                        "labels": [
                            {"type": "barcode", "name": "RMA", "value": "998877665544"},
                            {"type": "text", "name": "Note", "value": HOSTILE_LABEL},
                        ],
                    },
                    {
                        "identifier": "2",
                        "upc": "012345678906",
                        "sku": HOSTILE_SKU,
                        "quantity": 1,
                        "tracking_number": NUMBER,
                        "return_policy_end_date": in_days(-2.5),
                    },
                    {
                        "identifier": "3",
                        "upc": "012345678907",
                        "sku": "SKU-STOVE",
                        "quantity": 1,
                        "reverse_tracking_number": NUMBER.lower(),
                    },
                ],
            },
            {
                "identifier": "A-3107",
                "concept": "Acme Outdoors",
                "items": [
                    {
                        "identifier": "1",
                        "upc": "012345678905",
                        "sku": "TENT-2P-GRN",
                        "quantity": 1,
                        "tracking_number": PARCEL,
                        "return_policy_end_date": in_days(12.5),
                        "labels": [{"type": "barcode", "name": "RMA", "value": "RMA-55810"}],
                    },
                    {
                        "identifier": "2",
                        "upc": "012345678912",
                        "sku": "STOVE-MINI",
                        "quantity": 2,
                        "tracking_number": PARCEL,
                        "return_policy_end_date": in_days(-2.5),
                    },
                ],
            },
            {
                "identifier": "A-200",
                "items": [
                    {
                        "identifier": "1",
                        "upc": "1",
                        "sku": "SKU-MAT",
                        "quantity": 1,
                        "tracking_number": GROUPED,
                    },
                    {
                        "identifier": "2",
                        "upc": "2",
                        "sku": "SKU-BAG",
                        "quantity": 1,
                        "reverse_tracking_number": SLASHED,
                    },
                ],
            },
        ]
    }


def globex_batch() -> dict[str, Any]:
    item = {"identifier": "g1", "upc": "9", "sku": "GLX-1", "quantity": 3, "tracking_number": NUMBER}
    lamp = {"identifier": "L-1", "upc": "4006381333931", "sku": "LAMP-DESK-W", "quantity": 1}
    return {
        "orders": [
            {"identifier": "G-7", "items": [{**item, "return_policy_end_date": in_days(0.25)}]},
            {
                "identifier": "G-552",
                "concept": "Globex Home",
                "items": [
                    {**lamp, "reverse_tracking_number": PARCEL, "return_policy_end_date": in_days(0.25)},
                    {
                        "identifier": "L-2",
                        "upc": "4006381333948",
                        "sku": "BULB-E27",
                        "quantity": 4,
                        "tracking_number": PARCEL,
                    },
                ],
            },
        ]
    }


def seed(server: ServeProcess) -> None:
    for key, body in ((KEY1, acme_batch()), (KEY2, globex_batch())):
        reply = server.call("POST", "/forward_orders", key=key, body=body)
        assert reply.status == 200, reply.body


@dataclass
class Desk:
    """The server and what the console is tested with."""

    server: ServeProcess
    operations_key: str
    keys: list[str] = field(default_factory=list)

    @property
    def console_url(self) -> str:
        return self.server.url + "/console"

    def request_log_lines(self) -> list[str]:
        # The gateway's line per request: "<method> <path> -> <status> (<ms> ms) client=... request_id=..."
        return [
            line for line in self.server.output().splitlines() if " -> " in line and "request_id=" in line
        ]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Desk:
    server = start_server(tmp_path_factory.mktemp("serve-console"), request)
    seed(server)
    created = server.cli("keys", "create", "--operations", "--name", "dock-1")
    assert created.returncode == 0, created.stderr
    operations_key = created.stdout.strip()
    return Desk(server, operations_key, [KEY1, KEY2, operations_key, WRONG_KEY])


@dataclass
class Tab:
    """One browser tab on the console, with everything it did recorded."""

    page: Page
    context: BrowserContext
    requests: list[Request] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def record(self, request: Request) -> None:
        self.requests.append(request)

    def enter_key(self, key: str) -> None:
        expect(self.page.locator("#key-input")).to_be_focused()
        self.page.keyboard.type(key)
        self.page.keyboard.press("Enter")

    def scan(self, number: str) -> None:
        """What a keyboard-wedge scanner does: the characters, then Enter, into whatever has focus."""
        self.page.keyboard.type(number)
        self.page.keyboard.press("Enter")

    def cards(self) -> Any:
        return self.page.locator("#results .card")

    def field_of(self, card: Any, name: str) -> str:
        text: str = (
            card.locator(".field", has=self.page.locator("dt", has_text=re.compile(f"^{name}$")))
            .locator("dd")
            .text_content()
        )
        return text

    def tracking_requests(self) -> list[Request]:
        return [request for request in self.requests if "/tracking/" in request.url]

    def screenshot(self, artifacts: Path, name: str) -> None:
        self.page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def open_tab(browser: Browser, url: str, viewport: ViewportSize = DESKTOP) -> Tab:
    context = browser.new_context(viewport=viewport, locale="en-GB", timezone_id="UTC")
    page = context.new_page()
    tab = Tab(page, context)
    context.on("request", tab.record)

    def dismiss(dialog: Any) -> None:
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    page.on("console", lambda message: tab.console.append(_console_text(message)))
    page.goto(url)
    return tab


def _console_text(message: ConsoleMessage) -> str:
    return f"{message.type}: {message.text}"


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


def page_summary(tab: Tab) -> Any:
    return tab.page.locator("#summary")


def with_key(tab: Tab, key: str) -> Tab:
    tab.enter_key(key)
    expect(tab.page.locator("#scan-input")).to_be_focused()
    return tab


# -- scanning ---------------------------------------------------------------------------------------------


def test_a_scanner_looks_up_parcel_after_parcel_without_the_mouse(tab: Tab, artifacts: Path) -> None:
    page = tab.page
    tab.screenshot(artifacts, "01-enter-key")
    with_key(tab, KEY1)
    assert page.evaluate("() => sessionStorage.getItem('forward-orders.console.key')") == KEY1

    tab.scan(NUMBER)

    cards = tab.cards()
    expect(cards).to_have_count(3)
    expect(page.locator("#summary")).to_have_text(f"3 items for {NUMBER}")
    badges = [text.strip() for text in cards.locator(".badge-text").all_text_contents()]
    assert badges == ["Returnable, 12 days left", "Return window closed 3 days ago", "No return policy date"]
    first = cards.nth(0)
    assert [tab.field_of(first, name) for name in ("Order", "Item", "SKU", "UPC", "Quantity")] == [
        "A-100",
        "1",
        "SKU-TENT-2P",
        "012345678905",
        "2",
    ]
    assert tab.field_of(first, "Matched") == f"Tracking number {NUMBER}"
    assert tab.field_of(cards.nth(2), "Matched") == f"Return tracking number {NUMBER.lower()}"
    assert first.locator(".labels li").all_text_contents() == [
        "RMA (barcode): 998877665544",
        f"Note (text): {HOSTILE_LABEL}",
    ]
    # A client key sees its own client's items, unlabelled.
    assert first.locator("dt", has_text="Client").count() == 0
    # Ready for the next parcel: the input is empty and still has the focus.
    expect(page.locator("#scan-input")).to_be_focused()
    expect(page.locator("#scan-input")).to_have_value("")
    tab.screenshot(artifacts, "02-three-matches")

    tab.scan(UNKNOWN)
    expect(page.locator("#results .state-not-found")).to_contain_text("No item has this number")
    tab.scan(NUMBER)
    expect(cards).to_have_count(3)

    history = page.locator("#history li")
    expect(history).to_have_count(3)
    outcomes = [text.strip() for text in history.locator(".history-result").all_text_contents()]
    assert outcomes == [
        "3 items: 1 returnable, 1 window closed, 1 no date",
        "not found",
        "3 items: 1 returnable, 1 window closed, 1 no date",
    ]
    assert history.locator(".history-number").all_text_contents() == [NUMBER, UNKNOWN, NUMBER]
    # The key went in the Authorization header of each lookup, and nowhere else.
    lookups = tab.tracking_requests()
    assert len(lookups) == 3
    assert all(request.headers.get("authorization") == f"Bearer {KEY1}" for request in lookups)
    assert not [
        request for request in tab.requests if request not in lookups and "authorization" in request.headers
    ]


def test_an_operations_key_sees_every_clients_items_each_with_its_client(
    tab: Tab, desk: Desk, artifacts: Path
) -> None:
    with_key(tab, desk.operations_key)
    tab.scan(NUMBER)
    cards = tab.cards()
    expect(cards).to_have_count(4)
    clients = [tab.field_of(cards.nth(index), "Client") for index in range(4)]
    assert clients == ["acme", "acme", "acme", "globex"]
    expect(cards.nth(3).locator(".badge-text")).to_have_text("Returnable, last day")
    assert tab.field_of(cards.nth(3), "Quantity") == "3"
    assert tab.field_of(cards.nth(3), "Concept") == "not set"

    tab.scan(PARCEL)

    expect(page_summary(tab)).to_have_text(f"4 items for {PARCEL}")
    rows = [
        (tab.field_of(cards.nth(i), "Client"), tab.field_of(cards.nth(i), "SKU"), badge)
        for i, badge in enumerate(cards.locator(".badge-text").all_text_contents())
    ]
    assert rows == [
        ("acme", "TENT-2P-GRN", "Returnable, 12 days left"),
        ("acme", "STOVE-MINI", "Return window closed 3 days ago"),
        ("globex", "LAMP-DESK-W", "Returnable, last day"),
        ("globex", "BULB-E27", "No return policy date"),
    ]
    assert tab.page.locator("#history .history-result").all_text_contents() == [
        "4 items: 2 returnable, 1 window closed, 1 no date",
        "4 items: 2 returnable, 1 window closed, 1 no date",
    ]
    tab.screenshot(artifacts, "03-operations-key")  # docs/images/console.png


def test_client_data_is_shown_as_text_and_never_runs(tab: Tab, artifacts: Path) -> None:
    with_key(tab, KEY1)
    tab.scan(NUMBER)
    cards = tab.cards()
    expect(cards).to_have_count(3)

    hostile = cards.nth(1)
    assert tab.field_of(hostile, "SKU") == HOSTILE_SKU
    assert tab.field_of(hostile, "Concept") == HOSTILE_CONCEPT
    results = tab.page.locator("#results")
    assert results.locator("img, script, b, svg[onload]").count() == 0
    # The only SVGs are the badges' icons, the page's own.
    assert results.locator("svg").count() == results.locator("svg.icon").count() == 3
    # The policy itself refuses HTML from strings: Trusted Types without a policy.
    refused = tab.page.evaluate(
        "() => { try { document.body.insertAdjacentHTML('beforeend', '<i>x</i>'); return 'parsed'; }"
        " catch (error) { return error.name; } }"
    )
    assert refused == "TypeError"
    # That deliberate attempt is the only policy violation the browser reported.
    assert [line for line in tab.console if "TrustedHTML" in line] == [
        "error: This document requires 'TrustedHTML' assignment. The action has been blocked."
    ]
    tab.console.clear()
    tab.screenshot(artifacts, "04-hostile-values-as-text")


def test_pasted_numbers_with_spaces_and_numbers_that_need_encoding_are_found(tab: Tab) -> None:
    page = tab.page
    with_key(tab, KEY1)

    # A paste: surrounding whitespace and the groups the label prints.
    page.keyboard.insert_text("  JD01 4600 0062 8123 4567\t ")
    page.keyboard.press("Enter")
    expect(tab.cards()).to_have_count(1)
    assert tab.field_of(tab.cards().nth(0), "SKU") == "SKU-MAT"
    expect(page.locator("#summary")).to_have_text(f"1 item for {GROUPED}: No return policy date")

    tab.scan(SLASHED)
    expect(page.locator("#summary")).to_contain_text(f"1 item for {SLASHED}")
    assert tab.field_of(tab.cards().nth(0), "Matched") == f"Return tracking number {SLASHED}"
    paths = [urlsplit(request.url).path for request in tab.tracking_requests()]
    assert paths == [
        "/tracking/JD01%204600%200062%208123%204567",  # as pasted (trimmed): not found ...
        f"/tracking/{GROUPED}",  # ... then without the spaces
        "/tracking/RMA%2F2024%237",
    ]


def test_typing_after_a_click_elsewhere_still_reaches_the_scan_input(tab: Tab) -> None:
    with_key(tab, KEY1)
    tab.scan(NUMBER)
    expect(tab.cards()).to_have_count(3)
    tab.cards().nth(0).locator(".badge-text").click()
    expect(tab.page.locator("#scan-input")).not_to_be_focused()

    tab.scan(UNKNOWN)

    expect(tab.page.locator("#summary")).to_have_text(f"Not found: {UNKNOWN}")
    expect(tab.page.locator("#scan-input")).to_be_focused()


def test_a_number_that_matches_nothing_says_so(tab: Tab, artifacts: Path) -> None:
    with_key(tab, KEY2)
    tab.scan(UNKNOWN)

    state = tab.page.locator("#results .state-not-found")
    expect(state).to_contain_text("No item has this number")
    expect(state).to_contain_text(UNKNOWN)
    expect(tab.cards()).to_have_count(0)
    tab.screenshot(artifacts, "05-not-found")
    # Another client's items are not found with this client's key either.
    tab.scan("JD014600006281234567")
    expect(tab.page.locator("#summary")).to_have_text("Not found: JD014600006281234567")


# -- the key ----------------------------------------------------------------------------------------------


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


# -- failures ---------------------------------------------------------------------------------------------


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


# -- where it runs ------------------------------------------------------------------------------------------


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
