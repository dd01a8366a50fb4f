"""One event per changed order: the changes of one batch of stream records, grouped by order.

A POST writes an order's record and one record per item, each its own stream record. A consumer
cares about the order (the returns portal wants "order PO-1001 got tracking numbers", not five
separate messages), and EventBridge bills each event (per 64 KB chunk): one event per changed
order, carrying the changes of its items, costs a fraction of one per record (docs/events.md,
"Why one event per order").

Within one batch:

- the changes of one order and its items make one group; groups are published in the order of
  their first record, so a batch still goes out in stream order;
- several changes of the same order or item (two requests in the same batch) merge into one: the
  latest values, every field any of them created or changed, ``created`` if one of them was the
  creation, and the latest record's ``change_id`` and ``sequence_number``;
- a group whose items do not fit one event (``MAX_EVENT_BYTES``, far below EventBridge's 256 KB)
  is split into several events of the same order, each with the order's own change (when it has
  one) and as many items as fit. ``common.record_bounds`` makes sure that an event with the order
  and any one item fits, so every event is within the bound by construction.

Each event remembers the positions of the records it carries, so the publisher knows which records
Lambda must retry when it is not published.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from common.order_records import ITEM_FIELDS, ORDER_FIELDS, field_names
from common.record_bounds import MAX_EVENT_BYTES
from order_events.changes import OrderChange, values_shape
from order_events.event_bus import Event, entry_size

ORDER_CREATED = "OrderCreated"
ORDER_UPDATED = "OrderUpdated"
# Every field name an event's top-level ``changed_fields`` can hold, in the order it lists them:
# the order's fields, then the items' (``updated_at`` is both, listed once).
EVENT_FIELDS = ORDER_FIELDS + tuple(name for name in ITEM_FIELDS if name not in ORDER_FIELDS)


@dataclass(slots=True)
class SubjectChange:
    """The net change of one order or one item within a batch."""

    latest: OrderChange
    created: bool
    changed: set[str]
    positions: list[int]
    change_ids: list[str]

    @classmethod
    def first(cls, position: int, change: OrderChange) -> SubjectChange:
        return cls(change, change.created, set(change.fields()), [position], [change.change_id])

    def merge(self, position: int, change: OrderChange) -> None:
        self.latest = change
        self.created = self.created or change.created
        self.changed.update(change.fields())
        self.positions.append(position)
        self.change_ids.append(change.change_id)

    def changed_fields(self, names: tuple[str, ...]) -> list[str]:
        return [name for name in names if name in self.changed]

    def element(self) -> dict[str, Any]:
        """The order's or an item's part of an event."""
        key = self.latest.key
        element: dict[str, Any] = {}
        if key.item_identifier is not None:
            element["item_identifier"] = key.item_identifier
        element["created"] = self.created
        element["values"] = self.latest.values
        element["changed_fields"] = self.changed_fields(field_names(values_shape(key)))
        element["change_id"] = self.latest.change_id
        element["sequence_number"] = self.latest.sequence_number
        return element


@dataclass(slots=True)
class OrderGroup:
    """The changes of one order and its items within a batch."""

    client_id: str
    order_identifier: str
    order: SubjectChange | None = None
    # By item identifier, in the order of each item's first change.
    items: dict[str, SubjectChange] = field(default_factory=dict)

    def add(self, position: int, change: OrderChange) -> None:
        item_identifier = change.key.item_identifier
        current = self.order if item_identifier is None else self.items.get(item_identifier)
        if current is not None:
            current.merge(position, change)
            return
        subject = SubjectChange.first(position, change)
        if item_identifier is None:
            self.order = subject
        else:
            self.items[item_identifier] = subject

    @property
    def detail_type(self) -> str:
        return ORDER_CREATED if self.order is not None and self.order.created else ORDER_UPDATED

    def with_order(self, items: Iterable[SubjectChange]) -> list[SubjectChange]:
        """The order's own change (when it has one) and ``items``: what one event of it carries."""
        return ([self.order] if self.order is not None else []) + list(items)


@dataclass(frozen=True, slots=True)
class PendingEvent:
    event: Event
    # The positions in the batch of every record whose change the event carries.
    positions: tuple[int, ...]

    @property
    def first_position(self) -> int:
        return min(self.positions)


def group_changes(changes: Iterable[tuple[int, OrderChange]]) -> list[OrderGroup]:
    """The changes (with their positions in the batch) grouped by order, in order of first record."""
    groups: dict[tuple[str, str], OrderGroup] = {}
    for position, change in changes:
        key = (change.key.client_id, change.key.order_identifier)
        group = groups.get(key)
        if group is None:
            group = groups[key] = OrderGroup(*key)
        group.add(position, change)
    return list(groups.values())


def order_events(
    changes: Iterable[tuple[int, OrderChange]], source: str, budget: int = MAX_EVENT_BYTES
) -> list[PendingEvent]:
    """The events of a batch's changes, in the order they are to be published."""
    return [event for group in group_changes(changes) for event in _group_events(group, source, budget)]


def _group_events(group: OrderGroup, source: str, budget: int) -> list[PendingEvent]:
    subjects = group.with_order(group.items.values())
    changed_at = [at for subject in subjects if (at := subject.latest.changed_at) is not None]
    time = max(changed_at) if changed_at else None
    order_element = group.order.element() if group.order is not None else None
    items = [(subject, subject.element()) for subject in group.items.values()]

    # The size of an event without items, with every field name in ``changed_fields``: each item
    # adds its JSON and a comma, so a part packed to the budget this way is within it.
    empty = _detail(group, order_element, [], list(EVENT_FIELDS), [])
    base = entry_size(Event(source, group.detail_type, _json(empty), time))
    parts: list[list[tuple[SubjectChange, dict[str, Any]]]] = [[]]
    size = base
    for subject, element in items:
        element_bytes = len(_json(element).encode()) + 1
        if parts[-1] and size + element_bytes > budget:
            parts.append([])
            size = base
        parts[-1].append((subject, element))
        size += element_bytes

    events = []
    for part in parts:
        part_subjects = group.with_order(subject for subject, _ in part)
        changed = set().union(*(subject.changed for subject in part_subjects))
        detail = _detail(
            group,
            order_element,
            [element for _, element in part],
            [name for name in EVENT_FIELDS if name in changed],
            [change_id for subject in part_subjects for change_id in subject.change_ids],
        )
        positions = tuple(position for subject in part_subjects for position in subject.positions)
        events.append(PendingEvent(Event(source, group.detail_type, _json(detail), time), positions))
    return events


def _detail(
    group: OrderGroup,
    order_element: dict[str, Any] | None,
    items: list[dict[str, Any]],
    changed_fields: list[str],
    change_ids: list[str],
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "client_id": group.client_id,
        "order_identifier": group.order_identifier,
        "changed_fields": changed_fields,
    }
    if order_element is not None:
        detail["order"] = order_element
    detail["items"] = items
    detail["change_id"] = _change_id(change_ids)
    return detail


def _change_id(change_ids: list[str]) -> str:
    """The event's id: the same for every copy of an event carrying the same stream records."""
    return hashlib.sha256("\n".join(sorted(change_ids)).encode()).hexdigest()[:32]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
