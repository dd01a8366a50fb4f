"""``return_eligibility`` in GET /tracking/{tracking_number}, through the API function in-process,
with its clock set (``forward_orders.handler.request_time``): every match judged at one instant of
the request, for dates, date-times and items without an end date, and for both kinds of key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import jsonschema
import pytest

from tests.api.tracking_calls import matches, post, track
from tests.factories import batch, item, order

pytestmark = [
    pytest.mark.usefixtures("dynamodb"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]

NUMBER = "1Z999AA10123456784"


@pytest.fixture
def set_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], list[int]]:
    """Set the API's clock to an instant; returns a list counting how often it was read."""
    from forward_orders import handler

    readings: list[int] = []

    def set_to(moment: str) -> list[int]:
        def request_time() -> datetime:
            readings.append(1)
            return datetime.fromisoformat(moment)

        monkeypatch.setattr(handler, "request_time", request_time)
        return readings

    return set_to


def _items() -> list[dict[str, object]]:
    return [
        item("date", tracking_number=NUMBER, return_policy_end_date="2025-03-15"),
        item("instant", tracking_number=NUMBER, return_policy_end_date="2025-03-15T17:00:00-05:00"),
        item("naive", tracking_number=NUMBER, return_policy_end_date="2025-03-15T12:00:00"),
        item("none", tracking_number=NUMBER),
    ]


@cache
def eligibility_schema() -> Any:
    """ReturnEligibility of the OpenAPI document, with its references resolvable."""
    from forward_orders_cli.openapi import openapi_document

    document = openapi_document()
    return {**document["components"]["schemas"]["ReturnEligibility"], "components": document["components"]}


def eligibility_by_item(client_id: str | None = "acme") -> dict[str, tuple[str, str | None, int | None]]:
    result = {}
    for match in matches(track(NUMBER, client_id)):
        eligibility = match["return_eligibility"]
        jsonschema.validate(eligibility, eligibility_schema())
        assert set(eligibility) == {"status", "return_policy_end_date", "days_left"}
        assert eligibility["return_policy_end_date"] == match["item"].get("return_policy_end_date")
        result[match["item"]["identifier"]] = (
            eligibility["status"],
            eligibility["return_policy_end_date"],
            eligibility["days_left"],
        )
    return result


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (
            "2025-03-03T12:00:00+00:00",
            {"date": ("eligible", 12), "instant": ("eligible", 12), "naive": ("eligible", 12)},
        ),
        # 12:00 UTC on the last day: the naive date-time (read as UTC) ends now, still inside.
        (
            "2025-03-15T12:00:00+00:00",
            {"date": ("eligible", 0), "instant": ("eligible", 0), "naive": ("eligible", 0)},
        ),
        (
            "2025-03-15T12:00:00.000001+00:00",
            {"date": ("eligible", 0), "instant": ("eligible", 0), "naive": ("expired", -1)},
        ),
        # 23:00 UTC, on the 16th in Berlin: the date's last day goes on, the instant is past.
        (
            "2025-03-16T00:00:00+01:00",
            {"date": ("eligible", 0), "instant": ("expired", -1), "naive": ("expired", -1)},
        ),
        (
            "2025-03-18T12:00:00+00:00",
            {"date": ("expired", -3), "instant": ("expired", -3), "naive": ("expired", -3)},
        ),
    ],
)
def test_each_match_says_whether_its_item_can_still_be_returned_at_the_request_time(
    set_clock: Callable[[str], list[int]], now: str, expected: dict[str, tuple[str, int]]
) -> None:
    post(batch(order("A-1", _items())))
    readings = set_clock(now)

    found = eligibility_by_item()

    assert readings == [1], "one clock reading per request"
    assert found["none"] == ("unknown", None, None)
    end_dates = {entry["identifier"]: entry.get("return_policy_end_date") for entry in _items()}
    assert {name: found[name] for name in expected} == {
        name: (status, end_dates[name], days) for name, (status, days) in expected.items()
    }


def test_an_operations_key_sees_the_same_eligibility_on_every_clients_matches(
    set_clock: Callable[[str], list[int]],
) -> None:
    post(batch(order("A-1", [item("a", tracking_number=NUMBER, return_policy_end_date="2025-03-15")])))
    post(
        batch(order("G-1", [item("g", tracking_number=NUMBER, return_policy_end_date="2025-03-01")])),
        client_id="globex",
    )
    set_clock("2025-03-10T08:00:00+00:00")

    assert eligibility_by_item(client_id=None) == {
        "a": ("eligible", "2025-03-15", 5),
        "g": ("expired", "2025-03-01", -9),
    }


def test_an_update_of_the_end_date_changes_the_next_answer(set_clock: Callable[[str], list[int]]) -> None:
    post(batch(order("A-1", [item("a", tracking_number=NUMBER, return_policy_end_date="2025-03-01")])))
    set_clock("2025-03-10T08:00:00+00:00")
    assert eligibility_by_item()["a"] == ("expired", "2025-03-01", -9)

    post(batch(order("A-1", [item("a", return_policy_end_date="2025-04-01")])))
    assert eligibility_by_item()["a"] == ("eligible", "2025-04-01", 22)


def test_the_real_clock_is_utc_and_aware() -> None:
    from forward_orders.handler import request_time

    before = datetime.now(UTC)
    now = request_time()
    assert now.utcoffset() is not None and now.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert before <= now <= datetime.now(UTC)
