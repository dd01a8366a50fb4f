"""The client package repeats the API's limits and field lists (it is installed without the API's
code); these tests keep each copy equal to the one definition."""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path

from common.order_records import ITEM_FIELDS, ORDER_FIELDS
from forward_orders.settings import Limits
from forward_orders_client import BatchLimits
from forward_orders_client.sources import CSV_ITEM_FIELDS, CSV_ORDER_FIELDS

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_client_batches_within_the_apis_default_limits() -> None:
    assert asdict(BatchLimits()) == Limits().model_dump()


def test_the_readme_limits_table_shows_the_same_defaults() -> None:
    table = {
        match["variable"]: int(match["value"].replace(",", ""))
        for match in re.finditer(
            r"^\| [^|]+ \| (?P<value>[\d,]+)[^|]*\| `(?P<variable>[A-Z_]+)` \|$",
            README.read_text(),
            re.MULTILINE,
        )
    }
    client = asdict(BatchLimits())
    assert {variable: client[field] for field, variable in Limits.variables().items()} == table


def test_the_csv_columns_are_the_contracts_fields() -> None:
    assert CSV_ORDER_FIELDS == ORDER_FIELDS
    assert CSV_ITEM_FIELDS == ITEM_FIELDS
