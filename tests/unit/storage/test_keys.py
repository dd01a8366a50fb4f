"""The storage adapter's keys: within DynamoDB's limits, an item's never the order's."""

from __future__ import annotations

import pytest

from forward_orders import storage

# -- keys --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("character", ["x", "é", "✓", "😀"])
def test_keys_of_the_longest_identifiers_fit_dynamodb_limits(character: str) -> None:
    identifier = character * 255
    client_id = "c" * 64  # the longest client id
    assert len(storage.partition_key(client_id, identifier).encode()) <= 2048
    assert len(storage.sort_key(identifier).encode()) <= 1024


def test_an_item_key_never_equals_the_order_key() -> None:
    assert storage.sort_key(None) == storage.ORDER_SORT_KEY
    for identifier in ["ORDER", "", storage.ORDER_SORT_KEY, "#ORDER"]:
        assert storage.sort_key(identifier) != storage.sort_key(None)
