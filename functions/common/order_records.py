"""How orders and items are laid out as records of the orders table.

The API function writes these records and the order events function reads them back from the
table's stream, so the layout is defined here, once:

- one partition per client and order: ``pk = "<client_id>#<order identifier>"``. Client ids cannot
  contain "#" but order identifiers can, so a partition key splits on its *first* "#";
- the order record has ``sk = "ORDER"``; each item ``sk = "I#<item identifier>"``. The item prefix
  is short on purpose: DynamoDB allows 1,024 bytes of sort key, and an identifier of 255 four-byte
  characters is 1,020;
- besides the keys, a record holds ``identifier``, the contract fields the client sent
  (``ORDER_FIELDS`` or ``ITEM_FIELDS``), the server's ``first_received_at`` and ``last_received_at``,
  and on items ``order_identifier``. Other features may add attributes of their own (copies kept
  for an index, say): code that hands records to the outside names the fields it shows, it never
  passes a record through as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

ORDER_SORT_KEY = "ORDER"
ITEM_SORT_KEY_PREFIX = "I#"
PARTITION_SEPARATOR = "#"
FIRST_RECEIVED = "first_received_at"
LAST_RECEIVED = "last_received_at"

# Order and item identifiers, in code points (the contract's limit).
MAX_IDENTIFIER_LENGTH = 255
# Client ids (common.api_keys.CLIENT_ID_PATTERN).
MAX_CLIENT_ID_LENGTH = 64
# DynamoDB's limits on key values, in bytes of UTF-8.
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
_MAX_UTF8_BYTES_PER_CODE_POINT = 4

# The longest identifier must fit in both keys whatever its characters: checked as the module loads,
# so raising MAX_IDENTIFIER_LENGTH past what the layout allows fails every function and test at once.
if (
    len(ITEM_SORT_KEY_PREFIX) + _MAX_UTF8_BYTES_PER_CODE_POINT * MAX_IDENTIFIER_LENGTH > MAX_SORT_KEY_BYTES
    or MAX_CLIENT_ID_LENGTH
    + len(PARTITION_SEPARATOR)
    + _MAX_UTF8_BYTES_PER_CODE_POINT * MAX_IDENTIFIER_LENGTH
    > MAX_PARTITION_KEY_BYTES
):
    raise ValueError("MAX_IDENTIFIER_LENGTH does not fit the table's key sizes")

# The contract's fields of an order and of an item, apart from ``identifier`` and the order's
# ``items``; an update may leave any of them out, and they keep their stored value.
ORDER_FIELDS = ("concept", "postal_code", "created_at")
ITEM_FIELDS = (
    "upc",
    "sku",
    "quantity",
    "tracking_number",
    "reverse_tracking_number",
    "dropship_identifier",
    "shipped_date",
    "return_policy_end_date",
    "labels",
)


def partition_key(client_id: str, order_identifier: str) -> str:
    return f"{client_id}{PARTITION_SEPARATOR}{order_identifier}"


def sort_key(item_identifier: str | None) -> str:
    return ORDER_SORT_KEY if item_identifier is None else ITEM_SORT_KEY_PREFIX + item_identifier


@dataclass(frozen=True, slots=True)
class RecordKey:
    """Whose record it is: an order (``item_identifier`` None) or one of its items."""

    client_id: str
    order_identifier: str
    item_identifier: str | None

    @property
    def is_item(self) -> bool:
        return self.item_identifier is not None


def parse_key(pk: str, sk: str) -> RecordKey | None:
    """The order or item a record's keys name; None for keys that are neither (a record some
    other feature keeps in the table) or that no write of the API could have produced."""
    client_id, separator, order_identifier = pk.partition(PARTITION_SEPARATOR)
    if not separator or not client_id or not order_identifier:
        return None
    if sk == ORDER_SORT_KEY:
        return RecordKey(client_id, order_identifier, None)
    if sk.startswith(ITEM_SORT_KEY_PREFIX) and len(sk) > len(ITEM_SORT_KEY_PREFIX):
        return RecordKey(client_id, order_identifier, sk[len(ITEM_SORT_KEY_PREFIX) :])
    return None
