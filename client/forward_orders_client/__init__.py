"""Client library and loader for the Forward Orders API (see this package's README.md).

``ForwardOrdersClient`` speaks the API; ``forward-orders push`` (``forward_orders_client.push``)
loads files of orders through it.
"""

from forward_orders_client.client import (
    ApiError,
    AuthenticationError,
    ForwardOrdersClient,
    OrderResult,
    PushStopped,
    RetriesExhausted,
    RetryPolicy,
    StaleRecord,
    UnexpectedResponse,
    UpsertResult,
)
from forward_orders_client.limits import BatchLimits

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BatchLimits",
    "ForwardOrdersClient",
    "OrderResult",
    "PushStopped",
    "RetriesExhausted",
    "RetryPolicy",
    "StaleRecord",
    "UnexpectedResponse",
    "UpsertResult",
    "__version__",
]
