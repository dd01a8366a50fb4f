"""Lookup by tracking number: how numbers are normalised, what the indexes hold, what the lookup answers.

Operations scan the tracking number of an undeliverable or returned parcel and need the orders and
items it belongs to. Each item record carries a normalised copy of its ``tracking_number`` and of its
``reverse_tracking_number`` (``tracking_number_key``, ``reverse_tracking_number_key``), the partition
keys of two sparse global secondary indexes whose sort key is the item's ``client_id``
(``common.tables``). The stored fields keep exactly what the client sent.

Normalisation (``normalise``): surrounding whitespace removed, letter case folded (``str.casefold``),
so a scanner's `` 1z999aa10123456784\\n`` finds ``1Z999AA10123456784``. Nothing else changes: inner
spaces and punctuation are part of the number. The same function runs on the stored value when an
item is written and on the scanned value when it is looked up.

A normalised number longer than DynamoDB allows for an index partition key (2,048 bytes of UTF-8)
is indexed as ``SHA256:<hex digest of the normalised number>`` instead, so any number a client can
send is stored and found. A case-folded string never contains an upper-case ASCII letter, so no
normalised number can be mistaken for such a digest.

An update that sends a tracking number writes its new key in the same UpdateItem that writes the
field, so the item leaves the old number's index entry and joins the new one atomically: the old
number no longer finds it.

Each match also says whether its item can still be returned at the time of the request
(``return_eligibility``, from ``eligibility.py``). See docs/tracking.md.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from common.api_responses import TrackingLookup, TrackingMatch
from common.order_records import StoredItem, project
from common.record_bounds import RESPONSE_OVERHEAD
from common.tables import TRACKING_CLIENT_KEY, TRACKING_INDEXES
from forward_orders.eligibility import return_eligibility
from forward_orders.errors import TrackingNumberNotFound
from forward_orders.paging import fitting, json_size
from forward_orders.storage import OrdersTable, StoredValue, TrackedItem

# DynamoDB's limit on a partition key value, index keys included.
MAX_INDEX_KEY_BYTES = 2048
HASHED_KEY_PREFIX = "SHA256:"
# At most this many matches in one answer (``truncated`` says there were more); a real parcel holds
# a handful of items, and a number a client sent for thousands of items ("N/A") must not make the
# lookup read them all.
MAX_MATCHES = 100


def normalise(number: str) -> str:
    """What a tracking number is compared as: no surrounding whitespace, case folded."""
    return number.strip().casefold()


def index_key(number: str) -> str:
    """The value a tracking number is indexed (and looked up) under."""
    normalised = normalise(number)
    encoded = normalised.encode("utf-8")
    if len(encoded) <= MAX_INDEX_KEY_BYTES:
        return normalised
    return HASHED_KEY_PREFIX + hashlib.sha256(encoded).hexdigest()


def index_attributes(client_id: str, fields: Mapping[str, StoredValue]) -> dict[str, StoredValue]:
    """The attributes that put an item record in the tracking indexes, for the tracking numbers
    one write sends (none when it sends neither): written with the fields, in the same UpdateItem."""
    attributes: dict[str, StoredValue] = {}
    for field, index in TRACKING_INDEXES.items():
        value = fields.get(field)
        if isinstance(value, str) and value:
            attributes[index.partition_key.name] = index_key(value)
    if attributes:
        attributes[TRACKING_CLIENT_KEY.name] = client_id
    return attributes


def _order(found: TrackedItem) -> tuple[str, str, str, int]:
    """Matches in client, order, item and field order."""
    return (
        found.client_id,
        found.order_identifier,
        found.item_identifier,
        list(TRACKING_INDEXES).index(found.field),
    )


def lookup(
    client_id: str | None,
    scanned: str,
    table: OrdersTable,
    *,
    deadline_seconds: float,
    now: datetime,
    max_response_bytes: int,
) -> TrackingLookup:
    """Every item whose tracking number or reverse tracking number is ``scanned``: a client's own
    (``client_id``), or every client's, each labelled with its client (``client_id`` None, an
    operations key), with its return eligibility at ``now``. At most ``MAX_MATCHES`` of them, and
    as many as fit in ``max_response_bytes`` once serialized (``truncated`` says there were more).
    Raises TrackingNumberNotFound when there is none."""
    normalised = normalise(scanned)
    if not normalised:
        raise TrackingNumberNotFound()
    deadline = time.monotonic() + deadline_seconds
    key = index_key(scanned)
    found = sorted(
        table.find_by_tracking_key(key, client_id=client_id, limit=MAX_MATCHES + 1, deadline=deadline),
        key=_order,
    )
    if not found:
        raise TrackingNumberNotFound()
    truncated = len(found) > MAX_MATCHES
    # The indexes hold keys only: the items and their orders' concepts are read from the table,
    # and an item whose number changed since the index last caught up no longer matches.
    read, concepts = table.read_tracked(found[:MAX_MATCHES], deadline=deadline)
    matches = [item for item in read if _still_matches(item, key)]
    if not matches:
        raise TrackingNumberNotFound()
    shown = [_shown(match, concepts, labelled=client_id is None, now=now) for match in matches]
    answer: TrackingLookup = {"tracking_number": normalised, "matches": [], "truncated": truncated}
    # At least one: the bounds guarantee one match of the largest item fits (settings.Limits).
    count = max(fitting(shown, max_response_bytes - json_size(answer) - RESPONSE_OVERHEAD), 1)
    answer["matches"] = shown[:count]
    answer["truncated"] = truncated or count < len(shown)
    return answer


def _still_matches(item: TrackedItem, key: str) -> bool:
    number = (item.record or {}).get(item.field)
    return isinstance(number, str) and bool(number) and index_key(number) == key


def _shown(
    match: TrackedItem, concepts: Mapping[tuple[str, str], str], *, labelled: bool, now: datetime
) -> TrackingMatch:
    shown: dict[str, Any] = {"client_id": match.client_id} if labelled else {}
    shown["order_identifier"] = match.order_identifier
    concept = concepts.get((match.client_id, match.order_identifier))
    if concept is not None:
        shown["concept"] = concept
    shown["matched"] = match.field
    shown["item"] = item = project(match.record or {}, StoredItem)
    shown["return_eligibility"] = return_eligibility(item.get("return_policy_end_date"), now).as_dict()
    return cast(TrackingMatch, shown)
