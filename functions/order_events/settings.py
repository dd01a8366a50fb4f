"""The order events function's configuration: environment variables, read once and validated
(``common.settings``)."""

from __future__ import annotations

from functools import cache

from pydantic import Field, field_validator

from common.settings import EnvironmentSettings


class Settings(EnvironmentSettings):
    # The custom bus the events go to (its name, or its ARN).
    event_bus_name: str = Field(min_length=1, max_length=1600)
    # The events' "source", which consumers' rules match on.
    event_source: str = Field(default="forward-orders", pattern=r"^[A-Za-z0-9._/-]{1,256}$")

    @field_validator("event_source")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value.startswith("aws."):
            raise ValueError('EventBridge reserves sources starting with "aws."')
        return value


@cache
def get_settings() -> Settings:
    """The settings of this process; a missing or malformed variable fails the cold start loudly."""
    return Settings.from_environment()
