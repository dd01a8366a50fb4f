"""The API function's configuration: environment variables, read once and validated."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    """Request limits; the defaults are the documented ones (README, "Limits")."""

    model_config = ConfigDict(frozen=True)

    max_body_bytes: int = Field(default=262_144, ge=1)
    max_orders_per_request: int = Field(default=100, ge=1)
    max_items_per_order: int = Field(default=100, ge=1)
    max_labels_per_item: int = Field(default=20, ge=1)


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    orders_table_name: str = Field(min_length=1)
    limits: Limits = Limits()
    # Storage calls of one request run this many at a time (also the HTTP connection pool size):
    # enough for a typical batch to be one round trip (docs/performance.md).
    write_concurrency: int = Field(default=64, ge=1, le=256)
    # Attempts per storage call, first one included (botocore standard retry mode).
    storage_max_attempts: int = Field(default=4, ge=1, le=10)
    # No new storage call starts after this many seconds of a request; see docs/design.md.
    request_deadline_seconds: float = Field(default=20.0, gt=0)
    # Seconds a client is told to wait (Retry-After) when storage is unavailable.
    retry_after_seconds: int = Field(default=1, ge=0)


ENVIRONMENT = {
    "orders_table_name": "ORDERS_TABLE_NAME",
    "write_concurrency": "WRITE_CONCURRENCY",
    "storage_max_attempts": "STORAGE_MAX_ATTEMPTS",
    "request_deadline_seconds": "REQUEST_DEADLINE_SECONDS",
    "retry_after_seconds": "RETRY_AFTER_SECONDS",
}
LIMITS_ENVIRONMENT = {
    "max_body_bytes": "MAX_BODY_BYTES",
    "max_orders_per_request": "MAX_ORDERS_PER_REQUEST",
    "max_items_per_order": "MAX_ITEMS_PER_ORDER",
    "max_labels_per_item": "MAX_LABELS_PER_ITEM",
}


def _from_environment(names: dict[str, str]) -> dict[str, str]:
    return {field: os.environ[variable] for field, variable in names.items() if variable in os.environ}


@cache
def get_settings() -> Settings:
    """The settings of this process; a missing or malformed variable fails the cold start loudly."""
    return Settings.model_validate(
        {**_from_environment(ENVIRONMENT), "limits": _from_environment(LIMITS_ENVIRONMENT)}
    )
