"""The client package repeats the API's limits and field lists (it is installed without the API's
code); these tests keep each copy equal to the one definition."""

from __future__ import annotations

import re
from dataclasses import asdict

from common.order_records import ITEM_FIELDS, ORDER_FIELDS
from forward_orders.settings import Limits
from forward_orders_client import BatchLimits
from forward_orders_client.sources import (
    CSV_ITEM_ALIASES,
    CSV_ITEM_FIELDS,
    CSV_ORDER_ALIASES,
    CSV_ORDER_FIELDS,
)
from tests import REPO

README = REPO / "README.md"


def test_the_client_batches_within_the_apis_default_limits() -> None:
    # The batching limits: the field lengths are the server's to check (a too long field is that
    # order's 422 problem, reported per order).
    client = asdict(BatchLimits())
    assert client == {name: value for name, value in Limits().model_dump().items() if name in client}
    assert set(client) == {
        "max_body_bytes",
        "max_orders_per_request",
        "max_items_per_order",
        "max_labels_per_item",
    }


def test_the_readme_limits_table_shows_the_same_defaults() -> None:
    table = {
        match["variable"]: int(match["value"].replace(",", ""))
        for match in re.finditer(
            r"^\| [^|]+ \| (?P<value>[\d,]+)[^|]*\| `(?P<variable>[A-Z_]+)` \|$",
            README.read_text(),
            re.MULTILINE,
        )
    }
    defaults = Limits().model_dump()
    # Every limit is in the table with its default; the client's copies are those defaults.
    assert {variable: defaults[field] for field, variable in Limits.variables().items()} == table
    assert asdict(BatchLimits()).items() <= defaults.items()


def test_the_csv_columns_are_the_contracts_fields() -> None:
    # updated_at is on both records, so a row (one item with its order) names it twice: aliases.
    assert (*CSV_ORDER_FIELDS, *CSV_ORDER_ALIASES.values()) == ORDER_FIELDS
    assert (*CSV_ITEM_FIELDS, *CSV_ITEM_ALIASES.values()) == ITEM_FIELDS
