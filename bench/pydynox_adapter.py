"""The write path on pydynox: the prototype measured against botocore (docs/performance.md).

Not shipped: ``PydynoxWrites`` stands in for the botocore client under the function's own
``OrdersTable`` (whose deadline-bounded retry loop and classification are kept), for UpdateItem
only, the call the benchmark's batch makes. It keeps every promise that pydynox lets it keep:

- its own retries off (``max_retries=0``: one HTTP request per attempt, checked through the fault
  proxy in tests/reliability/test_pydynox_errors.py);
- the endpoint from ``AWS_ENDPOINT_URL_DYNAMODB`` when it is set, as boto3 reads it;
- the value conversion in one place (``native``): the adapter's typed AttributeValues to pydynox's
  native values, which is what pydynox serializes (a ``{"S": ...}`` passed to it is stored as a map);
- errors mapped onto what ``is_retryable`` reads: throttling and conditional-check failures have
  classes of their own; timeouts and resets are ``ConnectionException``; **a 500 or 503 is a bare
  ``PydynoxException`` with the server's message and no code or status**, like every error pydynox
  does not map, so it can only be classified as retryable by exclusion (an unmapped permanent error
  would be retried to a 502 instead of surfacing as a 500);
- every call traced with a manual X-Ray subsegment (``aws`` namespace, the operation and the
  table), as botocore's X-Ray patch records it, minus the request id, which pydynox does not expose.
"""

from __future__ import annotations

import logging
import os
import traceback
from typing import Any

import pydynox
from botocore.exceptions import ClientError, ConnectionClosedError
from pydynox import exceptions as pydynox_errors


def native(value: dict[str, Any]) -> Any:
    """One typed AttributeValue (S, N of an integer, L, M: what the adapter writes) as pydynox's."""
    ((kind, data),) = value.items()
    if kind == "S":
        return data
    if kind == "N":
        return int(data)
    if kind == "L":
        return [native(entry) for entry in data]
    if kind == "M":
        return {name: native(entry) for name, entry in data.items()}
    raise ValueError(f"unexpected attribute type {kind}")


def update_arguments(request: dict[str, Any]) -> tuple[Any, ...]:
    """An UpdateItem as botocore takes it (``update_request``'s), as pydynox's positional arguments:
    table, key, updates (none), update expression, condition, names, values."""
    return (
        request["TableName"],
        {name: native(value) for name, value in request["Key"].items()},
        None,
        request["UpdateExpression"],
        request.get("ConditionExpression"),
        request["ExpressionAttributeNames"],
        {name: native(value) for name, value in request["ExpressionAttributeValues"].items()},
    )


# pydynox's classes and the DynamoDB error codes ``forward_orders.storage`` decides by.
_CODES = (
    (pydynox_errors.ConditionalCheckFailedException, "ConditionalCheckFailedException", 400),
    (pydynox_errors.ProvisionedThroughputExceededException, "ProvisionedThroughputExceededException", 400),
    (pydynox_errors.ValidationException, "ValidationException", 400),
    (pydynox_errors.ResourceNotFoundException, "ResourceNotFoundException", 400),
    (pydynox_errors.AccessDeniedException, "AccessDeniedException", 400),
)


def client_error(error: Exception, endpoint: str, operation: str) -> Exception:
    """What the botocore adapter would have raised, as far as pydynox tells."""
    if isinstance(error, pydynox_errors.ConnectionException):
        return ConnectionClosedError(endpoint_url=endpoint)
    # 500, 503 and whatever else pydynox does not map are indistinguishable (see above).
    code, status = next(
        ((code, status) for kind, code, status in _CODES if isinstance(error, kind)),
        ("InternalServerError", 500),
    )
    response: Any = {
        "Error": {"Code": code, "Message": str(error)},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


class PydynoxWrites:
    """UpdateItem as botocore's client takes it, done by pydynox, in an X-Ray subsegment."""

    def __init__(self, recorder: Any | None) -> None:
        self.endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or ""
        self.region = os.environ.get("AWS_REGION", "")
        self._client = pydynox.DynamoDBClient(endpoint_url=self.endpoint or None, max_retries=0)
        # It logs every call at INFO (and a warning for any call over 100 ms): nothing the
        # function's logs should carry.
        logging.getLogger("pydynox").setLevel(logging.ERROR)
        self._recorder = recorder

    def update_item(self, **request: Any) -> dict[str, Any]:
        subsegment = None
        if self._recorder is not None:
            subsegment = self._recorder.begin_subsegment("DynamoDB", namespace="aws")
        try:
            if subsegment is not None:
                subsegment.set_aws(
                    {"operation": "UpdateItem", "region": self.region, "table_name": request["TableName"]}
                )
            self._client.sync_update_item(*update_arguments(request))
        except pydynox_errors.PydynoxException as error:
            if subsegment is not None:
                subsegment.add_exception(error, traceback.extract_stack())
            raise client_error(error, self.endpoint, "UpdateItem") from error
        finally:
            if subsegment is not None:
                self._recorder.end_subsegment()  # type: ignore[union-attr]
        return {}
