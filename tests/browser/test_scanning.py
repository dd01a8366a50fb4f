"""The console in a real browser, scanning: a key entered once, numbers typed and ended with Enter
as a keyboard-wedge scanner does, the cards and their badges, several matches, the history, not
found, hostile client data shown as text."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.browser.desk import (
    GROUPED,
    HOSTILE_CONCEPT,
    HOSTILE_LABEL,
    HOSTILE_SKU,
    NUMBER,
    PARCEL,
    SLASHED,
    UNKNOWN,
    Desk,
    Tab,
    page_summary,
    with_key,
)
from tests.local.test_end_to_end import KEY1, KEY2


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
