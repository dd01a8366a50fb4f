"""The authorizer's configuration, read once from the environment and validated (``common.settings``)."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from common.settings import EnvironmentSettings


class Settings(EnvironmentSettings):
    api_keys_table_name: str = Field(min_length=1)


@cache
def get_settings() -> Settings:
    return Settings.from_environment()
