"""What AWS hands the functions, built one way: the API Gateway REST (v1 proxy) event of a request,
the REQUEST authorizer's event, the authorizer context API Gateway adds, and the context object.

The local server builds every event it sends with these functions, and the tests and the benchmark
build theirs with the same ones, so what they exercise is exactly what ``make run`` sends. Standard
library only: the benchmark's function processes may import nothing the Lambda bundle lacks.
"""

from __future__ import annotations

import base64
import copy
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
API_ID = "local"
STAGE = "local"


@dataclass
class LocalLambdaContext:
    """What Powertools and the handlers read from a context; one per invocation."""

    function_name: str
    timeout_seconds: float = 29.0
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


@dataclass(frozen=True)
class Stage:
    """Where a request arrived: the stage's ids, which the events and the method ARN name."""

    name: str = STAGE
    api_id: str = API_ID
    region: str = REGION
    account_id: str = ACCOUNT_ID

    def method_arn(self, method: str, path: str) -> str:
        return f"arn:aws:execute-api:{self.region}:{self.account_id}:{self.api_id}/{self.name}/{method}{path}"


def proxy_event(
    method: str,
    path: str,
    *,
    resource: str,
    path_parameters: Mapping[str, str] | None,
    headers: Mapping[str, Sequence[str]] | None = None,
    query: Mapping[str, Sequence[str]] | None = None,
    body: bytes | str | None = None,
    base64_body: bool = True,
    request_id: str | None = None,
    stage: Stage | None = None,
    source_ip: str = "127.0.0.1",
    host: str = "127.0.0.1",
    protocol: str = "HTTP/1.1",
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The proxy integration event of one request, as the REST stage sends it to the function.

    ``path`` stays percent-encoded (REST APIs do not decode it); ``path_parameters`` are decoded.
    ``headers`` and ``query`` hold every value of each name; the single-value maps keep the last.
    The body is base64-encoded (the stack declares ``*/*`` a binary media type, so API Gateway
    always encodes it); ``base64_body=False`` builds the event of a stage without that setting.
    ``authorizer`` is the context the authorizer added (``authorizer_context``), if any.
    """
    stage = stage or Stage()
    request_id = request_id or str(uuid.uuid4())
    multi_headers = {name: list(values) for name, values in (headers or {}).items()}
    multi_query = {name: list(values) for name, values in (query or {}).items()}
    user_agent = next(
        (values[-1] for name, values in multi_headers.items() if name.lower() == "user-agent"), None
    )
    now = datetime.now(UTC)
    encoded: str | None = None
    if body:
        if base64_body:
            data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
            encoded = base64.b64encode(data).decode("ascii")
        else:
            encoded = body.decode("utf-8", "surrogatepass") if isinstance(body, bytes) else body
    event: dict[str, Any] = {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": resource,
            "httpMethod": method,
            "extendedRequestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "path": f"/{stage.name}{path}",
            "accountId": stage.account_id,
            "protocol": protocol,
            "stage": stage.name,
            "domainPrefix": host.split(":", maxsplit=1)[0],
            "domainName": host,
            "requestId": request_id,
            "apiId": stage.api_id,
            "identity": {
                "sourceIp": source_ip,
                "userAgent": user_agent,
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
                "apiKey": None,
                "apiKeyId": None,
            },
        },
        "body": encoded,
        "isBase64Encoded": encoded is not None and base64_body,
    }
    if authorizer is not None:
        event["requestContext"]["authorizer"] = dict(authorizer)
    return event


def authorizer_event(proxy: Mapping[str, Any], stage: Stage | None = None) -> dict[str, Any]:
    """The REQUEST authorizer's event for a request: its parts without the body, and the method ARN."""
    stage = stage or Stage()
    event = {
        name: copy.deepcopy(value) for name, value in proxy.items() if name not in ("body", "isBase64Encoded")
    }
    event["requestContext"].pop("authorizer", None)
    return {"type": "REQUEST", "methodArn": stage.method_arn(proxy["httpMethod"], proxy["path"]), **event}


def authorizer_context(authorization: Mapping[str, Any]) -> dict[str, Any]:
    """``requestContext.authorizer`` as API Gateway builds it from an authorizer's result: the
    principalId and the context, every value a string."""
    context = {
        name: _context_value(value)
        for name, value in (authorization.get("context") or {}).items()
        if value is not None
    }
    return {**context, "principalId": str(authorization["principalId"]), "integrationLatency": 0}


def _context_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
