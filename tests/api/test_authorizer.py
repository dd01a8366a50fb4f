"""The REQUEST authorizer: which credentials are allowed, what an Allow policy grants, and that
everything else raises exactly "Unauthorized" (API Gateway's 401 with an empty body)."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from common.api_keys import KEY_ID_LENGTH, MAX_KEY_LENGTH, ApiKeyStore, MeteringKey, hash_api_key
from forward_orders_cli import lambda_events
from forward_orders_cli.lambda_events import proxy_event
from tests.api_calls import API_KEYS_TABLE_NAME, REGION, STAGE, lambda_context
from tests.factories import put_old_key

# The authorizer module is imported inside the tests, not at collection: Powertools reads its
# environment (service name) when the module is first imported, and the fixtures set it up.


def _authorizer() -> Any:
    from authorizer import handler

    return handler


def api_wide_resource(method_arn: str) -> str:
    return str(_authorizer().api_wide_resource(method_arn))


def presented_key(headers: dict[str, str] | None) -> str | None:
    key: str | None = _authorizer().presented_key(headers)
    return key


ACCOUNT_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123"
METHOD_ARN = f"{ACCOUNT_ARN}/v1/POST/forward_orders"
# What a client key's authorization hands the API function: its kind and its client.
ACME_CONTEXT = {"kind": "client", "client_id": "acme"}


@pytest.fixture
def store(dynamodb: Any) -> ApiKeyStore:
    return ApiKeyStore(boto3.client("dynamodb", region_name=REGION), API_KEYS_TABLE_NAME)


@pytest.fixture
def acme_key(store: ApiKeyStore) -> str:
    key, _ = store.create("acme")
    return key


def authorizer_event(headers: dict[str, str] | None, method_arn: str = METHOD_ARN) -> dict[str, Any]:
    """A REQUEST authorizer event as API Gateway (REST) sends it (the local server's builder), for a
    POST /forward_orders with these headers, authorizing ``method_arn``."""
    proxy = proxy_event(
        "POST",
        "/forward_orders",
        resource="/forward_orders",
        path_parameters=None,
        headers={name: [value] for name, value in headers.items()} if headers is not None else None,
        stage=STAGE,
        source_ip="203.0.113.10",
    )
    return {**lambda_events.authorizer_event(proxy, STAGE), "methodArn": method_arn}


def authorize(headers: dict[str, str] | None, method_arn: str = METHOD_ARN) -> dict[str, Any]:
    """The authorizer's answer; its context's ``key_id`` (checked here to be the presented key's
    id, which the access log records) is left out so the tests compare the rest."""
    result: dict[str, Any] = _authorizer().lambda_handler(
        authorizer_event(headers, method_arn), lambda_context()
    )
    key = presented_key(headers)
    assert key is not None
    assert result["context"].pop("key_id") == hash_api_key(key)[:KEY_ID_LENGTH]
    return result


def assert_denied(headers: dict[str, str] | None) -> None:
    with pytest.raises(_authorizer().Unauthorized) as denied:
        authorize(headers)
    assert str(denied.value) == "Unauthorized"
    assert denied.value.args == ("Unauthorized",)


# -- allow -------------------------------------------------------------------------------------------


def test_a_bearer_key_is_allowed_for_the_whole_api_with_the_client_in_the_context(
    acme_key: str, store: ApiKeyStore
) -> None:
    result = authorize({"Authorization": f"Bearer {acme_key}"})
    record = store.find_active(acme_key)
    assert record is not None and record.metering_key is not None
    assert result == {
        "principalId": "acme",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": f"{ACCOUNT_ARN}/v1/*"},
            ],
        },
        "context": ACME_CONTEXT,
        "usageIdentifierKey": record.metering_key,
    }


def test_an_x_api_key_header_is_allowed(acme_key: str) -> None:
    assert authorize({"x-api-key": acme_key})["context"] == ACME_CONTEXT


@pytest.mark.parametrize(
    "headers",
    [
        lambda k: {"authorization": f"Bearer {k}"},
        lambda k: {"AUTHORIZATION": f"Bearer {k}"},
        lambda k: {"AuThOrIzAtIoN": f"Bearer {k}"},
        lambda k: {"X-API-KEY": k},
        lambda k: {"X-Api-Key": k},
        lambda k: {"Authorization": f"bearer {k}"},
        lambda k: {"Authorization": f"BEARER {k}"},
        lambda k: {"Authorization": f"  Bearer   {k}  "},
        lambda k: {"x-api-key": f"  {k}  "},
        lambda k: {"Authorization": f"Bearer {k}", "x-api-key": "not-a-key"},
        lambda k: {"Content-Type": "application/json", "User-Agent": "curl", "X-Api-Key": k},
    ],
    ids=[
        "lower authorization",
        "upper authorization",
        "mixed authorization",
        "upper x-api-key",
        "title x-api-key",
        "lower scheme",
        "upper scheme",
        "extra spaces",
        "padded x-api-key",
        "bearer wins over x-api-key",
        "among other headers",
    ],
)
def test_header_names_and_the_scheme_are_case_insensitive(acme_key: str, headers: Any) -> None:
    assert authorize(headers(acme_key))["context"] == ACME_CONTEXT


def test_each_key_names_its_own_client(store: ApiKeyStore) -> None:
    acme, _ = store.create("acme")
    globex, _ = store.create("globex")
    assert authorize({"x-api-key": acme})["context"]["client_id"] == "acme"
    assert authorize({"x-api-key": globex})["context"]["client_id"] == "globex"
    assert authorize({"x-api-key": globex})["principalId"] == "globex"


def test_a_key_of_the_maximum_length_is_allowed(store: ApiKeyStore) -> None:
    key = "k" * MAX_KEY_LENGTH
    store.create("acme", key)
    assert authorize({"Authorization": f"Bearer {key}"})["context"] == ACME_CONTEXT


@pytest.mark.parametrize(
    "method_arn",
    [
        f"{ACCOUNT_ARN}/v1/POST/forward_orders",
        f"{ACCOUNT_ARN}/v1/GET/forward_orders/abc",
        f"{ACCOUNT_ARN}/v1/GET/forward_orders/a/b/c",
        f"{ACCOUNT_ARN}/v1/DELETE/",
    ],
)
def test_the_allow_policy_covers_every_route_of_the_stage(acme_key: str, method_arn: str) -> None:
    # API Gateway caches the policy per key: one granted for POST must also serve GET.
    resource = authorize({"x-api-key": acme_key}, method_arn)["policyDocument"]["Statement"][0]["Resource"]
    assert resource == f"{ACCOUNT_ARN}/v1/*"
    for other in ("POST/forward_orders", "GET/forward_orders/x", "GET/forward_orders/a%2Fb", "PUT/anything"):
        assert fnmatch.fnmatchcase(f"{ACCOUNT_ARN}/v1/{other}", resource)
    assert not fnmatch.fnmatchcase(f"{ACCOUNT_ARN}/prod/POST/forward_orders", resource)
    assert not fnmatch.fnmatchcase("arn:aws:execute-api:us-east-1:123456789012:other/v1/POST/x", resource)


@pytest.mark.parametrize(
    ("method_arn", "resource"),
    [
        (f"{ACCOUNT_ARN}/v1/POST/forward_orders", f"{ACCOUNT_ARN}/v1/*"),
        (f"{ACCOUNT_ARN}/prod/GET/forward_orders/x/y", f"{ACCOUNT_ARN}/prod/*"),
        (f"{ACCOUNT_ARN}/$default/GET/", f"{ACCOUNT_ARN}/$default/*"),
    ],
)
def test_api_wide_resource(method_arn: str, resource: str) -> None:
    assert api_wide_resource(method_arn) == resource


# -- deny --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {},
        {"Content-Type": "application/json"},
        {"Authorization": ""},
        {"Authorization": "   "},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer    "},
        {"x-api-key": ""},
        {"x-api-key": "   "},
        {"Authorization": "Bearer fo_unknown"},
        {"x-api-key": "fo_unknown"},
    ],
    ids=repr,
)
def test_a_missing_or_empty_credential_is_unauthorized(acme_key: str, headers: dict[str, str] | None) -> None:
    assert_denied(headers)


@pytest.mark.parametrize(
    "make_headers",
    [
        lambda k: {"Authorization": k},
        lambda k: {"Authorization": f"Basic {k}"},
        lambda k: {"Authorization": f"Token {k}"},
        lambda k: {"Authorization": f"Bearer: {k}"},
        lambda k: {"Authorization": f"Bearer{k}"},
        lambda k: {"Authorization": f"Bearer {k}x"},
        lambda k: {"Authorization": f"Bearer {k[:-1]}"},
        lambda k: {"Authorization": f"Bearer {k.upper()}"},
        lambda k: {"Authorization": f"Bearer {k} {k}"},
        lambda k: {"x-api-key": f"Bearer {k}"},
        lambda k: {"api-key": k},
        lambda k: {"x-api-token": k},
        # A malformed Authorization header is not ignored in favour of x-api-key.
        lambda k: {"Authorization": f"Basic {k}", "x-api-key": k},
    ],
    ids=[
        "no scheme",
        "basic",
        "token",
        "bearer colon",
        "no space",
        "extra character",
        "missing character",
        "wrong case",
        "two keys",
        "scheme in x-api-key",
        "other header",
        "other header 2",
        "bad authorization and good x-api-key",
    ],
)
def test_a_malformed_credential_is_unauthorized(acme_key: str, make_headers: Any) -> None:
    assert_denied(make_headers(acme_key))


def test_an_unknown_key_is_unauthorized(store: ApiKeyStore) -> None:
    store.create("acme")
    assert_denied({"Authorization": "Bearer fo_" + "A" * 43})


def test_a_revoked_key_is_unauthorized(store: ApiKeyStore) -> None:
    key, record = store.create("acme")
    other, _ = store.create("acme")
    assert authorize({"x-api-key": key})["principalId"] == "acme"
    assert store.revoke(record.key_id) is not None
    assert_denied({"x-api-key": key})
    assert_denied({"Authorization": f"Bearer {key}"})
    assert authorize({"x-api-key": other})["principalId"] == "acme"


def test_an_oversize_key_is_unauthorized_even_if_its_hash_were_stored(
    store: ApiKeyStore, dynamodb: Any
) -> None:
    key = "k" * (MAX_KEY_LENGTH + 1)
    dynamodb.put_item(
        TableName=API_KEYS_TABLE_NAME,
        Item={"key_hash": {"S": hash_api_key(key)}, "client_id": {"S": "acme"}, "created_at": {"S": "2025"}},
    )
    assert_denied({"Authorization": f"Bearer {key}"})
    assert_denied({"x-api-key": key})
    assert_denied({"x-api-key": "k" * 100_000})


def test_the_hash_itself_is_not_a_key(store: ApiKeyStore) -> None:
    key, _ = store.create("acme")
    assert_denied({"x-api-key": hash_api_key(key)})


def test_non_string_header_values_are_ignored(acme_key: str) -> None:
    assert_denied({"Authorization": None, "x-api-key": None})  # type: ignore[dict-item]


# -- presented_key -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ({"Authorization": "Bearer abc"}, "abc"),
        ({"authorization": "bearer  abc "}, "abc"),
        ({"X-API-Key": " abc "}, "abc"),
        ({"Authorization": "Basic abc", "x-api-key": "def"}, None),
        # Present, Authorization decides, even empty or blank (a malformed credential: issue 9).
        ({"Authorization": "", "x-api-key": "def"}, None),
        ({"Authorization": "   ", "x-api-key": "def"}, None),
        ({"x-api-key": "def", "AUTHORIZATION": "Bearer abc"}, "abc"),
        ({"x-api-key": "  "}, None),
        ({"Authorization": "Bearer"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_presented_key(headers: dict[str, str] | None, key: str | None) -> None:
    assert presented_key(headers) == key


@pytest.mark.parametrize(
    ("multi_value_headers", "key"),
    [
        ({"Authorization": ["Bearer abc", "Bearer abc"]}, "abc"),  # the same value twice
        ({"Authorization": ["Bearer abc"], "authorization": [" Bearer abc"]}, "abc"),
        ({"Authorization": ["Bearer abc", "Bearer def"]}, None),
        ({"Authorization": ["Bearer abc"], "AUTHORIZATION": ["Bearer def"]}, None),
        ({"x-api-key": ["abc", "def"]}, None),
        ({"x-api-key": ["abc"], "X-Api-Key": ["def"]}, None),
        ({"Authorization": ["Bearer abc", ""]}, None),  # an empty repeat is another value
        ({"Accept": ["a", "b"], "x-api-key": ["abc"]}, "abc"),  # other fields may repeat
    ],
)
def test_a_credential_repeated_with_different_values_is_refused(
    multi_value_headers: dict[str, list[str]], key: str | None
) -> None:
    """API Gateway's ``headers`` map keeps the last value of a repeated field; a proxy in front may
    have used the first. Two different credentials in one request are trusted neither way."""
    last = {name: values[-1] for name, values in multi_value_headers.items()}
    assert _authorizer().presented_key(last, multi_value_headers) == key


def test_the_handler_refuses_a_valid_key_repeated_with_another_value(acme_key: str) -> None:
    event = authorizer_event({"x-api-key": acme_key})
    assert _authorizer().lambda_handler(event, lambda_context())["principalId"] == "acme"
    event["multiValueHeaders"] = {"x-api-key": ["not-a-key", acme_key]}
    with pytest.raises(_authorizer().Unauthorized):
        _authorizer().lambda_handler(event, lambda_context())


# -- logs ----------------------------------------------------------------------------------------------


@pytest.fixture
def debug_logs() -> Iterator[None]:
    """The authorizer's debug lines too (an allowed request logs only at debug level)."""
    logger = _authorizer().logger
    level = logger.log_level
    logger.setLevel("DEBUG")
    yield
    logger.setLevel(level)


def test_no_presented_key_is_ever_logged(store: ApiKeyStore, logged: Any, debug_logs: None) -> None:
    key, record = store.create("acme")
    authorize({"x-api-key": key})
    unknown = "fo_" + "Z" * 43
    with pytest.raises(_authorizer().Unauthorized):
        authorize({"Authorization": f"Bearer {unknown}"})
    store.revoke(record.key_id)
    with pytest.raises(_authorizer().Unauthorized):
        authorize({"x-api-key": key})
    text = logged()
    assert "request allowed" in text
    assert "request denied" in text
    for secret in (key, key[3:15], unknown, unknown[3:15], hash_api_key(key)):
        assert secret not in text


# -- kinds of key: client and operations ---------------------------------------------------------------


@pytest.fixture
def operations_key(store: ApiKeyStore) -> str:
    key, _ = store.create_operations("warehouse")
    return key


def test_an_operations_key_is_allowed_only_the_tracking_lookup_with_no_client_in_the_context(
    operations_key: str, store: ApiKeyStore
) -> None:
    result = authorize({"Authorization": f"Bearer {operations_key}"}, f"{ACCOUNT_ARN}/v1/GET/tracking/1Z999")
    record = store.find_active(operations_key)
    assert record is not None
    assert result == {
        "principalId": "operations:warehouse",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": f"{ACCOUNT_ARN}/v1/GET/tracking/*",
                },
            ],
        },
        "context": {"kind": "operations", "key_name": "warehouse"},
        "usageIdentifierKey": record.metering_key,
    }


@pytest.mark.parametrize(
    "method_arn",
    [
        f"{ACCOUNT_ARN}/v1/GET/tracking/1Z999",
        f"{ACCOUNT_ARN}/v1/POST/forward_orders",
        f"{ACCOUNT_ARN}/v1/GET/forward_orders/abc",
    ],
)
def test_an_operations_keys_policy_is_the_same_whatever_route_asked(
    operations_key: str, method_arn: str
) -> None:
    """API Gateway caches the policy per key and checks each later request against it: the policy
    an operations key gets must allow the lookup and nothing else, whichever request got it."""
    [statement] = authorize({"x-api-key": operations_key}, method_arn)["policyDocument"]["Statement"]
    resource = statement["Resource"]
    assert statement["Effect"] == "Allow"
    for allowed in ("GET/tracking/1Z999", "GET/tracking/a%2Fb", "GET/tracking/%20x%20"):
        assert fnmatch.fnmatchcase(f"{ACCOUNT_ARN}/v1/{allowed}", resource), allowed
    for refused in (
        "POST/forward_orders",
        "GET/forward_orders/x",
        "GET/tracking",
        "POST/tracking/1Z999",
        "DELETE/tracking/1Z999",
        "GET/",
        "GET/nope",
    ):
        assert not fnmatch.fnmatchcase(f"{ACCOUNT_ARN}/v1/{refused}", resource), refused
    assert not fnmatch.fnmatchcase(f"{ACCOUNT_ARN}/prod/GET/tracking/1Z999", resource)


def test_a_client_key_names_its_kind_and_client(acme_key: str) -> None:
    result = authorize({"x-api-key": acme_key}, f"{ACCOUNT_ARN}/v1/GET/tracking/1Z999")
    assert (result["principalId"], result["context"]) == ("acme", {"kind": "client", "client_id": "acme"})
    assert result["policyDocument"]["Statement"][0]["Resource"] == f"{ACCOUNT_ARN}/v1/*"


def test_a_key_stored_before_kinds_existed_is_a_client_key(dynamodb: Any, store: ApiKeyStore) -> None:
    put_old_key(dynamodb, "old-key")
    assert authorize({"x-api-key": "old-key"})["context"] == ACME_CONTEXT


@pytest.mark.parametrize(
    "attributes",
    [
        {"kind": {"S": "admin"}, "client_id": {"S": "acme"}},
        {"kind": {"S": "client"}},
        {"kind": {"S": "client"}, "client_id": {"S": ""}},
        {"kind": {"S": "Operations"}, "name": {"S": "x"}},
    ],
    ids=["unknown kind", "client key without a client", "empty client", "kind in another case"],
)
def test_a_key_of_an_unknown_kind_or_without_its_client_is_refused(
    dynamodb: Any, store: ApiKeyStore, attributes: dict[str, Any]
) -> None:
    dynamodb.put_item(
        TableName=API_KEYS_TABLE_NAME,
        Item={
            "key_hash": {"S": hash_api_key("odd-key")},
            "created_at": {"S": "2025-01-01T00:00:00.000Z"},
            **attributes,
        },
    )
    assert_denied({"x-api-key": "odd-key"})


def test_a_revoked_operations_key_is_refused(store: ApiKeyStore) -> None:
    key, record = store.create_operations()
    assert (
        authorize({"x-api-key": key}, f"{ACCOUNT_ARN}/v1/GET/tracking/x")["principalId"]
        == "operations:operations"
    )
    store.revoke(record.key_id)
    assert_denied({"x-api-key": key})


def test_an_allowed_request_writes_no_line_at_info_level(store: ApiKeyStore, logged: Any) -> None:
    key, _ = store.create("acme")
    authorize({"x-api-key": key})
    assert "request allowed" not in logged()  # the access log's line has its principal and key id


def test_the_allow_line_says_which_kind_of_key_it_was(
    store: ApiKeyStore, logged: Any, debug_logs: None
) -> None:
    key, record = store.create_operations("dock-7")
    authorize({"x-api-key": key}, f"{ACCOUNT_ARN}/v1/GET/tracking/x")
    lines = [json.loads(line) for line in logged().splitlines() if line.startswith("{")]
    [allowed] = [line for line in lines if line.get("message") == "request allowed"]
    assert (allowed["kind"], allowed["key_id"], allowed["key_name"]) == (
        "operations",
        record.key_id,
        "dock-7",
    )
    assert "client_id" not in allowed


# -- metering: the usageIdentifierKey ------------------------------------------------------------------


def test_each_kind_of_key_is_metered_under_its_own_records_metering_key(store: ApiKeyStore) -> None:
    """API Gateway meters (throttles, counts) each request under the usageIdentifierKey: every key,
    client or operations, must bring the one its record holds, and no other key's."""
    acme, acme_record = store.create("acme", plan="standard", metering=MeteringKey("a" * 40, "apikey1"))
    globex, _ = store.create("globex", plan="bulk", metering=MeteringKey("b" * 40, "apikey2"))
    dock, _ = store.create_operations("dock-7", plan="operations", metering=MeteringKey("c" * 40, "apikey3"))
    second_acme, _ = store.create("acme", plan="standard")
    tracking = f"{ACCOUNT_ARN}/v1/GET/tracking/1Z"

    results = {
        name: authorize({"x-api-key": key}, tracking)
        for name, key in (("acme", acme), ("globex", globex), ("dock", dock), ("second acme", second_acme))
    }

    assert results["acme"]["usageIdentifierKey"] == "a" * 40
    assert results["acme"]["context"] == {**ACME_CONTEXT, "plan": "standard"}
    assert results["globex"]["usageIdentifierKey"] == "b" * 40
    assert results["globex"]["context"]["plan"] == "bulk"
    assert results["dock"]["usageIdentifierKey"] == "c" * 40
    assert results["dock"]["context"] == {"kind": "operations", "key_name": "dock-7", "plan": "operations"}
    # A client's second key is metered apart from its first (a key of its own, made by the store).
    second = results["second acme"]["usageIdentifierKey"]
    assert second not in ("a" * 40, "b" * 40, "c" * 40)
    assert len(second) >= 20  # API Gateway's minimum for an API key value
    assert acme_record.metering_key == "a" * 40


def test_the_same_key_always_brings_the_same_metering_key_whatever_route(store: ApiKeyStore) -> None:
    # With a cache (authorizerCacheTtlSeconds > 0) one result serves every route for that key.
    key, record = store.create("acme", plan="standard")
    for method_arn in (
        METHOD_ARN,
        f"{ACCOUNT_ARN}/v1/GET/forward_orders/1",
        f"{ACCOUNT_ARN}/v1/GET/tracking/x",
    ):
        assert (
            authorize({"Authorization": f"Bearer {key}"}, method_arn)["usageIdentifierKey"]
            == record.metering_key
        )


def test_a_key_without_a_metering_key_is_allowed_without_one_and_says_why(
    dynamodb: Any, store: ApiKeyStore, logged: Any
) -> None:
    """A record written before tiers: still a valid key, so not a 401; API Gateway answers 502 for
    a method that requires an API key, and the authorizer's log says what to run."""
    put_old_key(dynamodb, "old-key")
    result = authorize({"x-api-key": "old-key"})
    assert "usageIdentifierKey" not in result
    assert result["context"] == ACME_CONTEXT
    assert "keys set-plan" in logged()


def test_the_metering_key_is_never_logged(store: ApiKeyStore, logged: Any, debug_logs: None) -> None:
    key, record = store.create("acme", plan="bulk")
    authorize({"x-api-key": key})
    text = logged()
    assert record.metering_key is not None and record.metering_key not in text
    assert '"plan":"bulk"' in text.replace(" ", "")
