"""Per-client limits in the template (infra/metering.py, infra/api.py): a usage plan per tier of
cdk.json on the stage, the API key taken from the authorizer and required by every authorized
method (the console's public methods excepted), the gateway responses of a throttled, over-quota or
unmetered key, the outputs ``forward-orders keys --stack`` reads, and a key administration policy
that allows exactly the calls the keys CLI makes (run here against moto, every call recorded)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.client
import pytest
from aws_cdk.assertions import Match, Template
from infra.api import access_log_format
from infra.metering import USAGE_PLANS_OUTPUT

from common.api_keys import hash_api_key
from common.api_routes import ROUTES
from common.tables import API_KEYS_TABLE
from common.usage_plans import load_usage_plans
from forward_orders_cli.main import main
from forward_orders_cli.metering import DeployedStack
from forward_orders_cli.server import _wildcard_match
from tests.api_calls import API_KEYS_TABLE_NAME, REGION
from tests.factories import put_old_key
from tests.fake_stack import STACK_NAME, deploy_fake_stack
from tests.infrastructure.synthesis import CDK_JSON, Synthesis, ref, resource_paths

ACCOUNT = "123456789012"  # moto's


def _plans(synthesized: Synthesis) -> dict[str, tuple[str, dict[str, Any]]]:
    """tier -> (logical id, properties) of its usage plan, by the plan's name."""
    prefix = f"{synthesized.stack.stack_name}-"
    return {
        plan["Properties"]["UsagePlanName"].removeprefix(prefix): (logical_id, plan["Properties"])
        for logical_id, plan in synthesized.of_type("AWS::ApiGateway::UsagePlan").items()
    }


# -- usage plans and API keys ------------------------------------------------------------------


def test_each_tier_of_cdk_json_is_a_usage_plan_on_the_stage(synthesized: Synthesis) -> None:
    tiers = load_usage_plans(CDK_JSON)
    rest_api_id, _ = synthesized.one("AWS::ApiGateway::RestApi")
    stage_id, _ = synthesized.one("AWS::ApiGateway::Stage")
    plans = _plans(synthesized)
    assert set(plans) == set(tiers.usage_plans)
    for name, tier in tiers.usage_plans.items():
        _, properties = plans[name]
        assert properties["Throttle"] == {"RateLimit": tier.rate, "BurstLimit": tier.burst}
        if tier.daily_quota is None:
            assert "Quota" not in properties
        else:
            assert properties["Quota"] == {"Limit": tier.daily_quota, "Period": "DAY"}
        [api_stage] = properties["ApiStages"]
        assert (api_stage["ApiId"], api_stage["Stage"]) == (ref(rest_api_id), ref(stage_id))
    # The stack makes no API key itself: the keys CLI makes one per client key.
    assert synthesized.of_type("AWS::ApiGateway::ApiKey") == {}
    assert synthesized.of_type("AWS::ApiGateway::UsagePlanKey") == {}


def test_every_tier_is_inside_the_stages_throttle(synthesized: Synthesis) -> None:
    _, stage = synthesized.one("AWS::ApiGateway::Stage")
    [settings] = stage["Properties"]["MethodSettings"]
    for _, properties in _plans(synthesized).values():
        assert properties["Throttle"]["RateLimit"] <= settings["ThrottlingRateLimit"]
        assert properties["Throttle"]["BurstLimit"] <= settings["ThrottlingBurstLimit"]


def test_the_api_takes_its_api_key_from_the_authorizer(synthesized: Synthesis) -> None:
    _, api = synthesized.one("AWS::ApiGateway::RestApi")
    assert api["Properties"]["ApiKeySourceType"] == "AUTHORIZER"


def test_every_authorized_method_requires_the_metering_key_and_the_public_ones_none(
    synthesized: Synthesis,
) -> None:
    """Without ApiKeyRequired no usage plan meters a method; on a method without an authorizer it
    would refuse every request (nothing returns a key there)."""
    public = {(route.resource, route.method) for route in ROUTES if route.public}
    paths = resource_paths(synthesized)
    seen_public = set()
    for method in synthesized.of_type("AWS::ApiGateway::Method").values():
        properties = method["Properties"]
        where = (paths[json.dumps(properties["ResourceId"], sort_keys=True)], properties["HttpMethod"])
        if where in public:
            seen_public.add(where)
            assert properties["AuthorizationType"] == "NONE"
            assert not properties.get("ApiKeyRequired", False), where
        else:
            assert properties["AuthorizationType"] == "CUSTOM"
            assert properties["ApiKeyRequired"] is True, where
    assert seen_public == public


def test_a_cached_authorizer_result_is_one_keys_own(synthesized_custom: Synthesis) -> None:
    """With a cache, API Gateway reuses the authorizer's output, usageIdentifierKey included, for
    requests with the same identity source: only the Authorization header, which holds one client
    key, so each key is still metered under its own metering key."""
    _, authorizer = synthesized_custom.one("AWS::ApiGateway::Authorizer")
    assert authorizer["Properties"]["AuthorizerResultTtlInSeconds"] > 0
    assert authorizer["Properties"]["IdentitySource"] == "method.request.header.Authorization"
    _, api = synthesized_custom.one("AWS::ApiGateway::RestApi")
    assert api["Properties"]["ApiKeySourceType"] == "AUTHORIZER"


def test_the_access_log_names_the_tier_and_the_api_key_id_never_its_value() -> None:
    fields = json.loads(access_log_format())
    assert fields["plan"] == "$context.authorizer.plan"
    assert fields["apiKeyId"] == "$context.identity.apiKeyId"
    assert "$context.identity.apiKey" not in fields.values()  # the metering key's value


# -- what a limited client sees ----------------------------------------------------------------


def _responses(synthesized: Synthesis) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in synthesized.of_type("AWS::ApiGateway::GatewayResponse").values()
    }


def test_throttled_over_quota_and_unmetered_keys_get_their_statuses_and_retry_after(
    synthesized: Synthesis,
) -> None:
    responses = _responses(synthesized)
    for response_type, status, retry_after in (
        ("THROTTLED", "429", "'1'"),
        ("QUOTA_EXCEEDED", "429", "'3600'"),
        ("INVALID_API_KEY", "502", "'1'"),
    ):
        response = responses[response_type]
        assert response["StatusCode"] == status, response_type
        assert response["ResponseParameters"]["gatewayresponse.header.Retry-After"] == retry_after
        assert response["ResponseParameters"]["gatewayresponse.header.x-request-id"] == "context.requestId"
        body = response["ResponseTemplates"]["application/json"]
        assert '"request_id": "$context.requestId"' in body


def test_a_slow_tier_makes_the_throttled_retry_after_long_enough_for_a_token(
    synthesized_custom: Synthesis,
) -> None:
    # synthesized_custom has a tier of 0.2 requests/s: a token every 5 s.
    retry_after = _responses(synthesized_custom)["THROTTLED"]["ResponseParameters"]
    assert retry_after["gatewayresponse.header.Retry-After"] == "'5'"


# -- what forward-orders keys --stack reads ------------------------------------------------------


def resolve(value: Any, refs: dict[str, str]) -> Any:
    """A template value with its Ref, Fn::GetAtt and Fn::Join worked out from ``refs``."""
    if isinstance(value, list):
        return [resolve(member, refs) for member in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        return refs[value["Ref"]]
    if "Fn::GetAtt" in value:
        return refs[".".join(value["Fn::GetAtt"])]
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(part, refs)) for part in parts)
    return {name: resolve(member, refs) for name, member in value.items()}


def test_the_usage_plans_output_is_what_the_keys_cli_reads(synthesized: Synthesis) -> None:
    plans = _plans(synthesized)
    rest_api_id, _ = synthesized.one("AWS::ApiGateway::RestApi")
    stage_id, _ = synthesized.one("AWS::ApiGateway::Stage")
    keys_table_id, _ = synthesized.table(API_KEYS_TABLE)
    refs = {rest_api_id: "api123", stage_id: "v1", keys_table_id: "keys-table"}
    refs.update({logical_id: f"plan-{tier}" for tier, (logical_id, _) in plans.items()})
    outputs = {
        name: resolve(synthesized.template["Outputs"][name]["Value"], refs)
        for name in (USAGE_PLANS_OUTPUT, "KeysTableName")
    }

    stack = DeployedStack.from_outputs("ForwardOrders", outputs)

    tiers = load_usage_plans(CDK_JSON)
    assert stack.keys_table == "keys-table"
    assert (stack.rest_api_id, stack.stage) == ("api123", "v1")
    assert stack.usage_plans == {tier: f"plan-{tier}" for tier in tiers.usage_plans}
    assert (stack.default_plan, stack.operations_plan) == (tiers.default_plan, tiers.operations_plan)
    Template.from_json(synthesized.template).has_output(USAGE_PLANS_OUTPUT, Match.any_value())


# -- the key administration policy: exactly the keys CLI's calls ---------------------------------


def _policy(synthesized: Synthesis) -> tuple[str, list[dict[str, Any]]]:
    [(logical_id, policy)] = synthesized.of_type("AWS::IAM::ManagedPolicy").items()
    return logical_id, policy["Properties"]["PolicyDocument"]["Statement"]


def test_the_key_administration_policy_is_offered_not_attached(synthesized: Synthesis) -> None:
    logical_id, _ = _policy(synthesized)
    for role in synthesized.of_type("AWS::IAM::Role").values():
        assert ref(logical_id) not in role["Properties"].get("ManagedPolicyArns", [])
    Template.from_json(synthesized.template).has_output(
        "KeyAdministrationPolicyArn", {"Value": ref(logical_id)}
    )


@pytest.fixture
def recorded_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, str, dict[str, Any]]]]:
    """Every AWS call made through any boto3 client from now on: (client, operation, parameters)."""
    calls: list[tuple[Any, str, dict[str, Any]]] = []
    # The one method every client's operations go through (clients of any session, made later).
    original = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009

    def recording(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        calls.append((self, operation_name, dict(api_params)))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    yield calls


def iam_request(client: Any, operation: str, params: dict[str, Any], stack_arn: str) -> tuple[str, str]:
    """The IAM action and resource ARN a call is authorized against."""
    service = client.meta.service_model.service_name
    if service == "dynamodb":
        return f"dynamodb:{operation}", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{params['TableName']}"
    if service == "cloudformation":
        return f"cloudformation:{operation}", stack_arn
    assert service == "apigateway", service
    model = client.meta.service_model.operation_model(operation)
    path = model.http["requestUri"]
    for member, shape in model.input_shape.members.items():
        if shape.serialization.get("location") == "uri":
            path = path.replace("{" + shape.serialization["name"] + "}", params[member])
    return f"apigateway:{model.http['method']}", f"arn:aws:apigateway:{REGION}::{path}"


def test_the_policy_allows_every_call_of_the_keys_cli_and_nothing_it_does_not_make(
    synthesized: Synthesis, dynamodb: Any, recorded_calls: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    stack = deploy_fake_stack()
    stack_arn = boto3.client("cloudformation", region_name=REGION).describe_stacks(StackName=STACK_NAME)[
        "Stacks"
    ][0]["StackId"]
    put_old_key(dynamodb, "old")
    del recorded_calls[:]
    where = ["--stack", STACK_NAME, "--region", REGION]

    def run(*argv: str) -> str:
        status = main(["keys", *argv, *where])
        out = capsys.readouterr().out
        assert status == 0
        return out

    client = json.loads(run("create", "--client", "acme", "--json"))
    dock = json.loads(run("create", "--operations", "--name", "dock", "--json"))
    run("list")
    run("set-plan", client["key_id"], "--plan", "bulk")
    run("set-plan", hash_api_key("old")[:12], "--plan", "standard")  # a key from before tiers
    run("revoke", client["key_id"])
    run("revoke", dock["key_id"])
    requests = {
        iam_request(client, operation, params, stack_arn) for client, operation, params in recorded_calls
    }

    # The template's policy, with what its references stand for in this account.
    plans = _plans(synthesized)
    keys_table_id, _ = synthesized.table(API_KEYS_TABLE)
    refs = {
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::StackId": stack_arn,
        f"{keys_table_id}.Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{API_KEYS_TABLE_NAME}",
        **{logical_id: stack.plan_ids[tier] for tier, (logical_id, _) in plans.items()},
    }
    _, statements = _policy(synthesized)
    grants = [
        (action, resource)
        for statement in resolve(statements, refs)
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
        for resource in (
            [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
        )
    ]
    assert all(statement["Effect"] == "Allow" for statement in statements)
    refused = [r for r in requests if not any(a == r[0] and _wildcard_match(p, r[1]) for a, p in grants)]
    assert refused == []
    # And nothing granted that none of them needed: every tier's plan was joined and left once.
    unused = [
        (a, p) for a, p in grants if not any(a == action and _wildcard_match(p, r) for action, r in requests)
    ]
    assert unused == []
