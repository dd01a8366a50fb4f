"""Configuration from environment variables: one validated settings model per function.

A field's variable is its name in upper case (``orders_table_name`` is ``ORDERS_TABLE_NAME``). The
functions read their variables with ``from_environment``; the stack and the local server name the
variables they set with ``variable``/``variables``, so a renamed field cannot be silently ignored.
Fields that are themselves settings models (the API's ``limits``) read their own variables from the
same environment. Each function validates its settings when its handler module loads, so a
malformed variable fails the cold start instead of every request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class EnvironmentSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable of one field (of this model or of a nested settings model)."""
        variables = cls.variables()
        if field not in variables:
            raise KeyError(f"{cls.__name__} has no setting {field!r}")
        return variables[field]

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Every setting, nested ones included, and its environment variable."""
        variables: dict[str, str] = {}
        for name, field in cls.model_fields.items():
            nested = _settings_model(field.annotation)
            if nested is not None:
                variables.update(nested.variables())
            else:
                variables[name] = name.upper()
        return variables

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings in ``environ`` (the process's environment by default), validated."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            nested = _settings_model(field.annotation)
            if nested is not None:
                values[name] = nested.from_environment(environ)
            elif name.upper() in environ:
                values[name] = environ[name.upper()]
        return cls.model_validate(values)


def _settings_model(annotation: Any) -> type[EnvironmentSettings] | None:
    if isinstance(annotation, type) and issubclass(annotation, EnvironmentSettings):
        return annotation
    return None
