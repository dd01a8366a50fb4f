"""What the API answers: the body of every response, each status's message, and the answers API
Gateway gives itself. One definition for the API function, the stack's gateway responses, the
local server and the OpenAPI document (which is generated from these shapes).

The shapes are TypedDicts: static types for the code that builds the bodies, JSON Schema for
OpenAPI through pydantic, and no validation cost on the request path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from http import HTTPStatus
from typing import Annotated, Literal, NotRequired

from pydantic import Field, with_config
from typing_extensions import TypeAliasType, TypedDict

from common.order_records import SHOWN_CONFIG, StoredDate, StoredItem, StoredOrderRecord

REQUEST_ID_HEADER = "x-request-id"
RETRY_AFTER_HEADER = "Retry-After"
# A 422 lists at most this many problems (and a 207's results, all together: at least one each).
MAX_PROBLEMS = 100
# A 200 (or 207) names at most this many stale records (``stale_count`` says how many in all).
MAX_STALE_SHOWN = 50


class ProblemCode(StrEnum):
    """Why a field broke the contract (CONTRACT.md, the 422 body)."""

    MISSING_FIELD = "missing_field"
    INVALID_TYPE = "invalid_type"
    INVALID_FORMAT = "invalid_format"
    INVALID = "invalid"
    DUPLICATE = "duplicate"


# The one code of a 400: the body is not JSON at all.
INVALID_JSON: Literal["invalid_json"] = "invalid_json"


class Problem(TypedDict):
    field: Annotated[
        str,
        Field(
            description="Slash-separated path from the body root with zero-based indexes "
            '(orders/0/items/1/sku), also for a bare-array body; "" is the root.'
        ),
    ]
    code: ProblemCode
    message: str


class JsonProblem(TypedDict):
    code: Literal["invalid_json"]
    message: str


class ErrorBody(TypedDict):
    message: str
    request_id: Annotated[str, Field(description=f"The same as the {REQUEST_ID_HEADER} header.")]


class BadRequestBody(ErrorBody):
    errors: Annotated[list[JsonProblem], Field(min_length=1, max_length=1)]


class ValidationFailedBody(ErrorBody):
    errors: Annotated[
        list[Problem],
        Field(
            min_length=1,
            max_length=MAX_PROBLEMS,
            description=f"Every problem found, in document order (at most {MAX_PROBLEMS}).",
        ),
    ]


class StaleRecord(TypedDict):
    """A record of the body skipped because the stored one has a newer updated_at."""

    order_identifier: str
    item_identifier: Annotated[str | None, Field(description="null: the order record itself.")]


class OrderResult(TypedDict):
    """One order's outcome in per-order mode (?partial_success=true)."""

    index: Annotated[int, Field(ge=0, description="Its position in the body's orders.")]
    identifier: Annotated[
        str | None, Field(description="As it would be stored; null when it has no valid one.")
    ]
    status: Annotated[
        Literal["stored", "rejected", "stale"],
        Field(
            description="stored: written (some of its records may be stale, see stale); rejected: "
            "invalid, nothing of it written (errors says why); stale: every record of it older than "
            "what is stored."
        ),
    ]
    errors: NotRequired[
        Annotated[
            list[Problem],
            Field(
                min_length=1,
                max_length=MAX_PROBLEMS,
                description=f"Its problems, in body order. The results list at most {MAX_PROBLEMS} "
                "problems in all, and every rejected order at least its first one.",
            ),
        ]
    ]


class UpsertResult(TypedDict):
    """Every order and item of the body that is not stale is stored (and in per-order mode every
    valid order: results says which). More keys may be added."""

    message: Literal["Success"]
    orders_upserted: Annotated[int, Field(ge=0, description="Order records written (not stale).")]
    items_upserted: Annotated[int, Field(ge=0, description="Item records written (not stale).")]
    stale: NotRequired[
        Annotated[
            list[StaleRecord],
            Field(
                max_length=MAX_STALE_SHOWN,
                description="The records skipped because what is stored has a newer updated_at (at "
                f"most {MAX_STALE_SHOWN}, in body order; stale_count says how many). Absent when none.",
            ),
        ]
    ]
    stale_count: NotRequired[Annotated[int, Field(ge=1, description="How many records were stale.")]]
    results: NotRequired[
        Annotated[
            list[OrderResult], Field(description="Per-order mode only: each order's result, in body order.")
        ]
    ]


@with_config(SHOWN_CONFIG)
class StoredOrder(StoredOrderRecord):
    """The order as stored, with all its items. String fields come back as stored (a number sent in
    a string field comes back as its digits); fields never sent are absent."""

    items: Annotated[
        list[StoredItem],
        Field(
            description="A page of the stored items, sorted by identifier: all of them unless "
            "next_cursor says more follow."
        ),
    ]
    next_cursor: NotRequired[
        Annotated[
            str,
            Field(
                description="Present when more items follow: pass it back as ?cursor= (with the same "
                "order and key) for the next page. Absent on the last page."
            ),
        ]
    ]


@with_config(SHOWN_CONFIG)
class EligibleWindow(TypedDict):
    status: Literal["eligible"]
    return_policy_end_date: StoredDate
    days_left: Annotated[int, Field(ge=0, description="Whole days (24 h) left; 0 on the last day.")]


@with_config(SHOWN_CONFIG)
class ExpiredWindow(TypedDict):
    status: Literal["expired"]
    return_policy_end_date: StoredDate
    days_left: Annotated[int, Field(le=-1, description="Negative: whole days (24 h) since it closed.")]


@with_config(SHOWN_CONFIG)
class UnknownWindow(TypedDict):
    status: Literal["unknown"]
    return_policy_end_date: Annotated[
        str | None,
        Field(
            description="null: the item has no return_policy_end_date. (A stored date that cannot "
            "be read, which validation never stores, would be shown as it is.)"
        ),
    ]
    days_left: None


ReturnEligibility = TypeAliasType(
    "ReturnEligibility",
    Annotated[
        EligibleWindow | ExpiredWindow | UnknownWindow,
        Field(
            discriminator="status",
            description="Whether the item can still be returned, judged at the time of the request "
            "(UTC). The window's last instant is the end of the day (UTC) for a date, the instant "
            "itself for a date-time (one without an offset is read as UTC). eligible up to and "
            "including that instant, expired after it, unknown without an end date. days_left: the "
            "whole days (24 h) from the request to that instant, rounded down: 0 on the last day, "
            "negative once expired; for a date, the UTC calendar days from today to it "
            "(docs/tracking.md).",
        ),
    ],
)


class TrackingMatch(TypedDict):
    client_id: NotRequired[Annotated[str, Field(description="The item's client: operations keys only.")]]
    order_identifier: str
    concept: NotRequired[Annotated[str, Field(description="The order's concept (brand), when it has one.")]]
    matched: Literal["tracking_number", "reverse_tracking_number"]
    item: StoredItem
    return_eligibility: ReturnEligibility


class TrackingLookup(TypedDict):
    """The items whose tracking number or reverse tracking number matches (docs/tracking.md). Only an
    operations key sees client_id."""

    tracking_number: Annotated[str, Field(description="The normalised number looked up.")]
    matches: list[TrackingMatch]
    truncated: Annotated[bool, Field(description="More matched than were returned.")]


# -- statuses --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorStatus:
    """An error status of the API: its ``message`` (None: no body at all), what it means, its body."""

    status: HTTPStatus
    message: str | None
    description: str
    body: type[ErrorBody] | None = ErrorBody
    retry_after: bool = False
    # False where API Gateway itself can answer the status with a message of its own (a failed
    # integration's 502, the 504 of its timeout).
    exact_message: bool = True


ERROR_STATUSES: dict[HTTPStatus, ErrorStatus] = {
    error.status: error
    for error in (
        ErrorStatus(
            HTTPStatus.BAD_REQUEST,
            "Bad Request",
            "The body is not JSON: empty, not UTF-8, bad base64, or a syntax error.",
            BadRequestBody,
        ),
        ErrorStatus(
            HTTPStatus.UNAUTHORIZED,
            None,
            "No valid credential (missing, malformed, unknown or revoked key). No body at all.",
            None,
        ),
        ErrorStatus(HTTPStatus.NOT_FOUND, "Not Found", "Unknown order (for this client) or route."),
        ErrorStatus(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Payload Too Large", "The body is over the size limit."
        ),
        ErrorStatus(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "Validation Failed",
            "Valid JSON that breaks a rule of the contract: every problem found.",
            ValidationFailedBody,
        ),
        ErrorStatus(
            HTTPStatus.TOO_MANY_REQUESTS,
            "Too Many Requests",
            "The client is over its rate limit.",
            retry_after=True,
        ),
        ErrorStatus(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error", "A bug; never a stack trace."),
        ErrorStatus(
            HTTPStatus.BAD_GATEWAY,
            "Bad Gateway",
            "Storage or the authorizer unavailable or throttled after bounded retries: retry after "
            "Retry-After. (API Gateway's own answer when the integration fails has another message.)",
            retry_after=True,
            exact_message=False,
        ),
        ErrorStatus(
            HTTPStatus.GATEWAY_TIMEOUT,
            "Endpoint request timed out",
            "API Gateway's integration timeout (29 s); the message is API Gateway's own.",
            exact_message=False,
        ),
    )
}


def message(status: HTTPStatus) -> str:
    """The ``message`` of an error body with this status."""
    text = ERROR_STATUSES[status].message
    if text is None:
        raise ValueError(f"{status} has no body")
    return text


# -- API Gateway's own answers ---------------------------------------------------------------------


@dataclass(frozen=True)
class GatewayResponse:
    """What the stage answers for one of API Gateway's response types (infra/api.py deploys these,
    the local server answers them): a status of ``ERROR_STATUSES`` and its body, or, for the
    DEFAULT types, API Gateway's status and message for the case."""

    status: HTTPStatus | None  # None: API Gateway's own status for the type (DEFAULT_4XX / DEFAULT_5XX)
    headers: dict[str, str] = field(default_factory=dict)
    # The Retry-After of this type when it is not the stack's retryAfterSeconds.
    retry_after_seconds: int | None = None

    @property
    def has_body(self) -> bool:
        return self.status is None or ERROR_STATUSES[self.status].message is not None

    @property
    def retry_after(self) -> bool:
        return self.status is not None and ERROR_STATUSES[self.status].retry_after


# The contract's 401 has no body at all; WWW-Authenticate says which scheme to use.
_UNAUTHORIZED = GatewayResponse(HTTPStatus.UNAUTHORIZED, {"WWW-Authenticate": "Bearer"})
# A key over its daily quota can do nothing until the quota's day ends (00:00 UTC), which a gateway
# response cannot compute: an hour, long enough that a client gives up rather than retry in a loop
# (the local server, which can, says the seconds left).
QUOTA_RETRY_AFTER_SECONDS = 3600

GATEWAY_RESPONSES: dict[str, GatewayResponse] = {
    "UNAUTHORIZED": _UNAUTHORIZED,  # the authorizer raised "Unauthorized", or an identity source is missing
    "ACCESS_DENIED": _UNAUTHORIZED,  # the authorizer's policy denied the request
    # The metering key the authorizer returned is in no usage plan of the stage (a key issued
    # before tiers, a tier change under way, a key revoked while its authorization was cached):
    # the key itself passed the authorizer, so not the client's fault; worth a retry.
    "INVALID_API_KEY": GatewayResponse(HTTPStatus.BAD_GATEWAY),
    "EXPIRED_TOKEN": _UNAUTHORIZED,  # IAM authentication (not used, kept consistent)
    "INVALID_SIGNATURE": _UNAUTHORIZED,  # IAM authentication (not used, kept consistent)
    # Not the client's fault (the key lookup timed out, say): worth a retry.
    "AUTHORIZER_FAILURE": GatewayResponse(HTTPStatus.BAD_GATEWAY),
    "AUTHORIZER_CONFIGURATION_ERROR": GatewayResponse(HTTPStatus.INTERNAL_SERVER_ERROR),
    # Over the key's tier (its usage plan's token bucket) or the stage's throttle.
    "THROTTLED": GatewayResponse(HTTPStatus.TOO_MANY_REQUESTS),
    "QUOTA_EXCEEDED": GatewayResponse(
        HTTPStatus.TOO_MANY_REQUESTS, retry_after_seconds=QUOTA_RETRY_AFTER_SECONDS
    ),
    "REQUEST_TOO_LARGE": GatewayResponse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
    "MISSING_AUTHENTICATION_TOKEN": GatewayResponse(HTTPStatus.NOT_FOUND),
    "RESOURCE_NOT_FOUND": GatewayResponse(HTTPStatus.NOT_FOUND),
    "DEFAULT_4XX": GatewayResponse(None),
    "DEFAULT_5XX": GatewayResponse(None),
}

# What API Gateway answers with 401 (UNAUTHORIZED) when a REQUEST authorizer raises exactly this.
UNAUTHORIZED_MESSAGE = "Unauthorized"

# API Gateway's status and message when the Lambda integration fails (the function raised, timed
# out, or returned something that is not a proxy response): the DEFAULT_5XX answer.
INTEGRATION_FAILURE = (HTTPStatus.BAD_GATEWAY, "Internal server error")
