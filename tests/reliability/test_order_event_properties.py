"""Hypothesis properties of one event per changed order (functions/order_events/grouping.py and
publishing.py), without AWS: any stream of changes to a few orders and their items (creations,
updates, identical re-sends), delivered in batches of any size, with EventBridge refusing any
events and failing any calls, retried as Lambda's event source mapping retries (from the lowest
failed sequence number, in batches that may group differently), ends with:

- every published event within ``MAX_EVENT_BYTES``, holding one client's order, each order or item
  in it once;
- for every order and item that changed, a published part whose values are its final state (the
  part with the highest sequence number a consumer keeps), and no part for one that never changed;
- no part showing a state the record never had, and every stream record with a change carried by
  some event that was published after its last failed attempt.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any, cast

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.record_bounds import MAX_EVENT_BYTES
from order_events.event_bus import Event, EventBus, entry_size
from order_events.publishing import publish_changes
from tests.reliability import figures

SOURCE = "forward-orders"


class FlakyBus:
    """Refuses each event, or fails each call, at random (seeded by the example)."""

    def __init__(self, seed: int, refuse_share: float, call_failure_share: float) -> None:
        self.random = random.Random(seed)
        self.refuse_share = refuse_share
        self.call_failure_share = call_failure_share
        self.published: list[Event] = []

    def put(self, events: Sequence[Event]) -> list[str | None]:
        if self.random.random() < self.call_failure_share:
            raise ConnectionError("simulated")
        answers: list[str | None] = []
        for event in events:
            if self.random.random() < self.refuse_share:
                answers.append("InternalFailure: simulated")
            else:
                answers.append(None)
                self.published.append(event)
        return answers


def _attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, int):
        return {"N": str(value)}
    return {"S": value}


# One write: (order number, item number or None for the order, a value, or None for a re-send).
writes = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.one_of(st.none(), st.integers(0, 4)),
        st.one_of(st.none(), st.sampled_from(["a", "b", "c"]), st.integers(1, 3)),
    ),
    min_size=1,
    max_size=40,
)


def _stream(
    plan: list[tuple[int, int | None, Any]],
) -> tuple[list[dict[str, Any]], dict[tuple[str, str | None], Any]]:
    """Stream records of the writes, and each subject's final contract values (None: never changed)."""
    stored: dict[tuple[str, str | None], dict[str, Any]] = {}
    changed: dict[tuple[str, str | None], dict[str, Any]] = {}
    records = []
    for sequence, (order_number, item_number, value) in enumerate(plan, start=1):
        order_id = f"order-{order_number}"
        item_id = None if item_number is None else f"item-{item_number}"
        subject = (order_id, item_id)
        old = stored.get(subject)
        if item_id is None:
            contract = dict(old["contract"]) if old else {}
            if value is not None:
                contract["concept"] = str(value)
        else:
            contract = dict(old["contract"]) if old else {"upc": "1", "sku": "s", "quantity": 1}
            if isinstance(value, int):
                contract["quantity"] = value
            elif value is not None:
                contract["sku"] = value
        image = {
            "pk": {"S": f"acme#{order_id}"},
            "sk": {"S": "ORDER" if item_id is None else f"I#{item_id}"},
            "last_received_at": {"S": f"t{sequence}"},
            **{name: _attribute(v) for name, v in contract.items()},
        }
        stream: dict[str, Any] = {
            "Keys": {"pk": image["pk"], "sk": image["sk"]},
            "SequenceNumber": str(1000 + sequence),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
            "NewImage": image,
            "ApproximateCreationDateTime": 1_700_000_000 + sequence,
        }
        if old:
            stream["OldImage"] = old["image"]
        records.append(
            {"eventID": f"e{sequence}", "eventName": "MODIFY" if old else "INSERT", "dynamodb": stream}
        )
        if old is None or old["contract"] != contract:
            changed[subject] = contract
        stored[subject] = {"image": image, "contract": contract}
    return records, changed


@settings(
    max_examples=figures.scale(150, 3000),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=not figures.SOAK,
)
@given(
    plan=writes,
    batch_size=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
    refuse_share=st.sampled_from([0.0, 0.2, 0.5]),
    call_failure_share=st.sampled_from([0.0, 0.2]),
)
def test_any_stream_with_any_failures_converges_to_the_final_state_of_every_change(
    plan: list[tuple[int, int | None, Any]],
    batch_size: int,
    seed: int,
    refuse_share: float,
    call_failure_share: float,
) -> None:
    records, final = _stream(plan)
    bus = FlakyBus(seed, refuse_share, call_failure_share)
    position, attempts = 0, 0
    while position < len(records):
        attempts += 1
        assert attempts < 10_000, "no progress"
        batch = records[position : position + batch_size]
        outcome = publish_changes([DynamoDBRecord(r) for r in batch], cast(EventBus, bus), source=SOURCE)
        if not outcome.retry:
            position += len(batch)
            continue
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
        assert set(outcome.retry) == set(
            sequence_numbers[sequence_numbers.index(min(outcome.retry, key=int)) :]
        )
        position += sequence_numbers.index(min(outcome.retry, key=int))
        if bus.random.random() < 0.5:  # now and then the failures stop, as a throttle ends
            bus.refuse_share = bus.call_failure_share = 0.0

    latest: dict[tuple[str, str | None], dict[str, Any]] = {}
    for event in bus.published:
        assert entry_size(event) <= MAX_EVENT_BYTES
        detail = json.loads(event.detail)
        assert detail["client_id"] == "acme"
        parts = ([detail["order"]] if "order" in detail else []) + detail["items"]
        subjects = [(detail["order_identifier"], part.get("item_identifier")) for part in parts]
        assert len(subjects) == len(set(subjects))
        assert event.detail_type == (
            "OrderCreated" if "order" in detail and detail["order"]["created"] else "OrderUpdated"
        )
        for subject, part in zip(subjects, parts, strict=True):
            assert subject in final, f"{subject} never changed, yet is in an event"
            kept = latest.get(subject)
            if kept is None or int(part["sequence_number"]) > int(kept["sequence_number"]):
                latest[subject] = part
    assert set(latest) == set(final)
    for subject, values in final.items():
        assert latest[subject]["values"] == values, subject
