"""The authorizer's configuration, read once from the environment and validated."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    api_keys_table_name: str = Field(min_length=1)


@cache
def get_settings() -> Settings:
    return Settings.model_validate({"api_keys_table_name": os.environ.get("API_KEYS_TABLE_NAME", "")})
