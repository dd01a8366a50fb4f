"""Per-key rate limits and quotas of the local gateway (``forward-orders serve``): the tiers of
cdk.json, a token bucket per metering key, and over-limit requests answered exactly as the stage's
gateway responses (429 THROTTLED or QUOTA_EXCEEDED with Retry-After, 502 INVALID_API_KEY).

In-process, deterministic: the meter's clocks are the test's own, and requests are sequential. The
same through HTTP against ``serve`` processes is at the end (tight ``--client-rate``, no sleeps).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from werkzeug.test import Client, TestResponse

from common.api_keys import ApiKeyStore
from common.api_responses import REQUEST_ID_HEADER, RETRY_AFTER_HEADER
from common.usage_plans import UsagePlan, UsagePlans
from forward_orders_cli.metering import checkout_usage_plans
from forward_orders_cli.server import LocalApiGateway
from forward_orders_cli.throttling import UsageMeter
from tests.api_calls import API_KEYS_TABLE_NAME, REGION
from tests.factories import put_old_key, single_tier
from tests.processes import ServeProcess, serving

MIDNIGHT = datetime(2026, 3, 1, tzinfo=UTC).timestamp()


class Clocks:
    """The meter's monotonic and wall clocks, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.wall = MIDNIGHT + 12 * 3600.0

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.wall += seconds


@pytest.fixture(autouse=True)
def keep_boto3_session(keep_boto3_session: None) -> None:
    """(tests/local/conftest.py)"""


@pytest.fixture
def store(dynamodb: Any) -> ApiKeyStore:
    return ApiKeyStore(boto3.client("dynamodb", region_name=REGION), API_KEYS_TABLE_NAME)


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


class Answering:
    """A Lambda handler that counts what reaches it and answers 200."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.calls += 1
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}


def gateway(
    clocks: Clocks,
    plans: UsagePlans | None = None,
    client_rates: dict[str, UsagePlan] | None = None,
    api: Answering | None = None,
    console: Answering | None = None,
) -> Client:
    from authorizer.handler import lambda_handler as authorizer_handler

    meter = UsageMeter(
        plans or checkout_usage_plans(),
        client_rates,
        clock=lambda: clocks.now,
        wall_clock=lambda: clocks.wall,
    )
    return Client(
        LocalApiGateway(authorizer=authorizer_handler, api=api or Answering(), console=console, meter=meter)
    )


def get(client: Client, key: str, path: str = "/forward_orders/1") -> TestResponse:
    return client.get(path, headers={"Authorization": f"Bearer {key}"})


def assert_gateway_429(response: TestResponse, retry_after: int) -> None:
    """THROTTLED / QUOTA_EXCEEDED as the stack deploys them: 429, Retry-After, the JSON body with
    the request id, x-request-id."""
    assert response.status_code == 429
    assert response.headers[RETRY_AFTER_HEADER] == str(retry_after)
    request_id = response.headers[REQUEST_ID_HEADER]
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.data) == {"message": "Too Many Requests", "request_id": request_id}


# -- the tiers of cdk.json ----------------------------------------------------------------------


def test_a_client_over_its_tier_gets_429s_while_another_clients_requests_in_the_same_instant_succeed(
    store: ApiKeyStore, clocks: Clocks
) -> None:
    plans = checkout_usage_plans()
    standard = plans.plan(plans.default_plan)
    acme, _ = store.create("acme", plan=plans.default_plan)
    globex, _ = store.create("globex", plan=plans.default_plan)
    api = Answering()
    client = gateway(clocks, api=api)

    # The clock stands still: the burst is all there is.
    assert [get(client, acme).status_code for _ in range(standard.burst)] == [200] * standard.burst
    for _ in range(3):
        assert_gateway_429(get(client, acme), retry_after=1)
        assert get(client, globex).status_code == 200
    assert api.calls == standard.burst + 3  # the refused requests never reached the function
    assert [get(client, globex).status_code for _ in range(standard.burst - 3)] == [200] * (
        standard.burst - 3
    )
    assert get(client, globex).status_code == 429

    clocks.advance(1 / standard.rate)  # one token each
    assert get(client, acme).status_code == 200
    assert get(client, acme).status_code == 429
    assert get(client, globex).status_code == 200


def test_the_bulk_tier_allows_its_larger_burst(store: ApiKeyStore, clocks: Clocks) -> None:
    bulk = checkout_usage_plans().plan("bulk")
    key, _ = store.create("acme", plan="bulk")
    client = gateway(clocks)
    assert all(get(client, key).status_code == 200 for _ in range(bulk.burst))
    assert get(client, key).status_code == 429


def test_operations_keys_have_their_own_tier_and_bucket(store: ApiKeyStore, clocks: Clocks) -> None:
    plans = checkout_usage_plans()
    operations = plans.plan(plans.operations_plan)
    dock, _ = store.create_operations("dock", plan=plans.operations_plan)
    acme, _ = store.create("acme", plan=plans.default_plan)
    client = gateway(clocks)
    lookups = [get(client, dock, "/tracking/1Z").status_code for _ in range(operations.burst)]
    assert lookups == [200] * operations.burst
    assert_gateway_429(get(client, dock, "/tracking/1Z"), retry_after=1)
    assert get(client, acme, "/tracking/1Z").status_code == 200


def test_two_keys_of_one_client_are_metered_apart_as_api_gateway_meters_api_keys(
    store: ApiKeyStore, clocks: Clocks
) -> None:
    tight = single_tier(1, 1, name="one")
    first, _ = store.create("acme", plan="one")
    second, _ = store.create("acme", plan="one")
    client = gateway(clocks, tight)
    assert get(client, first).status_code == 200
    assert get(client, first).status_code == 429
    assert get(client, second).status_code == 200


def test_the_console_is_in_no_tier(store: ApiKeyStore, clocks: Clocks) -> None:
    """Its methods need no key, so no usage plan meters them (the stage's throttle does)."""
    tight = single_tier(1, 1, name="one")
    console = Answering()
    client = gateway(clocks, tight, console=console)
    assert all(client.get("/console").status_code == 200 for _ in range(50))
    assert console.calls == 50


# -- Retry-After: the honest wait ---------------------------------------------------------------


def test_retry_after_is_the_seconds_until_a_token_rounded_up(store: ApiKeyStore, clocks: Clocks) -> None:
    slow = single_tier(0.25, 1, name="slow")
    key, _ = store.create("acme", plan="slow")
    client = gateway(clocks, slow)
    assert get(client, key).status_code == 200
    assert_gateway_429(get(client, key), retry_after=4)
    clocks.advance(1.5)
    assert_gateway_429(get(client, key), retry_after=3)  # 2.5 s left
    clocks.advance(2.4)
    assert_gateway_429(get(client, key), retry_after=1)  # 0.1 s left: at least 1
    clocks.advance(0.1)
    assert get(client, key).status_code == 200


def test_a_refused_request_takes_no_token(store: ApiKeyStore, clocks: Clocks) -> None:
    one = single_tier(1, 1, name="one")
    key, _ = store.create("acme", plan="one")
    client = gateway(clocks, one)
    assert get(client, key).status_code == 200
    for _ in range(10):
        clocks.advance(0.05)
        assert get(client, key).status_code == 429
    clocks.advance(0.5)  # 1 s since the last admitted request, however many were refused
    assert get(client, key).status_code == 200


# -- --client-rate ------------------------------------------------------------------------------


def test_a_client_rate_replaces_that_clients_rate_and_burst_only(store: ApiKeyStore, clocks: Clocks) -> None:
    plans = checkout_usage_plans()
    acme, _ = store.create("acme", plan=plans.default_plan)
    globex, _ = store.create("globex", plan=plans.default_plan)
    client = gateway(clocks, client_rates={"acme": UsagePlan(rate=0.5, burst=2)})
    assert [get(client, acme).status_code for _ in range(2)] == [200, 200]
    assert_gateway_429(get(client, acme), retry_after=2)
    burst = plans.plan(plans.default_plan).burst
    assert all(get(client, globex).status_code == 200 for _ in range(burst))


def test_a_client_rate_keeps_the_tiers_daily_quota(store: ApiKeyStore, clocks: Clocks) -> None:
    quota = single_tier(1, 1, 2, name="q")
    key, _ = store.create("acme", plan="q")
    client = gateway(clocks, quota, client_rates={"acme": UsagePlan(rate=100, burst=100)})
    assert [get(client, key).status_code for _ in range(2)] == [200, 200]
    assert get(client, key).status_code == 429


# -- daily quota --------------------------------------------------------------------------------


def test_over_its_daily_quota_a_key_waits_for_the_utc_day_to_end(store: ApiKeyStore, clocks: Clocks) -> None:
    quota = single_tier(100, 100, 3, name="q")
    key, _ = store.create("acme", plan="q")
    other, _ = store.create("globex", plan="q")
    client = gateway(clocks, quota)
    clocks.wall = MIDNIGHT + 86_400 - 90.5  # 23:58:29.5 UTC
    assert [get(client, key).status_code for _ in range(3)] == [200] * 3
    assert_gateway_429(get(client, key), retry_after=91)
    assert get(client, other).status_code == 200
    clocks.advance(90)
    assert_gateway_429(get(client, key), retry_after=1)
    clocks.advance(0.5)  # 00:00:00 UTC: a new day
    assert [get(client, key).status_code for _ in range(3)] == [200] * 3
    assert get(client, key).status_code == 429


# -- keys in no tier: 502 as API Gateway answers a key in no usage plan -------------------------


def assert_gateway_502(response: TestResponse) -> None:
    assert response.status_code == 502
    assert response.headers[RETRY_AFTER_HEADER] == "1"
    request_id = response.headers[REQUEST_ID_HEADER]
    assert json.loads(response.data) == {"message": "Bad Gateway", "request_id": request_id}


def test_a_key_without_a_metering_key_is_a_502_not_a_401(dynamodb: Any, clocks: Clocks) -> None:
    """A valid key from before tiers: the client did nothing wrong, so it may retry; `keys
    set-plan` fixes it."""
    put_old_key(dynamodb, "old-key")
    api = Answering()
    assert_gateway_502(get(gateway(clocks, api=api), "old-key"))
    assert api.calls == 0


def test_a_key_on_a_tier_this_server_does_not_have_is_a_502(store: ApiKeyStore, clocks: Clocks) -> None:
    key, _ = store.create("acme", plan="platinum")
    assert_gateway_502(get(gateway(clocks), key))


def test_a_key_without_a_tier_is_metered_on_the_default_tier(store: ApiKeyStore, clocks: Clocks) -> None:
    plans = checkout_usage_plans()
    key, _ = store.create("acme")  # a metering key, no tier
    client = gateway(clocks)
    burst = plans.plan(plans.default_plan).burst
    assert [get(client, key).status_code for _ in range(burst + 1)] == [200] * burst + [429]


def test_an_unknown_key_is_still_the_authorizers_401_before_any_metering(
    clocks: Clocks, dynamodb: Any
) -> None:
    response = get(gateway(clocks), "fo_" + "x" * 43)
    assert (response.status_code, response.data) == (401, b"")


# -- through HTTP: forward-orders serve ---------------------------------------------------------

ACME_KEY, GLOBEX_KEY = "rate-test-acme-key", "rate-test-globex-key"


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    # acme: two requests, then one every 100 s: over its rate for the rest of the test, however slow
    # the machine. globex: cdk.json's default tier.
    with serving(
        tmp_path_factory.mktemp("rate-serve"),
        {"acme": ACME_KEY, "globex": GLOBEX_KEY},
        rate_limits=True,
        client_rates={"acme": "0.01/2"},
    ) as server:
        yield server


def test_through_the_server_a_client_over_its_rate_gets_429s_while_anothers_all_succeed(
    limited_server: ServeProcess,
) -> None:
    acme, globex = [], []
    for _ in range(6):
        acme.append(limited_server.call("GET", "/forward_orders/nope", key=ACME_KEY))
        globex.append(limited_server.call("GET", "/forward_orders/nope", key=GLOBEX_KEY))

    assert [reply.status for reply in acme] == [404, 404, 429, 429, 429, 429]
    assert [reply.status for reply in globex] == [404] * 6  # every one reached the function
    for reply in acme[2:]:
        assert 90 <= int(reply.headers["retry-after"]) <= 100
        assert reply.headers["content-type"] == "application/json"
        assert reply.json() == {"message": "Too Many Requests", "request_id": reply.headers["x-request-id"]}
    log = limited_server.output()
    assert log.count("-> 429") == 4
    assert "client=acme" in log


def test_the_banner_states_the_tiers_and_the_overrides(limited_server: ServeProcess) -> None:
    log = limited_server.output()
    plans = checkout_usage_plans()
    assert f"limits    per key, tier {plans.default_plan} unless set: {plans.describe()}" in log
    assert "client acme: 0.01/s burst 2 (--client-rate)" in log


def test_serve_without_rate_limits_meters_nothing(tmp_path: Path) -> None:
    with serving(tmp_path, {"acme": ACME_KEY}, client_rates={"acme": "0.01/1"}) as server:
        statuses = {server.call("GET", "/forward_orders/nope", key=ACME_KEY).status for _ in range(5)}
        assert statuses == {404}
        assert "limits    none (--no-rate-limits)" in server.output()
