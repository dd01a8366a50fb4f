"""What can go wrong with a request, as domain exceptions. ``handler.py`` maps them to HTTP."""

from __future__ import annotations

from common.api_responses import Problem


class RequestError(Exception):
    """Base of every error a client can cause, or be told to retry."""


class NotAuthenticated(RequestError):
    """No tenant in the authorizer context: the request did not pass the authorizer."""


class MalformedBody(RequestError):
    """The body is not JSON: empty, bad base64, not UTF-8, or a syntax error."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PayloadTooLarge(RequestError):
    """The body is over the configured size limit."""


class ValidationFailed(RequestError):
    """Valid JSON that breaks the contract's rules; ``problems`` lists every one found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} validation problem(s)")
        self.problems = problems


class OrderNotFound(RequestError):
    """No order with that identifier for this client."""


class TrackingNumberNotFound(RequestError):
    """No item (that this credential may see) has that tracking number or reverse tracking number."""


class StorageUnavailable(RequestError):
    """Storage stayed throttled or unavailable after bounded retries; the client should retry."""
