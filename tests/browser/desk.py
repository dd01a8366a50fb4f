"""What the console's browser tests work with: the seeded data (real POSTs through ``forward-orders
serve``), the desk (that server and its keys) and a recorded browser tab.

Dates are relative to the moment the data is posted and written as date-times: 12 days and 12 hours
ahead reads "12 days left" for as long as a test run can last, on either side of midnight.
Screenshots of the main states go to build/test-artifacts/console/.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, ViewportSize, expect

from tests.local.test_end_to_end import KEY1, KEY2
from tests.processes import ServeProcess

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


def page_summary(tab: Tab) -> Any:
    return tab.page.locator("#summary")


def with_key(tab: Tab, key: str) -> Tab:
    tab.enter_key(key)
    expect(tab.page.locator("#scan-input")).to_be_focused()
    return tab
