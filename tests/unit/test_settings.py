"""Each function's settings: variables named after the fields, validated as the handler loads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from authorizer.settings import Settings as AuthorizerSettings
from common.settings import EnvironmentSettings
from forward_orders.settings import Limits
from forward_orders.settings import Settings as ApiSettings
from order_events.settings import Settings as PublisherSettings
from tests import REPO


def test_a_variable_is_its_field_name_in_upper_case_nested_settings_included() -> None:
    variables = ApiSettings.variables()
    assert variables["orders_table_name"] == "ORDERS_TABLE_NAME"
    assert variables["max_body_bytes"] == "MAX_BODY_BYTES"
    assert "limits" not in variables
    assert set(Limits.variables().values()) <= set(variables.values())
    assert AuthorizerSettings.variables() == {"api_keys_table_name": "API_KEYS_TABLE_NAME"}
    assert PublisherSettings.variables() == {
        "event_bus_name": "EVENT_BUS_NAME",
        "event_source": "EVENT_SOURCE",
    }
    with pytest.raises(KeyError):
        ApiSettings.variable("no_such_setting")


def test_settings_are_read_from_the_environment_given() -> None:
    settings = ApiSettings.from_environment(
        {"ORDERS_TABLE_NAME": "orders", "MAX_ITEMS_PER_ORDER": "7", "WRITE_CONCURRENCY": "3", "OTHER": "x"}
    )
    assert settings.orders_table_name == "orders"
    assert settings.limits.max_items_per_order == 7
    assert settings.limits.max_body_bytes == Limits().max_body_bytes
    assert settings.write_concurrency == 3


def test_every_settings_model_of_the_functions_derives_its_variables() -> None:
    for model in (ApiSettings, AuthorizerSettings, PublisherSettings, Limits):
        assert issubclass(model, EnvironmentSettings)


def imported(module: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``import module`` in a fresh interpreter, as a Lambda cold start does."""
    return subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("module", "variable", "value"),
    [
        ("forward_orders.handler", "ORDERS_TABLE_NAME", None),
        ("forward_orders.handler", "MAX_BODY_BYTES", "lots"),
        ("forward_orders.handler", "WRITE_CONCURRENCY", "0"),
        ("authorizer.handler", "API_KEYS_TABLE_NAME", None),
        ("order_events.handler", "EVENT_BUS_NAME", None),
        ("order_events.handler", "EVENT_SOURCE", "aws.orders"),
    ],
)
def test_a_bad_variable_fails_the_cold_start_not_a_request(
    module: str, variable: str, value: str | None
) -> None:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join([str(REPO / "functions")])
    if value is None:
        environment.pop(variable, None)
    else:
        environment[variable] = value
    loaded = imported(module, environment)
    assert loaded.returncode != 0
    assert "ValidationError" in loaded.stderr
    assert variable.lower() in loaded.stderr
    # And with the variable as the tests set it, the same module loads.
    environment.update({name: os.environ[name] for name in (variable,) if name in os.environ})
    if variable not in os.environ:
        environment.pop(variable, None)
    good = imported(module, environment)
    assert good.returncode == 0, good.stderr
