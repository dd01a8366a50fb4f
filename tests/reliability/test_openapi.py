"""The OpenAPI document: ``openapi.json`` is what ``forward-orders openapi`` prints, it is valid
OpenAPI 3.1, it covers every route and response, and its value patterns accept exactly what the
request models accept (checked value by value against the models' own validators)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import BeforeValidator, ValidationError

from tests import REPO

CHECKED_IN = REPO / "openapi.json"


def test_the_checked_in_openapi_json_is_what_the_code_generates() -> None:
    from forward_orders_cli.openapi import openapi_document, render

    assert CHECKED_IN.read_text(encoding="utf-8") == render(openapi_document()), (
        "openapi.json is stale: run `forward-orders openapi -o openapi.json` and commit it"
    )


def test_the_command_prints_the_document(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from forward_orders_cli.main import main

    assert main(["openapi"]) == 0
    assert capsys.readouterr().out == CHECKED_IN.read_text(encoding="utf-8")
    assert main(["openapi", "--output", str(tmp_path / "api.json")]) == 0
    assert (tmp_path / "api.json").read_text(encoding="utf-8") == CHECKED_IN.read_text(encoding="utf-8")


def test_it_is_valid_openapi_3_1_with_every_route_response_and_both_credentials() -> None:
    from openapi_spec_validator import validate

    from common.api_routes import API_FUNCTION, served_by

    document = json.loads(CHECKED_IN.read_text(encoding="utf-8"))
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert {path for path in document["paths"]} == {route.resource for route in served_by(API_FUNCTION)}
    for route in served_by(API_FUNCTION):
        operation = document["paths"][route.resource][route.method.lower()]
        responses = operation["responses"]
        assert {"200", "401", "404", "429", "500", "502"} <= set(responses), route
        for status, response in responses.items():
            assert "x-request-id" in response["headers"], (route, status)
            assert ("content" in response) == (status != "401"), "401 has no body at all"
        assert "Retry-After" in responses["502"]["headers"]
    post = document["paths"]["/forward_orders"]["post"]
    assert {"400", "413", "422"} <= set(post["responses"])
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerKey"] == {**schemes["bearerKey"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKeyHeader"] == {
        **schemes["apiKeyHeader"],
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }
    assert document["security"] == [{"bearerKey": []}, {"apiKeyHeader": []}]


def test_string_fields_accept_json_integers_as_the_models_do() -> None:
    document = json.loads(CHECKED_IN.read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    for model, field in [
        ("Order", "identifier"),
        ("Order", "postal_code"),
        ("Item", "upc"),
        ("Item", "tracking_number"),
        ("Label", "value"),
    ]:
        types = [alternative.get("type") for alternative in schemas[model]["properties"][field]["oneOf"]]
        assert "string" in types and "integer" in types, (model, field)


# -- the patterns say what the validators do ---------------------------------------------------------

SAMPLES = [
    "",
    " ",
    "\t\n",
    "\u3000",
    "\x85",
    "\x1c",
    "\ufeff",
    "a",
    " a ",
    "0",
    "1",
    "01",
    " 7 ",
    "0000000001",
    "00000000001",
    "2147483647",
    "2147483648",
    "9999999999",
    "-1",
    "1.5",
    "٣",  # an Arabic-Indic digit: not an ASCII digit
    "barcode",
    " text ",
    "Barcode",
    "qr",
    "2024-02-29",
    "2023-02-29",
    "2023-02-28",
    "2024-04-31",
    "2024-13-01",
    "0000-01-01",
    "0001-01-01",
    " 2024-01-01T10:00:00Z ",
    "2024-01-01T24:00:00",
    "2024-01-01T23:59:59.999999+05:30",
    "2024-01-01T23:59:59-24:00",
    "2024-01-01t10:00:00",
    "2024-01-01 10:00:00",
    "2024-1-01",
    "x" * 255,
    " " + "x" * 255 + " ",
    "x" * 256,
    "é" * 255,
    "😀" * 256,
]


def _accepts(validator: Callable[[Any], Any], value: str) -> bool:
    from pydantic import TypeAdapter

    try:
        TypeAdapter(Annotated[Any, BeforeValidator(validator)]).validate_python(value)
    except ValidationError:
        return False
    return True


def _pattern_accepts(schema: dict[str, Any], value: str) -> bool:
    alternatives = schema.get("oneOf", [schema])
    for alternative in alternatives:
        if alternative.get("type") == "string" and re.search(alternative.get("pattern", ""), value):
            return True
    return False


@pytest.mark.parametrize(
    ("model", "field", "rule"),
    [
        ("Order", "identifier", "identifier"),
        ("Item", "quantity", "quantity"),
        ("Item", "shipped_date", "optional_date"),
        ("Label", "type", "label_type"),
    ],
)
def test_each_pattern_accepts_exactly_what_its_validator_accepts(model: str, field: str, rule: str) -> None:
    from forward_orders import models

    document = json.loads(CHECKED_IN.read_text(encoding="utf-8"))
    schema = document["components"]["schemas"][model]["properties"][field]
    validator = getattr(models, rule)
    leap_day = re.compile(r"\s*\d{4}-02-29")
    for value in SAMPLES:
        expected = _accepts(validator, value)
        if rule == "optional_date" and leap_day.match(value) and not expected:
            # A regex cannot know leap years: the document's format date-or-date-time says it.
            assert schema["oneOf"][0]["format"] == "date-or-date-time"
            continue
        assert _pattern_accepts(schema, value) == expected, (field, value, expected)


def test_a_validator_the_document_does_not_know_fails_the_generation() -> None:
    from aws_lambda_powertools.utilities.parser import BaseModel

    from forward_orders_cli.openapi import UnknownValueRule, _RequestSchema

    def new_rule(value: Any) -> Any:
        return value

    class Unknown(BaseModel):
        field: Annotated[str, BeforeValidator(new_rule)]

    with pytest.raises(UnknownValueRule, match="new_rule"):
        Unknown.model_json_schema(schema_generator=_RequestSchema)


BOUND_SAMPLES = [
    "x" * 128,
    " " + "x" * 128 + " ",
    "x" * 129,
    "😀" * 128,
    "😀" * 129,
    "2025-01-31T10:20:30." + "1" * 44,  # 64 characters
    "2025-01-31T10:20:30." + "1" * 45,
    "2025-01-31T10:20:30." + "1" * 43 + "Z",
    "2025-01-31T10:20:30." + "1" * 44 + "Z",
    "2025-01-31T10:20:30." + "1" * 38 + "+05:30",
    "2025-01-31T10:20:30." + "1" * 39 + "+05:30",
    " 2025-01-31 ",
]


@pytest.mark.parametrize(
    ("model", "field", "annotation"),
    [
        ("Item", "upc", "Upc"),
        ("Item", "sku", "Sku"),
        ("Item", "shipped_date", "OptionalDate"),
        ("Item", "tracking_number", "TrackingNumber"),
        ("Label", "value", "LabelValue"),
    ],
)
def test_each_bounded_pattern_accepts_exactly_what_its_rule_and_bound_accept(
    model: str, field: str, annotation: str
) -> None:
    from pydantic import TypeAdapter

    from forward_orders import models

    document = json.loads(CHECKED_IN.read_text(encoding="utf-8"))
    schema = document["components"]["schemas"][model]["properties"][field]
    adapter: TypeAdapter[Any] = TypeAdapter(getattr(models, annotation))
    for value in SAMPLES + BOUND_SAMPLES:
        if field == "shipped_date" and re.match(r"\s*\d{4}-02-29", value):
            continue  # leap years: the format, not the pattern (test above)
        try:
            adapter.validate_python(value)
            accepted = True  # blank in an optional field is "not sent": valid, as its pattern says
        except ValidationError:
            accepted = False
        # Python's re counts characters as the validators do (an emoji is one).
        assert _pattern_accepts(schema, value) == accepted, (field, value, accepted)
