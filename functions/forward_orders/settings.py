"""The API function's configuration: environment variables, read once and validated
(``common.settings``: a field's variable is its name in upper case)."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import Field, model_validator

from common.record_bounds import (
    MAX_EVENT_BYTES,
    MAX_RECORD_BYTES,
    RESPONSE_OVERHEAD,
    record_bounds,
    upsert_response_bytes,
)
from common.settings import EnvironmentSettings

# Each bound is at least 1 and at most this many characters; together they must keep the largest
# record and event far inside DynamoDB's and EventBridge's limits (``Limits._bounded``).
_MAX_FIELD_LENGTH = 100_000


def _length(default: int) -> Any:
    return Field(default=default, ge=1, le=_MAX_FIELD_LENGTH)


class Limits(EnvironmentSettings):
    """Request limits; the defaults are the documented ones (README, "Limits"; docs/design.md,
    "Field bounds", says how the field lengths were chosen)."""

    max_body_bytes: int = Field(default=262_144, ge=1)
    max_orders_per_request: int = Field(default=100, ge=1)
    max_items_per_order: int = Field(default=100, ge=1)
    max_labels_per_item: int = Field(default=20, ge=1, le=1000)
    # The longest value of each string field, in characters (code points) once trimmed. Identifiers
    # are the contract's 255 (common.order_records.MAX_IDENTIFIER_LENGTH), not configurable.
    max_concept_length: int = _length(255)
    max_postal_code_length: int = _length(32)
    max_upc_length: int = _length(64)
    max_sku_length: int = _length(128)
    max_tracking_number_length: int = _length(128)  # tracking_number and reverse_tracking_number
    max_dropship_identifier_length: int = _length(255)
    max_date_length: int = _length(64)
    max_label_name_length: int = _length(64)
    max_label_value_length: int = _length(512)
    # Responses: GET /forward_orders/{identifier} answers at most this many items a page by default
    # (``?limit=`` up to the maximum), and no response body is larger than ``max_response_bytes``
    # (Lambda refuses synchronous responses over 6 MB; docs/design.md, "Response bounds").
    default_page_items: int = Field(default=100, ge=1)
    max_page_items: int = Field(default=1000, ge=1)
    max_response_bytes: int = Field(default=1_048_576, ge=65_536, le=5_000_000)

    @model_validator(mode="after")
    def _bounded(self) -> Limits:
        record = record_bounds(self)
        if record.item_bytes > MAX_RECORD_BYTES:
            raise ValueError(
                f"the field lengths allow an item record of {record.item_bytes} bytes: at most "
                f"{MAX_RECORD_BYTES} (DynamoDB's 400 KB item, with room to spare)"
            )
        if record.event_bytes > MAX_EVENT_BYTES:
            raise ValueError(
                f"the field lengths allow a change event of {record.event_bytes} bytes: at most "
                f"{MAX_EVENT_BYTES} (EventBridge's 256 KB entry, with room to spare)"
            )
        if record.shown_item_bytes + RESPONSE_OVERHEAD > self.max_response_bytes:
            raise ValueError(
                f"max_response_bytes ({self.max_response_bytes}) must hold at least one item as large "
                f"as the field lengths allow ({record.shown_item_bytes} bytes) and the order's fields"
            )
        if self.default_page_items > self.max_page_items:
            raise ValueError("default_page_items must be at most max_page_items")
        answer = upsert_response_bytes(self.max_orders_per_request)
        if answer > self.max_response_bytes:
            raise ValueError(
                f"max_orders_per_request ({self.max_orders_per_request}) allows a POST answer (each "
                f"order's result) of up to {answer} bytes: more than max_response_bytes "
                f"({self.max_response_bytes})"
            )
        return self


class Settings(EnvironmentSettings):
    orders_table_name: str = Field(min_length=1)
    limits: Limits = Limits()
    # Storage calls of one request run this many at a time (also the HTTP connection pool size):
    # enough for a typical batch to be one round trip (docs/performance.md).
    write_concurrency: int = Field(default=64, ge=1, le=256)
    # Attempts per storage call, first one included.
    storage_max_attempts: int = Field(default=4, ge=1, le=10)
    # No new storage call starts after this many seconds of a request; see docs/design.md.
    request_deadline_seconds: float = Field(default=20.0, gt=0)
    # Seconds a client is told to wait (Retry-After) when storage is unavailable.
    retry_after_seconds: int = Field(default=1, ge=0)


@cache
def get_settings() -> Settings:
    """The settings of this process (the handler calls it as it loads: a cold start fails on a
    missing or malformed variable)."""
    return Settings.from_environment()
