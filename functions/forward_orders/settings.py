"""The API function's configuration: environment variables, read once and validated
(``common.settings``: a field's variable is its name in upper case)."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from common.settings import EnvironmentSettings


class Limits(EnvironmentSettings):
    """Request limits; the defaults are the documented ones (README, "Limits")."""

    max_body_bytes: int = Field(default=262_144, ge=1)
    max_orders_per_request: int = Field(default=100, ge=1)
    max_items_per_order: int = Field(default=100, ge=1)
    max_labels_per_item: int = Field(default=20, ge=1)


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
