"""The returns desk console's function from the synthesized template, run by ``sam local invoke``
on arm64 and Python 3.14, without the dependency layer: the page and an asset, as API Gateway's
unauthenticated methods hand them over (no authorizer context)."""

from __future__ import annotations

from common.console_resources import CONSOLE_ASSET_RESOURCE, CONSOLE_PAGE_RESOURCE
from tests.api.test_console import console_event
from tests.sam.harness import Sam


def test_the_page_and_an_asset_are_served(sam: Sam, function_ids: dict[str, str]) -> None:
    page = sam.invoke(
        function_ids["console"],
        console_event(CONSOLE_PAGE_RESOURCE),
        label="console: page",
    ).payload
    assert page["statusCode"] == 200, page
    assert page["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert "<title>Returns desk" in page["body"]
    script = sam.invoke(
        function_ids["console"],
        console_event(CONSOLE_ASSET_RESOURCE, "console.js"),
        label="console: script",
    ).payload
    assert script["statusCode"] == 200, script
    assert script["headers"]["Content-Type"] == "text/javascript; charset=utf-8"
