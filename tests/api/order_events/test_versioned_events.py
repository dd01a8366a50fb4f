"""Order events of versioned writes (issue 10): a stale write changes nothing, so the stream has
no record of it and no event is published; a newer one is an update like any other, with
``updated_at`` among its values and changed fields."""

from __future__ import annotations

from typing import Any

from tests.api.order_events.streams import Consumer, StreamRecorder, by_subject, invoke
from tests.api_calls import post_orders
from tests.factories import item, order

TEN, ELEVEN = "2025-01-31T10:00:00Z", "2025-01-31T11:00:00Z"


def body(version: str | None, sku: str) -> dict[str, Any]:
    fields = {"updated_at": version} if version else {}
    return {"orders": [order("A-1", [item("7", sku=sku)], concept="c", **fields)]}


def test_a_stale_write_has_no_stream_record_and_publishes_nothing(
    stream: StreamRecorder, consumer: Consumer
) -> None:
    assert invoke(stream.write(body(ELEVEN, "eleven"))) == {"batchItemFailures": []}
    consumer.received()

    response = post_orders(body(TEN, "ten"))
    assert response.status == 200 and response.json()["stale_count"] == 2
    assert stream.records() == []
    assert consumer.received() == []


def test_a_newer_write_publishes_updates_with_updated_at_among_the_changed_fields(
    stream: StreamRecorder, consumer: Consumer
) -> None:
    invoke(stream.write(body(TEN, "ten")))
    created = by_subject(consumer.received())
    assert created[("A-1", None)]["values"] == {"concept": "c", "updated_at": TEN}
    assert created[("A-1", "7")]["values"]["updated_at"] == TEN

    assert invoke(stream.write(body(ELEVEN, "eleven"))) == {"batchItemFailures": []}
    [event] = consumer.received()
    assert event["detail"]["changed_fields"] == ["updated_at", "sku"]
    updated = by_subject([event])
    assert updated[("A-1", None)]["detail-type"] == "OrderUpdated"
    assert updated[("A-1", None)]["changed_fields"] == ["updated_at"]
    item_event = updated[("A-1", "7")]
    assert item_event["changed_fields"] == ["sku", "updated_at"]
    assert item_event["values"]["updated_at"] == ELEVEN
    # The stored version attribute is layout, never part of an event.
    assert "updated_at_us" not in str(updated)


def test_an_equal_re_send_publishes_nothing_and_a_write_without_updated_at_keeps_it(
    stream: StreamRecorder, consumer: Consumer
) -> None:
    invoke(stream.write(body(TEN, "ten")))
    consumer.received()
    # Applied (the server's timestamps move) but no contract field changed: no event.
    records = stream.write(body(TEN, "ten"))
    assert len(records) == 2
    invoke(records)
    assert consumer.received() == []
    # The same instant spelt in another zone: applied, and the text is what changed.
    invoke(stream.write(body("2025-01-31T12:00:00+02:00", "ten")))
    events = by_subject(consumer.received())
    assert [part["changed_fields"] for part in events.values()] == [["updated_at"]] * 2
    # v1's write: updated_at is not among what changed.
    invoke(stream.write(body(None, "v1")))
    events = by_subject(consumer.received())
    assert events[("A-1", "7")]["changed_fields"] == ["sku"]
    assert events[("A-1", "7")]["values"]["updated_at"] == "2025-01-31T12:00:00+02:00"
