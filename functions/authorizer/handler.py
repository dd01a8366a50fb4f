"""Lambda REQUEST authorizer: turns an API key into the client (tenant) the API function trusts.

The key comes from ``Authorization: Bearer <key>`` or, failing that, ``x-api-key: <key>``. A valid,
active key gets an Allow policy for the whole API (so a cached result serves every route) and the
client id in the context; anything else raises "Unauthorized", which API Gateway answers with 401.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from authorizer.settings import get_settings
from common.api_keys import ApiKeyStore
from common.aws import dynamodb_client

logger = Logger()

UNAUTHORIZED = "Unauthorized"  # the exact message API Gateway turns into a 401


class Unauthorized(Exception):
    def __init__(self) -> None:
        super().__init__(UNAUTHORIZED)


@cache
def key_store() -> ApiKeyStore:
    # Two attempts of at most 1.5 s each, plus botocore's backoff of at most 1 s, keep a slow lookup
    # inside the authorizer's 5 s timeout; a lookup that still fails is an authorizer failure, which
    # the gateway answers 502 with Retry-After so the client retries.
    client = dynamodb_client(max_attempts=2, connect_timeout=0.5, read_timeout=1.0)
    return ApiKeyStore(client, get_settings().api_keys_table_name)


def presented_key(headers: dict[str, str] | None) -> str | None:
    """The API key in the request headers (names compared case-insensitively), or None."""
    lowered = {name.lower(): value for name, value in (headers or {}).items() if isinstance(value, str)}
    authorization = lowered.get("authorization", "").strip()
    if authorization:
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() == "bearer" and credential.strip():
            return credential.strip()
        return None
    api_key = lowered.get("x-api-key", "").strip()
    return api_key or None


def api_wide_resource(method_arn: str) -> str:
    """arn:aws:execute-api:region:account:api-id/stage/METHOD/path -> .../api-id/stage/*"""
    api_and_stage = method_arn.split("/", 2)[:2]
    return "/".join([*api_and_stage, "*"])


def allow(client_id: str, method_arn: str) -> dict[str, Any]:
    return {
        "principalId": client_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": api_wide_resource(method_arn)}
            ],
        },
        "context": {"client_id": client_id},
    }


# REQUEST authorizer events carry the API request's id, so denials can be found by request id.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    key = presented_key(event.get("headers"))
    record = key_store().find_active(key) if key else None
    if record is None:
        # Never log the presented key, not even a prefix of it.
        logger.info("request denied", extra={"credential_present": key is not None})
        raise Unauthorized()
    logger.info("request allowed", extra={"client_id": record.client_id, "key_id": record.key_id})
    return allow(record.client_id, event.get("methodArn", ""))
