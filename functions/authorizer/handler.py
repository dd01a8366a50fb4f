"""Lambda REQUEST authorizer: turns an API key into the client (tenant) the API function trusts.

The key comes from ``Authorization: Bearer <key>`` or, failing that, ``x-api-key: <key>``. A valid,
active key gets an Allow policy and its kind in the context; anything else raises "Unauthorized",
which API Gateway answers with 401.

- A client key is allowed the whole API (so a cached result serves every route), with its client
  id and its key id (the hash prefix ``keys list`` shows, never the key) in the context.
- An operations key is allowed only the routes that list operations keys (``common.api_routes``:
  ``GET /tracking/{tracking_number}``), with no client in the context. API Gateway itself refuses
  it anywhere else (ACCESS_DENIED, which the stack answers like a missing key: 401, empty body;
  docs/tracking.md says why 401 and not 403). A cached result is the same policy, so caching
  cannot widen it.

Per-client limits: every allowed key's result carries its metering key as ``usageIdentifierKey``
(the REST API takes its API key from the authorizer, and every authorized method requires one), so
API Gateway throttles and counts each key under its own usage plan; the context names the tier
(``plan``) for the access log and the local server. A cached result is that key's own, so a cache
still meters each key apart. A record without a metering key (written before tiers existed) is
allowed without one, and API Gateway answers 502 until ``keys set-plan`` gives it one.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from authorizer.settings import get_settings
from common.api_keys import CLIENT_KEY, OPERATIONS_KEY, ApiKeyRecord, ApiKeyStore
from common.api_responses import UNAUTHORIZED_MESSAGE
from common.api_routes import ROUTES
from common.dynamodb_client import dynamodb_client

logger = Logger()
# Validated as the module loads: a missing or malformed variable fails the cold start, not each request.
get_settings()


class Unauthorized(Exception):
    def __init__(self) -> None:
        super().__init__(UNAUTHORIZED_MESSAGE)


@cache
def key_store() -> ApiKeyStore:
    # Two attempts of at most 1.5 s each, plus botocore's backoff of at most 1 s, keep a slow lookup
    # inside the authorizer's 5 s timeout; a lookup that still fails is an authorizer failure, which
    # the gateway answers 502 with Retry-After so the client retries.
    client = dynamodb_client(max_attempts=2, connect_timeout=0.5, read_timeout=1.0)
    return ApiKeyStore(client, get_settings().api_keys_table_name)


CREDENTIAL_HEADERS = ("authorization", "x-api-key")


def presented_key(
    headers: dict[str, str] | None, multi_value_headers: dict[str, list[str]] | None = None
) -> str | None:
    """The API key in the request headers (names compared case-insensitively), or None.

    ``headers`` holds the last value of a repeated field; ``multi_value_headers`` all of them. A
    credential field repeated with different values is a refusal: which one a proxy in between
    would have read is anyone's guess, so none of them is trusted."""
    if _conflicting(multi_value_headers):
        return None
    lowered = {name.lower(): value for name, value in (headers or {}).items() if isinstance(value, str)}
    if "authorization" in lowered:
        # Present, it decides, even empty: a malformed Authorization is a refusal, never a reason
        # to look at x-api-key instead.
        scheme, _, credential = lowered["authorization"].strip().partition(" ")
        if scheme.lower() == "bearer" and credential.strip():
            return credential.strip()
        return None
    api_key = lowered.get("x-api-key", "").strip()
    return api_key or None


def _conflicting(multi_value_headers: dict[str, list[str]] | None) -> bool:
    values: dict[str, set[str]] = {name: set() for name in CREDENTIAL_HEADERS}
    for name, field_values in (multi_value_headers or {}).items():
        if name.lower() in values and isinstance(field_values, list):
            values[name.lower()].update(value.strip() for value in field_values if isinstance(value, str))
    return any(len(distinct) > 1 for distinct in values.values())


def api_wide_resource(method_arn: str) -> str:
    """arn:aws:execute-api:region:account:api-id/stage/METHOD/path -> .../api-id/stage/*"""
    return stage_resource(method_arn, "*")


def stage_resource(method_arn: str, tail: str) -> str:
    """arn:aws:execute-api:region:account:api-id/stage/METHOD/path -> .../api-id/stage/<tail>"""
    api_and_stage = method_arn.split("/", 2)[:2]
    return "/".join([*api_and_stage, tail])


def operations_resources(method_arn: str) -> list[str]:
    """The routes an operations key may call, as resources of an Allow statement."""
    return [
        stage_resource(method_arn, route.policy_path) for route in ROUTES if OPERATIONS_KEY in route.kinds
    ]


def allow(client_id: str, method_arn: str, key_id: str) -> dict[str, Any]:
    """A client key: the whole API, for its client."""
    context = {"kind": CLIENT_KEY, "client_id": client_id, "key_id": key_id}
    return _policy(client_id, [api_wide_resource(method_arn)], context)


def allow_operations(name: str, method_arn: str, key_id: str) -> dict[str, Any]:
    """An operations key: only the routes open to operations keys, and no client."""
    return _policy(
        f"{OPERATIONS_KEY}:{name}",
        operations_resources(method_arn),
        {"kind": OPERATIONS_KEY, "key_name": name, "key_id": key_id},
    )


def metered(result: dict[str, Any], record: ApiKeyRecord) -> dict[str, Any]:
    """The result with what API Gateway meters the key under: its metering key, and its tier."""
    if record.metering_key is not None:
        result["usageIdentifierKey"] = record.metering_key
    if record.plan is not None:
        result["context"]["plan"] = record.plan
    return result


def _policy(principal_id: str, resources: list[str], context: dict[str, str]) -> dict[str, Any]:
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": resources[0] if len(resources) == 1 else resources,
                }
            ],
        },
        "context": context,
    }


def policy_for(record: ApiKeyRecord, method_arn: str) -> dict[str, Any]:
    if record.kind == OPERATIONS_KEY:
        return metered(allow_operations(record.name or OPERATIONS_KEY, method_arn, record.key_id), record)
    # find_active only returns usable records: a client key always has its client.
    return metered(allow(record.client_id or "", method_arn, record.key_id), record)


# REQUEST authorizer events carry the API request's id, so denials can be found by request id.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    key = presented_key(event.get("headers"), event.get("multiValueHeaders"))
    record = key_store().find_active(key) if key else None
    if record is None:
        # Never log the presented key, not even a prefix of it.
        logger.info("request denied", extra={"credential_present": key is not None})
        raise Unauthorized()
    owner = {"client_id": record.client_id} if record.kind == CLIENT_KEY else {"key_name": record.name}
    # Debug only: the stage's access log line names the principal, the key id (the context's
    # key_id) and the tier of every request, so an allowed request needs no line of its own.
    logger.debug(
        "request allowed", extra={"kind": record.kind, **owner, "key_id": record.key_id, "plan": record.plan}
    )
    if record.metering_key is None:
        # API Gateway refuses it (502): say why, for whoever reads the 502s.
        logger.warning(
            "key has no metering key: run `forward-orders keys set-plan`", extra={"key_id": record.key_id}
        )
    return policy_for(record, event.get("methodArn", ""))
