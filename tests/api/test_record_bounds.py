"""The largest records valid requests can make, written through the API and measured by DynamoDB's
size rules (issue 9): every field at its bound in the widest characters, every label, the longest
client id and identifiers. Each is within the bound ``common.record_bounds`` computes from the field
lengths alone, and that bound is far below DynamoDB's 400 KB; no sequence of valid writes makes a
record larger, since a write replaces the fields it sends and adds no other."""

from __future__ import annotations

from typing import Any

import pytest
from bench.capacity import item_size
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.order_records import MAX_CLIENT_ID_LENGTH, MAX_IDENTIFIER_LENGTH
from common.record_bounds import DYNAMODB_ITEM_LIMIT, MAX_RECORD_BYTES, record_bounds
from forward_orders.settings import Limits
from tests.api_calls import post_orders
from tests.factories import WIDEST, WIDEST_FOLDED, batch, longest_date, order, scan, worst_case_item

LONGEST_CLIENT = "c" * MAX_CLIENT_ID_LENGTH


def _worst_order(limits: Limits, *, tracking_char: str) -> dict[str, Any]:
    return order(
        WIDEST * MAX_IDENTIFIER_LENGTH,
        [worst_case_item("i", limits, tracking_char=tracking_char)],
        concept=WIDEST * limits.max_concept_length,
        postal_code=WIDEST * limits.max_postal_code_length,
        created_at=longest_date(limits),
        updated_at=longest_date(limits, "-08:00"),
    )


@pytest.mark.parametrize("tracking_char", [WIDEST, WIDEST_FOLDED], ids=["emoji", "folds-to-6-bytes"])
def test_the_largest_records_are_within_the_computed_bound_far_below_400_kb(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch, tracking_char: str
) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "10000000")  # the body of one worst-case item is ~60 KB
    limits = Limits()
    response = post_orders(batch(_worst_order(limits, tracking_char=tracking_char)), client_id=LONGEST_CLIENT)
    assert response.status == 200, response.body

    records = scan(dynamodb)
    item = next(r for r in records if r["sk"]["S"].startswith("I#"))
    order_record = next(r for r in records if r["sk"]["S"] == "ORDER")
    bound = record_bounds(limits)
    assert len(item["labels"]["L"]) == limits.max_labels_per_item
    assert item_size(order_record) < item_size(item) <= bound.item_bytes
    # Far below: the defaults' bound is a sixth of DynamoDB's limit, and no configuration can
    # raise it past three quarters (Limits refuses bounds that would).
    assert bound.item_bytes * 6 <= DYNAMODB_ITEM_LIMIT
    assert MAX_RECORD_BYTES * 4 <= DYNAMODB_ITEM_LIMIT * 3


def test_the_bound_holds_for_a_configuration_at_the_edge_of_what_limits_accepts(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The longest label values Limits accepts with the other defaults, 20 labels of them.
    limits = next(filter(None, (_limits(max_label_value_length=value, max_response_bytes=5_000_000)
                                 for value in range(10_000, 0, -50))))  # fmt: skip
    monkeypatch.setenv("MAX_BODY_BYTES", "10000000")
    monkeypatch.setenv("MAX_LABEL_VALUE_LENGTH", str(limits.max_label_value_length))
    monkeypatch.setenv("MAX_RESPONSE_BYTES", str(limits.max_response_bytes))
    response = post_orders(batch(_worst_order(limits, tracking_char=WIDEST_FOLDED)), client_id=LONGEST_CLIENT)
    assert response.status == 200, response.body
    item = next(r for r in scan(dynamodb) if r["sk"]["S"].startswith("I#"))
    assert item_size(item) <= record_bounds(limits).item_bytes <= MAX_RECORD_BYTES < DYNAMODB_ITEM_LIMIT


def _limits(**bounds: int) -> Limits | None:
    try:
        return Limits(**bounds)
    except ValueError:
        return None


_FIELDS = ("upc", "sku", "tracking_number", "reverse_tracking_number", "dropship_identifier")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    writes=st.lists(
        st.tuples(
            st.sets(st.sampled_from(_FIELDS)),
            st.integers(min_value=0, max_value=20),  # labels
            st.sampled_from([WIDEST, WIDEST_FOLDED, "x"]),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_no_sequence_of_valid_writes_grows_a_record_past_the_bound(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch, writes: list[tuple[set[str], int, str]]
) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "10000000")
    limits = Limits()
    worst = worst_case_item("seq", limits)
    for fields, labels, char in writes:
        sent = {name: worst[name][:1] + char * (len(worst[name]) - 1) for name in fields}
        body = batch(
            order(
                "seq",
                [
                    {
                        **{name: worst[name] for name in ("identifier", "upc", "sku", "quantity")},
                        **sent,
                        "labels": worst["labels"][:labels],
                    }
                ],
            )
        )
        response = post_orders(body)
        assert response.status == 200, response.body
    item = next(r for r in scan(dynamodb) if r["sk"]["S"].startswith("I#seq"))
    assert item_size(item) <= record_bounds(limits).item_bytes
