"""``forward-orders keys ... --stack NAME`` against a deployed stack made in moto (tests/fake_stack.py):
each key gets an API Gateway API key in its tier's usage plan, whose value is the metering key the
authorizer hands API Gateway; set-plan moves it, revoke deletes it, and a failure on the way leaves
nothing half made."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from common.api_keys import ApiKeyStore, hash_api_key
from common.usage_plans import UsagePlan, UsagePlans
from tests.api_calls import API_KEYS_TABLE_NAME, REGION, lambda_context
from tests.factories import put_old_key
from tests.fake_stack import FakeStack, deploy_fake_stack

pytestmark = pytest.mark.usefixtures("own_state_file", "keep_boto3_session")

ACCOUNT_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123"
# Tiers unlike cdk.json's: the CLI must take a deployed stack's tiers from the stack, not the checkout.
STACK_TIERS = UsagePlans(
    usage_plans={
        "small": UsagePlan(rate=1, burst=1),
        "large": UsagePlan(rate=50, burst=100, daily_quota=1000),
        "dock": UsagePlan(rate=5, burst=5),
    },
    default_plan="small",
    operations_plan="dock",
)


@pytest.fixture
def stack(dynamodb: Any) -> FakeStack:
    return deploy_fake_stack(STACK_TIERS)


@pytest.fixture
def store(dynamodb: Any) -> ApiKeyStore:
    return ApiKeyStore(boto3.client("dynamodb", region_name=REGION), API_KEYS_TABLE_NAME)


def on_stack(*argv: str) -> list[str]:
    return [*argv, "--stack", "ForwardOrders", "--region", REGION]


def authorize(key: str, method_arn: str = f"{ACCOUNT_ARN}/v1/GET/forward_orders/1") -> dict[str, Any]:
    from authorizer.handler import lambda_handler

    event = {"type": "REQUEST", "methodArn": method_arn, "headers": {"Authorization": f"Bearer {key}"}}
    return lambda_handler(event, lambda_context())


def create(cli: Any, *argv: str) -> dict[str, Any]:
    run = cli("keys", "create", "--json", *on_stack(*argv))
    assert run.status == 0, run.err
    created: dict[str, Any] = json.loads(run.out)
    return created


# -- create ---------------------------------------------------------------------------------------


def test_a_key_is_metered_by_its_own_api_key_in_the_default_tiers_usage_plan(
    cli: Any, stack: FakeStack
) -> None:
    created = create(cli, "--client", "acme")

    assert created["plan"] == "small"  # the stack's defaultPlan, not cdk.json's
    api_keys = stack.api_keys()
    assert set(api_keys) == {created["metering_key_id"]}
    api_key = api_keys[created["metering_key_id"]]
    assert api_key["enabled"] is True
    assert api_key["name"] == f"ForwardOrders-{created['key_id']}"
    assert "client acme" in api_key["description"]
    assert stack.plan_members() == {"small": {api_key["id"]}, "large": set(), "dock": set()}
    # What API Gateway meters the key's requests under is exactly that API key's value, and the
    # client's own key is neither it nor anywhere in API Gateway.
    assert authorize(created["key"])["usageIdentifierKey"] == api_key["value"]
    assert created["key"] not in json.dumps(api_keys, default=str)
    assert hash_api_key(created["key"]) not in json.dumps(api_keys, default=str)
    assert "value" not in created and api_key["value"] not in json.dumps(created)


def test_a_tier_can_be_chosen_and_operations_keys_get_the_operations_tier(cli: Any, stack: FakeStack) -> None:
    large = create(cli, "--client", "globex", "--plan", "large")
    dock = create(cli, "--operations", "--name", "dock-7")

    members = stack.plan_members()
    assert members["large"] == {large["metering_key_id"]}
    assert members["dock"] == {dock["metering_key_id"]}
    assert dock["plan"] == "dock"
    assert authorize(dock["key"], f"{ACCOUNT_ARN}/v1/GET/tracking/1Z")["context"]["plan"] == "dock"


@pytest.mark.parametrize("plan", ["standard", "gold", "LARGE"])
def test_a_tier_the_stack_does_not_have_is_refused_and_nothing_is_made(
    cli: Any, stack: FakeStack, store: ApiKeyStore, plan: str
) -> None:
    run = cli("keys", "create", "--client", "acme", *on_stack("--plan", plan))
    assert run.status == 2
    assert f"no tier {plan!r}: the tiers are small, large, dock" in run.err
    assert stack.api_keys() == {}
    assert store.list() == []


def test_a_record_that_cannot_be_written_leaves_no_api_key_behind(cli: Any, dynamodb: Any) -> None:
    stack = deploy_fake_stack(STACK_TIERS, name="Broken", keys_table="no-such-table")
    run = cli("keys", "create", "--client", "acme", "--stack", "Broken", "--region", REGION)
    assert run.status == 1
    assert "does not exist" in run.err
    assert stack.api_keys() == {}
    assert stack.plan_members() == {"small": set(), "large": set(), "dock": set()}


def test_an_unknown_stack_is_a_clear_error(cli: Any, dynamodb: Any) -> None:
    run = cli("keys", "list", "--stack", "NoSuchStack", "--region", REGION)
    assert (run.status, run.out) == (1, "")
    assert run.err == (
        "forward-orders: error: stack NoSuchStack does not exist (check --stack and the region)\n"
    )


def test_stack_and_table_exclude_each_other(cli: Any, stack: FakeStack) -> None:
    run = cli("keys", "list", "--stack", "ForwardOrders", "--table", API_KEYS_TABLE_NAME)
    assert run.status == 2
    assert "not allowed with argument" in run.err


# -- set-plan -------------------------------------------------------------------------------------


def test_set_plan_moves_the_key_to_the_other_usage_plan_and_keeps_its_metering_key(
    cli: Any, stack: FakeStack
) -> None:
    created = create(cli, "--client", "acme")
    metering = authorize(created["key"])["usageIdentifierKey"]

    run = cli("keys", "set-plan", created["key_id"], *on_stack("--plan", "large"))

    assert run.status == 0, run.err
    assert run.out == f"Key {created['key_id']} of client acme is on tier large (was small).\n"
    members = stack.plan_members()
    assert (members["small"], members["large"]) == (set(), {created["metering_key_id"]})
    result = authorize(created["key"])
    assert (result["usageIdentifierKey"], result["context"]["plan"]) == (metering, "large")
    listed = json.loads(cli("keys", "list", "--json", *on_stack()).out)
    assert [(record["key_id"], record["plan"]) for record in listed] == [(created["key_id"], "large")]
    # Run again (after a failure half way, say): the same end state.
    again = cli("keys", "set-plan", created["key_id"], *on_stack("--plan", "large"))
    assert again.status == 0, again.err
    assert stack.plan_members()["large"] == {created["metering_key_id"]}
    assert len(stack.api_keys()) == 1


def test_set_plan_gives_a_key_from_before_tiers_its_api_key(
    cli: Any, stack: FakeStack, dynamodb: Any, store: ApiKeyStore
) -> None:
    put_old_key(dynamodb, "old-key")
    old = store.find_active("old-key")
    assert old is not None and "usageIdentifierKey" not in authorize("old-key")

    run = cli("keys", "set-plan", old.key_id, *on_stack())  # no --plan: the default tier

    assert run.status == 0, run.err
    assert run.out.endswith("is on tier small (was none).\n")
    [api_key] = stack.api_keys().values()
    assert stack.plan_members()["small"] == {api_key["id"]}
    assert authorize("old-key")["usageIdentifierKey"] == api_key["value"]


def test_set_plan_refuses_unknown_tiers_unknown_keys_and_revoked_keys(cli: Any, stack: FakeStack) -> None:
    created = create(cli, "--client", "acme")
    unknown_tier = cli("keys", "set-plan", created["key_id"], *on_stack("--plan", "gold"))
    assert (unknown_tier.status, "no tier 'gold'" in unknown_tier.err) == (2, True)
    unknown_key = cli("keys", "set-plan", "0123456789ab", *on_stack("--plan", "large"))
    assert (unknown_key.status, "no key with id 0123456789ab" in unknown_key.err) == (1, True)
    assert cli("keys", "revoke", created["key_id"], *on_stack()).status == 0
    revoked = cli("keys", "set-plan", created["key_id"], *on_stack("--plan", "large"))
    assert (revoked.status, "is revoked" in revoked.err) == (1, True)
    assert stack.plan_members() == {"small": set(), "large": set(), "dock": set()}


# -- revoke ---------------------------------------------------------------------------------------


def test_revoke_refuses_the_key_and_deletes_its_api_key_and_usage_plan_key(
    cli: Any, stack: FakeStack
) -> None:
    kept = create(cli, "--client", "acme")
    revoked = create(cli, "--client", "acme", "--plan", "large")

    run = cli("keys", "revoke", revoked["key_id"], *on_stack())

    assert run.status == 0, run.err
    assert set(stack.api_keys()) == {kept["metering_key_id"]}
    assert stack.plan_members() == {"small": {kept["metering_key_id"]}, "large": set(), "dock": set()}
    from authorizer.handler import Unauthorized

    with pytest.raises(Unauthorized):
        authorize(revoked["key"])
    assert authorize(kept["key"])["principalId"] == "acme"
    # Again: still revoked, nothing left to delete, no error.
    assert cli("keys", "revoke", revoked["key_id"], *on_stack()).status == 0


def test_revoking_through_a_bare_table_says_the_api_key_is_left(cli: Any, stack: FakeStack) -> None:
    created = create(cli, "--client", "acme")
    run = cli("keys", "revoke", created["key_id"], "--table", API_KEYS_TABLE_NAME)
    assert run.status == 0
    assert f"Its API Gateway API key {created['metering_key_id']} is left in place" in run.err
    assert set(stack.api_keys()) == {created["metering_key_id"]}
    # --stack finishes the job.
    assert cli("keys", "revoke", created["key_id"], *on_stack()).status == 0
    assert stack.api_keys() == {}
