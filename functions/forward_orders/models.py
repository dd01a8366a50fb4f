"""Request models of POST /forward_orders: every field and value rule of the contract.

The rules are "tolerant reader, strict writer": a JSON integer in a string field is kept as its
exact digits, strings are trimmed, null or an empty optional string means "not sent", unknown fields
are ignored. Each rule that fails raises a ``PydanticCustomError`` whose type is the contract's
error code (``missing_field``, ``invalid_type``, ``invalid_format``, ``invalid``), so turning a
pydantic ``ValidationError`` into the 422 body is a lookup, never a match on message text.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

# The models are Powertools parser models (its BaseModel is pydantic v2's), validated with its
# parse(); importing the parser costs about 1 % of a cold start (docs/performance.md).
from aws_lambda_powertools.utilities.parser import BaseModel
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

# Fields an update may leave out; they keep their stored value (see docs/design.md). Defined with
# the record layout, which the order events function shares; the API's modules import them from here.
from common.api_responses import ProblemCode
from common.order_records import (  # noqa: F401
    ITEM_FIELDS,
    LABEL_TYPES,
    MAX_IDENTIFIER_LENGTH,
    MAX_QUANTITY,
    ORDER_FIELDS,
)
from forward_orders.settings import Limits

# YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SS with an optional fraction and an optional Z or ±HH:MM. The
# return eligibility of a tracking match (eligibility.py) reads stored dates with it too.
DATE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:T(?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?:Z|(?P<sign>[+-])(?P<oh>\d{2}):(?P<om>\d{2}))?)?",
    re.ASCII,
)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class JsonInteger(str):
    """A JSON integer exactly as the body spells it (``-0`` stays ``-0``; 5,000 digits stay 5,000
    digits): what the JSON parser makes of every integer (batch_reader), so a string field stores
    the client's own digits and a quantity converts them itself, never the parser."""


def _text(value: Any) -> str:
    # type() rather than isinstance(): bool is a subclass of int and must stay an error.
    if type(value) is JsonInteger:
        return str(value)
    if type(value) is str:
        if _SURROGATE.search(value):
            # JSON's "\ud800" escapes parse to lone surrogates: not text DynamoDB can store.
            raise PydanticCustomError(ProblemCode.INVALID, "is not valid Unicode text")
        return value.strip()
    if type(value) is int:  # a model built in code rather than from a body
        return str(value)
    raise PydanticCustomError(ProblemCode.INVALID_TYPE, "must be a string")


def required_text(value: Any) -> str:
    if value is None:
        raise PydanticCustomError(ProblemCode.MISSING_FIELD, "is required")
    text = _text(value)
    if not text:
        raise PydanticCustomError(ProblemCode.MISSING_FIELD, "is required")
    return text


def optional_text(value: Any) -> str | None:
    if value is None:
        return None
    return _text(value) or None


def identifier(value: Any) -> str:
    text = required_text(value)
    if len(text) > MAX_IDENTIFIER_LENGTH:
        raise PydanticCustomError(ProblemCode.INVALID, f"must be at most {MAX_IDENTIFIER_LENGTH} characters")
    return text


def optional_date(value: Any) -> str | None:
    text = optional_text(value)
    if text is None:
        return None
    match = DATE.fullmatch(text)
    if match is None or not _is_real_date(match):
        raise PydanticCustomError(
            ProblemCode.INVALID_FORMAT,
            "must be an ISO 8601 date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM])",
        )
    return text


def optional_instant(value: Any) -> str | None:
    """A date-time with its offset or Z (``updated_at``: an instant, compared as one)."""
    text = optional_text(value)
    if text is None:
        return None
    match = DATE.fullmatch(text)
    zoned = match is not None and match["h"] is not None and (match["sign"] is not None or text.endswith("Z"))
    if match is None or not zoned or not _is_real_date(match):
        raise PydanticCustomError(
            ProblemCode.INVALID_FORMAT,
            "must be an ISO 8601 date-time with an offset or Z (YYYY-MM-DDTHH:MM:SS[.fff]Z or ±HH:MM)",
        )
    return text


def _is_real_date(match: re.Match[str]) -> bool:
    try:
        date.fromisoformat(match["date"])
    except ValueError:
        return False
    if match["h"] is None:
        return True
    in_range = int(match["h"]) < 24 and int(match["m"]) < 60 and int(match["s"]) < 60
    if match["oh"] is not None:
        in_range = in_range and int(match["oh"]) < 24 and int(match["om"]) < 60
    return in_range


def quantity(value: Any) -> int:
    if value is None:
        raise PydanticCustomError(ProblemCode.MISSING_FIELD, "is required")
    if type(value) is int:
        number = value
    elif type(value) is JsonInteger:
        # Its digits are converted only when few enough to be in range (Python refuses int() of
        # more than 4,300 digits; a sign is allowed, and out of range).
        if len(value.lstrip("-")) > len(str(MAX_QUANTITY)):
            raise PydanticCustomError(ProblemCode.INVALID, f"must be an integer from 1 to {MAX_QUANTITY}")
        number = int(value)
    elif type(value) is str and _DIGITS.fullmatch(value.strip()):
        if len(value.strip()) > len(str(MAX_QUANTITY)):
            raise PydanticCustomError(ProblemCode.INVALID, f"must be an integer from 1 to {MAX_QUANTITY}")
        number = int(value.strip())
    else:
        raise PydanticCustomError(ProblemCode.INVALID_TYPE, "must be an integer")
    if not 1 <= number <= MAX_QUANTITY:
        raise PydanticCustomError(ProblemCode.INVALID, f"must be an integer from 1 to {MAX_QUANTITY}")
    return number


def label_type(value: Any) -> str:
    text = required_text(value)
    if text not in LABEL_TYPES:
        raise PydanticCustomError(ProblemCode.INVALID, "must be barcode or text")
    return text


def required_list(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError(ProblemCode.MISSING_FIELD, "is required")
    return value


# The limits the length rules read while a body is validated: batch_reader sets them around the
# validation (Powertools' parse() passes no validation context); the documented defaults otherwise.
ACTIVE_LIMITS: ContextVar[Limits] = ContextVar("active_limits", default=Limits())  # noqa: B039 (frozen)


@dataclass(frozen=True)
class MaxLength:
    """A string field's bound: at most ``Limits.<limit>`` characters once trimmed (``invalid``
    beyond), checked after the field's value rule."""

    limit: str

    def __call__(self, value: str | None) -> str | None:
        longest: int = getattr(ACTIVE_LIMITS.get(), self.limit)
        if value is not None and len(value) > longest:
            raise PydanticCustomError(ProblemCode.INVALID, f"must be at most {longest} characters")
        return value


Identifier = Annotated[str, BeforeValidator(identifier)]
Quantity = Annotated[int, BeforeValidator(quantity)]
LabelType = Annotated[Literal["barcode", "text"], BeforeValidator(label_type)]
OptionalDate = Annotated[
    str | None, BeforeValidator(optional_date), AfterValidator(MaxLength("max_date_length"))
]
# When the sender's system last changed the record (docs/design.md, "Versioned writes").
UpdatedAt = Annotated[
    str | None, BeforeValidator(optional_instant), AfterValidator(MaxLength("max_date_length"))
]
# Each string field: its value rule, then its bound.
Concept = Annotated[
    str | None, BeforeValidator(optional_text), AfterValidator(MaxLength("max_concept_length"))
]
PostalCode = Annotated[
    str | None, BeforeValidator(optional_text), AfterValidator(MaxLength("max_postal_code_length"))
]
Upc = Annotated[str, BeforeValidator(required_text), AfterValidator(MaxLength("max_upc_length"))]
Sku = Annotated[str, BeforeValidator(required_text), AfterValidator(MaxLength("max_sku_length"))]
TrackingNumber = Annotated[
    str | None, BeforeValidator(optional_text), AfterValidator(MaxLength("max_tracking_number_length"))
]
DropshipIdentifier = Annotated[
    str | None, BeforeValidator(optional_text), AfterValidator(MaxLength("max_dropship_identifier_length"))
]
LabelName = Annotated[str, BeforeValidator(required_text), AfterValidator(MaxLength("max_label_name_length"))]
LabelValue = Annotated[
    str, BeforeValidator(required_text), AfterValidator(MaxLength("max_label_value_length"))
]

# extra="ignore": unknown fields are neither stored nor an error, so newer clients keep working.
_MODEL_CONFIG = ConfigDict(extra="ignore", frozen=True)


class Label(BaseModel):
    model_config = _MODEL_CONFIG

    type: LabelType
    name: LabelName
    value: LabelValue


class Item(BaseModel):
    model_config = _MODEL_CONFIG

    identifier: Identifier
    upc: Upc
    sku: Sku
    quantity: Quantity
    tracking_number: TrackingNumber = None
    reverse_tracking_number: TrackingNumber = None
    dropship_identifier: DropshipIdentifier = None
    shipped_date: OptionalDate = None
    return_policy_end_date: OptionalDate = None
    labels: list[Label] | None = None
    updated_at: UpdatedAt = None


class Order(BaseModel):
    model_config = _MODEL_CONFIG

    identifier: Identifier
    concept: Concept = None
    postal_code: PostalCode = None
    created_at: OptionalDate = None
    updated_at: UpdatedAt = None
    items: Annotated[list[Item], BeforeValidator(required_list)]


class _Body(BaseModel):
    """What every POST body is: ``{"orders": [...]}``, or the bare array of orders, which means the
    same."""

    model_config = _MODEL_CONFIG

    @model_validator(mode="before")
    @classmethod
    def _accept_bare_array(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"orders": data}
        if not isinstance(data, dict):
            raise PydanticCustomError(
                ProblemCode.INVALID_TYPE, "must be an object with an orders array, or an array of orders"
            )
        return data


class OrdersBatch(_Body):
    """The POST body, every order valid: what v1's all-or-nothing validation reads."""

    orders: Annotated[list[Order], BeforeValidator(required_list), Field(min_length=1)]


class OrdersEnvelope(_Body):
    """The POST body's envelope alone, its orders still raw: per-order results (partial_success)
    validate each order on its own."""

    orders: Annotated[list[Any], BeforeValidator(required_list), Field(min_length=1)]
