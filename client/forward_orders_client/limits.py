"""The API's request limits as the client batches within them.

The API defines its limits once (``functions/forward_orders/settings.py``, ``Limits``), but this
package is installed on its own and cannot import it: the defaults are repeated here, and a test of
the repository (tests/unit/client/test_limits_agree.py) fails when they differ from ``Limits()`` or
from the README's Limits table. A server configured with smaller limits still works: a refused
batch is split (see push.py).
"""

from __future__ import annotations

from dataclasses import dataclass

# The envelope of every body the client sends: b'{"orders":[' + orders joined by b"," + b"]}".
BODY_PREFIX = b'{"orders":['
BODY_SUFFIX = b"]}"
ORDER_SEPARATOR = b","


@dataclass(frozen=True)
class BatchLimits:
    max_body_bytes: int = 262_144
    max_orders_per_request: int = 100
    max_items_per_order: int = 100
    max_labels_per_item: int = 20

    def __post_init__(self) -> None:
        for name in (
            "max_body_bytes",
            "max_orders_per_request",
            "max_items_per_order",
            "max_labels_per_item",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.max_body_bytes < len(BODY_PREFIX) + len(BODY_SUFFIX) + 2:
            raise ValueError("max_body_bytes is too small for any order")


def body_size(order_bytes_total: int, orders: int) -> int:
    """The exact size of the body holding ``orders`` orders of ``order_bytes_total`` bytes in all."""
    separators = max(orders - 1, 0) * len(ORDER_SEPARATOR)
    return len(BODY_PREFIX) + order_bytes_total + separators + len(BODY_SUFFIX)


def encode_body(orders: list[bytes]) -> bytes:
    return BODY_PREFIX + ORDER_SEPARATOR.join(orders) + BODY_SUFFIX
