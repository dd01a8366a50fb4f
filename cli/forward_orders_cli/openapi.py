"""``forward-orders openapi``: the OpenAPI 3.1 document of the API, generated from the code.

The request schemas come from the pydantic models the API function validates with
(``forward_orders.models``): pydantic walks the models, and every value rule (a ``BeforeValidator``
such as ``identifier`` or ``quantity``) is replaced by the JSON Schema of what that rule really
accepts, which is wider than the field's Python type: the API is a tolerant reader, so a JSON integer
is accepted in every string field, strings are trimmed, and ``null`` means "not sent". A rule this
module does not know is an error, so a new validator cannot silently become ``"type": "string"``.
The paths come from ``common.api_routes.ROUTES``, the one route table of the stack and the local
server: the API function's routes (the console's HTML page and assets are not part of the JSON
API, docs/console.md); the limits are the documented defaults (``forward_orders.settings.Limits``).

``openapi.json`` at the repository root is this command's output; a test regenerates it and compares.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from common.api_responses import ERROR_STATUSES, REQUEST_ID_HEADER, RETRY_AFTER_HEADER
from common.api_routes import (
    API_FUNCTION,
    LIMIT_PARAMETER,
    PARTIAL_SUCCESS_PARAMETER,
    UPSERT_ORDERS,
    ApiRoute,
    served_by,
)
from common.order_records import DATE_FORMAT, INSTANT_FORMAT
from forward_orders import models
from forward_orders.settings import Limits

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1"
SCHEMA_REF = "#/components/schemas/{model}"


# -- value rules ----------------------------------------------------------------------------------


def _whitespace_class() -> str:
    """A regex character class of exactly the characters ``str.strip()`` removes (``str.isspace``),
    written with escapes that mean the same in ECMA-262 (JSON Schema) and Python regexes."""
    spaces = [code for code in range(0x110000) if chr(code).isspace()]
    ranges: list[tuple[int, int]] = []
    for code in spaces:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))

    def escape(code: int) -> str:
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return "".join(escape(a) if a == b else f"{escape(a)}-{escape(b)}" for a, b in ranges)


WS = _whitespace_class()
# Contains something besides whitespace: not empty once trimmed.
NOT_BLANK = f"[^{WS}]"
BLANK_PATTERN = f"^[{WS}]*$"


def trimmed_length_pattern(longest: int, *, blank: bool = False) -> str:
    """Text of 1 to ``longest`` characters once trimmed (or blank too, when ``blank``)."""
    core = f"[^{WS}](?:[\\s\\S]{{0,{longest - 2}}}[^{WS}])?" if longest > 1 else f"[^{WS}]"
    return f"^[{WS}]*(?:{core}){'?' if blank else ''}[{WS}]*$"


# Trimmed length 1 to MAX_IDENTIFIER_LENGTH.
IDENTIFIER_PATTERN = trimmed_length_pattern(models.MAX_IDENTIFIER_LENGTH)
# A digit string from 1 to 2147483647 (MAX_QUANTITY), at most 10 characters once trimmed, written
# without lookarounds (generators of examples handle them poorly): no leading zero and up to 9
# digits, or 10 digits up to the maximum, or k leading zeros and up to 9 - k more digits.
_TEN_DIGITS_UP_TO_MAX = (
    "1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}|21474[0-7][0-9]{4}"
    "|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7]"
)
_LEADING_ZEROS = "|".join(f"0{{{k}}}[1-9][0-9]{{0,{9 - k}}}" for k in range(1, 10))
QUANTITY_PATTERN = f"^[{WS}]*(?:[1-9][0-9]{{0,8}}|{_TEN_DIGITS_UP_TO_MAX}|{_LEADING_ZEROS})[{WS}]*$"
# YYYY-MM-DD (a day that exists in that month; February 29 in leap years only, which a regex
# cannot say: see DATE_FORMAT), optionally THH:MM:SS[.fff][Z|±HH:MM].
_DAY = (
    "(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-9]))"
)
_CLOCK = "T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
_OFFSET = "[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]"
_TIME = f"{_CLOCK}(?:\\.[0-9]+)?(?:Z|{_OFFSET})?"
DATE_PATTERN = f"^[{WS}]*{_DAY}(?:{_TIME})?[{WS}]*$"
STORED_DATE_PATTERN = f"^{_DAY}(?:{_TIME})?$"
# updated_at: a date-time whose zone is given (Z or ±HH:MM), so that it names one instant.
INSTANT_PATTERN = f"^[{WS}]*{_DAY}{_CLOCK}(?:\\.[0-9]+)?(?:Z|{_OFFSET})[{WS}]*$"
STORED_INSTANT_PATTERN = f"^{_DAY}{_CLOCK}(?:\\.[0-9]+)?(?:Z|{_OFFSET})$"
_DATE_TIME_LENGTH = len("YYYY-MM-DDTHH:MM:SS")


def bounded_date_pattern(longest: int, *, zoned: bool = False) -> str:
    """DATE_PATTERN (or, ``zoned``, INSTANT_PATTERN) of at most ``longest`` characters once
    trimmed: the fraction as long as the rest leaves room for, with a Z, an offset or (unless
    ``zoned``) neither."""

    def fraction(room: int) -> str:
        return f"(?:\\.[0-9]{{1,{room}}})?" if room > 0 else ""

    room = longest - _DATE_TIME_LENGTH - 1  # after the point
    endings = (("Z", 1), (_OFFSET, 6)) if zoned else (("", 0), ("Z", 1), (_OFFSET, 6))
    fits = [
        f"{_CLOCK}{fraction(room - length)}{ending}"
        for ending, length in endings
        if _DATE_TIME_LENGTH + length <= longest
    ]
    if zoned:
        # Too short a bound for any instant leaves nothing valid but blank.
        return f"^[{WS}]*{_DAY}(?:{'|'.join(fits)})[{WS}]*$" if fits else "^(?!)$"
    return f"^[{WS}]*{_DAY}(?:{'|'.join(fits)})?[{WS}]*$" if fits else f"^[{WS}]*{_DAY}[{WS}]*$"


# The formats of this document (common.order_records): DATE_FORMAT, a real calendar date or that
# date with a time (DATE_PATTERN); INSTANT_FORMAT, with a time and a zone (INSTANT_PATTERN).
LABEL_TYPE_PATTERN = f"^[{WS}]*(?:{'|'.join(models.LABEL_TYPES)})[{WS}]*$"

_INTEGER_NOTE = (
    "A JSON integer (written without a fraction or exponent: 7, not 7.0 or 7e0) is accepted too and "
    "stored as its exact decimal digits."
)
_TRIM_NOTE = "Trimmed."


def _string_or_integer(string: dict[str, Any], integer: dict[str, Any], description: str) -> JsonSchemaValue:
    return {
        "oneOf": [{"type": "string", **string}, {"type": "integer", **integer}],
        "description": description,
    }


def _required_text() -> JsonSchemaValue:
    return _string_or_integer(
        {"pattern": NOT_BLANK},
        {},
        f"Required; empty once trimmed is missing_field. {_TRIM_NOTE} {_INTEGER_NOTE}",
    )


def _optional_text() -> JsonSchemaValue:
    return {
        "oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}],
        "description": "Optional; null, or empty once trimmed, means not sent (the stored value is kept). "
        f"{_TRIM_NOTE} {_INTEGER_NOTE}",
    }


def _identifier() -> JsonSchemaValue:
    longest = models.MAX_IDENTIFIER_LENGTH
    return _string_or_integer(
        {"pattern": IDENTIFIER_PATTERN},
        # An integer's decimal digits (and sign) count as its length.
        {"minimum": -(10 ** (longest - 1) - 1), "maximum": 10**longest - 1},
        f"Required, 1 to {longest} characters once trimmed (longer is invalid). {_TRIM_NOTE} {_INTEGER_NOTE}",
    )


def _optional_formatted(pattern: str, fmt: str, description: str) -> JsonSchemaValue:
    """A string of ``pattern`` (``fmt``), or blank or null: the ways of not sending it."""
    return {
        "oneOf": [
            {"type": "string", "pattern": pattern, "format": fmt},
            {"type": "string", "pattern": BLANK_PATTERN},
            {"type": "null"},
        ],
        "description": description,
    }


def _optional_date() -> JsonSchemaValue:
    return _optional_formatted(
        DATE_PATTERN,
        DATE_FORMAT,
        "Optional ISO 8601 date YYYY-MM-DD (a day that exists), or date-time "
        "YYYY-MM-DDTHH:MM:SS with an optional fraction and an optional Z or ±HH:MM; anything else is "
        "invalid_format. Stored exactly as sent, after trimming. Null, or empty once trimmed, means "
        "not sent.",
    )


def _optional_instant() -> JsonSchemaValue:
    return _optional_formatted(
        INSTANT_PATTERN,
        INSTANT_FORMAT,
        "Optional ISO 8601 date-time YYYY-MM-DDTHH:MM:SS with an optional fraction "
        "and a Z or ±HH:MM (required: it names one instant), of a day that exists; anything else is "
        "invalid_format. When the sender's system last changed the record: a write older than the "
        "stored one is skipped (stale), an equal one applied; instants are compared to the "
        "microsecond, not strings. Stored exactly as sent, after trimming. Null, or empty once "
        "trimmed, means not sent (applied as in v1, never lowering the stored one).",
    )


def _quantity() -> JsonSchemaValue:
    return _string_or_integer(
        {"pattern": QUANTITY_PATTERN},
        {"minimum": 1, "maximum": models.MAX_QUANTITY},
        f"Required integer from 1 to {models.MAX_QUANTITY} (written without a fraction or exponent); "
        "a string of digits (at most 10 once trimmed) is accepted too. Fractions, booleans, zero and "
        "negatives are rejected.",
    )


def _label_type() -> JsonSchemaValue:
    return {
        "type": "string",
        "pattern": LABEL_TYPE_PATTERN,
        "description": f"Exactly {' or '.join(models.LABEL_TYPES)} (after trimming; case matters).",
    }


# Each value rule of forward_orders.models and the schema of what it accepts.
VALUE_RULES: dict[Callable[..., Any], Callable[[], JsonSchemaValue]] = {
    models.required_text: _required_text,
    models.optional_text: _optional_text,
    models.identifier: _identifier,
    models.optional_date: _optional_date,
    models.optional_instant: _optional_instant,
    models.quantity: _quantity,
    models.label_type: _label_type,
}
# Rules that only turn null into missing_field: the schema is the wrapped type's.
PASS_THROUGH_RULES: frozenset[Callable[..., Any]] = frozenset({models.required_list})


class UnknownValueRule(TypeError):
    """A validator of the request models that this document does not describe yet."""


class _RequestSchema(GenerateJsonSchema):
    """The request models as JSON Schema, each value rule replaced by what it accepts, each field's
    bound (``models.MaxLength``) by what ``limits`` allows."""

    limits = Limits()

    def function_after_schema(self, schema: core_schema.AfterValidatorFunctionSchema) -> JsonSchemaValue:
        rule: Any = schema["function"]["function"]
        if not isinstance(rule, models.MaxLength):
            return super().function_after_schema(schema)  # pydantic's own (a list's min_length)
        inner = self.generate_inner(schema["schema"])
        return _bounded(inner, getattr(self.limits, rule.limit))

    def function_before_schema(self, schema: core_schema.BeforeValidatorFunctionSchema) -> JsonSchemaValue:
        rule = _rule_of(schema)
        if rule in VALUE_RULES:
            return VALUE_RULES[rule]()
        if rule in PASS_THROUGH_RULES:
            return super().function_before_schema(schema)
        if rule is _bare_array_rule():
            # {"orders": [...]} or the bare array of orders, which means the same.
            batch = super().function_before_schema(schema)
            orders = batch["properties"]["orders"]
            return {
                "oneOf": [
                    batch,
                    {**orders, "description": 'A bare array of orders: the same as {"orders": [...]}.'},
                ]
            }
        raise UnknownValueRule(f"openapi.py does not know the rule {_name(rule)}: teach it VALUE_RULES")


def _bounded(schema: JsonSchemaValue, longest: int) -> JsonSchemaValue:
    """A value rule's schema, its text at most ``longest`` characters once trimmed."""
    alternatives = []
    for alternative in schema["oneOf"]:
        kind, pattern = alternative.get("type"), alternative.get("pattern")
        bound: dict[str, Any] = {}
        if kind == "integer":
            # An integer's decimal digits (and sign) count as its length.
            bound = {"minimum": -(10 ** (longest - 1) - 1), "maximum": 10**longest - 1}
        elif kind == "string" and pattern == DATE_PATTERN:
            bound = {"pattern": bounded_date_pattern(longest)}
        elif kind == "string" and pattern == INSTANT_PATTERN:
            bound = {"pattern": bounded_date_pattern(longest, zoned=True)}
        elif kind == "string" and pattern in (None, NOT_BLANK):
            bound = {"pattern": trimmed_length_pattern(longest, blank=pattern is None)}
        alternatives.append({**alternative, **bound})
    note = f" At most {longest} characters once trimmed by default (configurable); longer is invalid."
    return {**schema, "oneOf": alternatives, "description": schema["description"] + note}


def _rule_of(schema: core_schema.BeforeValidatorFunctionSchema) -> Callable[..., Any]:
    function: Any = schema["function"]["function"]
    return getattr(function, "__func__", function)


def _bare_array_rule() -> Callable[..., Any]:
    validator: Any = models.OrdersBatch._accept_bare_array
    return getattr(validator, "__func__", validator)


def _name(rule: Callable[..., Any]) -> str:
    return getattr(rule, "__qualname__", repr(rule))


# -- schemas --------------------------------------------------------------------------------------

FIELD_DESCRIPTIONS = {
    ("Order", "identifier"): "Unique per order (per client).",
    ("Order", "concept"): "The brand.",
    ("Order", "items"): "The order's items; may be empty in an update (items not mentioned stay).",
    ("Item", "identifier"): "Unique per item within its order.",
    ("Item", "labels"): "Replaces the item's stored labels as a whole when given.",
    ("OrdersBatch", "orders"): "The orders to create or update.",
}
COUNT_LIMITS = {
    ("OrdersBatch", "orders"): "max_orders_per_request",
    ("Order", "items"): "max_items_per_order",
    ("Item", "labels"): "max_labels_per_item",
}


def request_schemas(limits: Limits) -> dict[str, JsonSchemaValue]:
    """OrdersBatch and the models it refers to, by name."""
    generator = type("RequestSchema", (_RequestSchema,), {"limits": limits})
    generated = models.OrdersBatch.model_json_schema(schema_generator=generator, ref_template=SCHEMA_REF)
    definitions: dict[str, JsonSchemaValue] = generated.pop("$defs")
    definitions["OrdersBatch"] = generated
    for name, schema in definitions.items():
        _describe_model(name, schema, limits)
    batch, bare_array = definitions["OrdersBatch"]["oneOf"]
    bare_array.update({k: v for k, v in batch["properties"]["orders"].items() if k != "description"})
    definitions["OrdersBatch"]["description"] = (
        'The POST body: {"orders": [Order, ...]}, or the bare array of orders, which means the same. '
        "Unknown fields are ignored (neither stored nor an error). Two orders with the same identifier, "
        "or two items with the same identifier in one order, are a duplicate (on the later one); "
        'integers and strings name the same identifier (7 and "7"). Nothing is written unless the '
        "whole body is valid."
    )
    return definitions


def _describe_model(name: str, schema: JsonSchemaValue, limits: Limits) -> None:
    _strip_titles(schema)
    for variant in schema.get("oneOf", [schema]):
        for field, field_schema in variant.get("properties", {}).items():
            description = FIELD_DESCRIPTIONS.get((name, field))
            limit_name = COUNT_LIMITS.get((name, field))
            array = _array_of(field_schema)
            if limit_name is not None and array is not None:
                limit = getattr(limits, limit_name)
                array["maxItems"] = limit
                description = (
                    f"{description or ''} At most {limit} by default (configurable, "
                    f"{limit_name.upper()}); over it is a 422 invalid on this array."
                ).strip()
            if description:
                text = field_schema.get("description")
                field_schema["description"] = f"{description} {text}" if text else description
            if "default" in field_schema and field_schema["default"] is None:
                del field_schema["default"]  # null is "not sent", already said by the schema
    if name != "OrdersBatch":
        schema.pop("description", None)  # the model's docstring, written for developers


def _array_of(schema: JsonSchemaValue) -> JsonSchemaValue | None:
    if schema.get("type") == "array":
        return schema
    for alternative in schema.get("anyOf", []) + schema.get("oneOf", []):
        if alternative.get("type") == "array":
            return alternative
    return None


def _strip_titles(schema: Any) -> None:
    if isinstance(schema, dict):
        schema.pop("title", None)
        for key, value in schema.items():
            if key != "properties":
                _strip_titles(value)
            else:
                for field in value.values():
                    _strip_titles(field)
    elif isinstance(schema, list):
        for value in schema:
            _strip_titles(value)


def response_schemas() -> dict[str, JsonSchemaValue]:
    """Every response body, generated from the shapes the API function builds them with
    (``common.api_responses``): each route's 200 body, and each error status's body under the
    status's name, its message a constant where only the API answers it."""
    schemas: dict[str, JsonSchemaValue] = {}
    for route in served_by(API_FUNCTION):
        schemas.update(_shape_schemas(_success(route)))
    for error in ERROR_STATUSES.values():
        if error.body is None:
            continue
        body_schemas = _shape_schemas(error.body)
        schema = body_schemas.pop(error.body.__name__)
        schemas.update(body_schemas)
        if error.exact_message and error.message is not None:
            schema["properties"]["message"] = {"type": "string", "const": error.message}
        schema["description"] = error.description
        schemas[_schema_name(error.status)] = schema
    for schema in schemas.values():
        _add_stored_date_patterns(schema)
    return schemas


def _shape_schemas(shape: type[Any]) -> dict[str, JsonSchemaValue]:
    """A TypedDict's JSON Schema and those of the shapes it refers to, by name."""
    generated = TypeAdapter(shape).json_schema(ref_template=SCHEMA_REF, mode="serialization")
    schemas: dict[str, JsonSchemaValue] = generated.pop("$defs", {})
    schemas[shape.__name__] = generated
    for schema in schemas.values():
        _strip_titles(schema)
        if "description" in schema:
            schema["description"] = " ".join(schema["description"].split())  # a docstring's lines
    return schemas


def _schema_name(status: HTTPStatus) -> str:
    return "".join(word.title() for word in status.name.split("_"))


def _add_stored_date_patterns(schema: Any) -> None:
    """A stored date is what the request's date pattern accepts, trimmed."""
    if isinstance(schema, dict):
        if schema.get("format") == DATE_FORMAT:
            schema["pattern"] = STORED_DATE_PATTERN
        elif schema.get("format") == INSTANT_FORMAT:
            schema["pattern"] = STORED_INSTANT_PATTERN
        for value in schema.values():
            _add_stored_date_patterns(value)
    elif isinstance(schema, list):
        for value in schema:
            _add_stored_date_patterns(value)


# -- the document -----------------------------------------------------------------------------------


# Numbers stand in string fields as real clients send them.
EXAMPLE_BATCH = {
    "orders": [
        {
            "identifier": 12345678901234567890,
            "concept": "Acme Outdoors",
            "postal_code": "02134",
            "created_at": "2024-03-01T10:15:30Z",
            "items": [
                {
                    "identifier": 2,
                    "upc": 889698123456,
                    "sku": "SKU-TENT-2P",
                    "quantity": "2",
                    "tracking_number": "1Z999AA10123456784",
                    "shipped_date": "2024-03-02",
                    "return_policy_end_date": "2024-04-01T00:00:00",
                    "labels": [{"type": "barcode", "name": "RMA", "value": 998877665544}],
                }
            ],
        }
    ]
}


def _response(description: str, schema: str | None, *, retry_after: bool = False) -> JsonSchemaValue:
    response: JsonSchemaValue = {
        "description": description,
        "headers": {REQUEST_ID_HEADER: {"$ref": "#/components/headers/RequestId"}},
    }
    if retry_after:
        response["headers"][RETRY_AFTER_HEADER] = {"$ref": "#/components/headers/RetryAfter"}
    if schema is not None:
        response["content"] = {"application/json": {"schema": {"$ref": SCHEMA_REF.format(model=schema)}}}
    return response


def _success(route: ApiRoute) -> type[Any]:
    if route.success is None:
        raise ValueError(f"{route.operation_id} answers no JSON: it is not part of this document")
    return route.success


def _operation(route: ApiRoute, limits: Limits) -> JsonSchemaValue:
    operation: JsonSchemaValue = {"operationId": route.operation_id, "summary": route.summary}
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": route.parameter_descriptions[name],
            "schema": {"type": "string", "minLength": 1},
        }
        for name in route.parameters
    ]
    for name, text in route.query_parameters.items():
        schema: JsonSchemaValue = {"type": "string", "minLength": 1}
        extra = ""
        if name == PARTIAL_SUCCESS_PARAMETER:
            schema = {"type": "string", "enum": ["true", "false"]}
        if name == LIMIT_PARAMETER:
            schema = {"type": "integer", "minimum": 1, "maximum": limits.max_page_items}
            extra = (
                f" By default {limits.default_page_items}, at most {limits.max_page_items}; the "
                f"response bound is {limits.max_response_bytes} bytes."
            )
        parameters.append(
            {"name": name, "in": "query", "required": False, "description": text + extra, "schema": schema}
        )
    if parameters:
        operation["parameters"] = parameters
    if route is UPSERT_ORDERS:
        operation["requestBody"] = {
            "required": True,
            "description": f"At most {limits.max_body_bytes} bytes by default (configurable, "
            "MAX_BODY_BYTES); over it is a 413. UTF-8 JSON.",
            "content": {
                "application/json": {
                    "schema": {"$ref": SCHEMA_REF.format(model="OrdersBatch")},
                    "examples": {
                        "v1": {"summary": "Shaped like the published v1 sample", "value": EXAMPLE_BATCH}
                    },
                }
            },
        }
    responses: JsonSchemaValue = {"200": _response("Success.", _success(route).__name__)}
    for status, text in route.other_successes.items():
        responses[str(status.value)] = _response(text, _success(route).__name__)
    for status in route.errors:
        error = ERROR_STATUSES[status]
        body = _schema_name(status) if error.body is not None else None
        responses[str(status.value)] = _response(error.description, body, retry_after=error.retry_after)
    operation["responses"] = responses
    return operation


def openapi_document(limits: Limits | None = None) -> dict[str, Any]:
    limits = limits or Limits()
    paths: dict[str, dict[str, Any]] = {}
    for route in served_by(API_FUNCTION):
        paths.setdefault(route.resource, {})[route.method.lower()] = _operation(route, limits)
    schemas = {**request_schemas(limits), **response_schemas()}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Forward Orders API",
            "version": API_VERSION,
            "description": "Retailers' order systems create or update (upsert) their orders and items, "
            "and read one back. Every record belongs to the client whose key was presented. "
            "Generated by `forward-orders openapi` from the code; CONTRACT.md is the contract.",
        },
        "servers": [
            {"url": "http://127.0.0.1:3000", "description": "forward-orders serve (make run)"},
            {
                "url": "https://{apiId}.execute-api.{region}.amazonaws.com/{stage}",
                "description": "The deployed stage",
                "variables": {
                    "apiId": {"default": "api-id"},
                    "region": {"default": "us-east-1"},
                    "stage": {"default": "v1"},
                },
            },
        ],
        "security": [{"bearerKey": []}, {"apiKeyHeader": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "headers": {
                "RequestId": {
                    "description": "The request's id; error bodies repeat it as request_id.",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1},
                },
                "RetryAfter": {
                    "description": "Seconds to wait before retrying.",
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                },
            },
            "securitySchemes": {
                "bearerKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Authorization: Bearer <API key>.",
                },
                "apiKeyHeader": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-api-key",
                    "description": "The same API key in x-api-key (when there is no Authorization header).",
                },
            },
        },
    }


def render(document: dict[str, Any]) -> str:
    """The document as written to openapi.json: indented JSON, non-ASCII escaped, final newline."""
    return json.dumps(document, indent=2) + "\n"


# -- the command ------------------------------------------------------------------------------------


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "openapi",
        help="print the OpenAPI 3.1 document of the API (generated from the code)",
        description="Print the OpenAPI document of the API: its routes, the request schema generated "
        "from the request models, every response, and the security schemes. openapi.json at the "
        "repository root is this output.",
    )
    parser.add_argument("-o", "--output", type=Path, help="write it to this file instead of stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    text = render(openapi_document())
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0
