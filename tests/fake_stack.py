"""A deployed stack as ``forward-orders keys --stack`` sees it, made in moto: a REST API with its
stage, a usage plan per tier, and a CloudFormation stack whose outputs name them and the API keys
table, shaped as infra/stack.py writes them (tests/infrastructure/test_metering_stack.py checks the
shape against the synthesized template). Call inside moto's mock (the ``dynamodb`` fixture)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

from common.usage_plans import UsagePlans
from tests.api_calls import API_KEYS_TABLE_NAME, REGION

STACK_NAME = "ForwardOrders"
STAGE_NAME = "v1"


@dataclass
class FakeStack:
    name: str
    rest_api_id: str
    plan_ids: dict[str, str]  # tier -> usage plan id
    apigateway: Any

    def api_keys(self) -> dict[str, dict[str, Any]]:
        """Every API Gateway API key by id, with its value."""
        items = self.apigateway.get_api_keys(includeValues=True)["items"]
        return {item["id"]: item for item in items}

    def plan_members(self) -> dict[str, set[str]]:
        """tier -> the API key ids in its usage plan."""
        return {
            tier: {key["id"] for key in self.apigateway.get_usage_plan_keys(usagePlanId=plan_id)["items"]}
            for tier, plan_id in self.plan_ids.items()
        }


def outputs(rest_api_id: str, plan_ids: dict[str, str], tiers: UsagePlans, keys_table: str) -> dict[str, str]:
    return {
        "KeysTableName": keys_table,
        "UsagePlans": json.dumps(
            {
                "restApiId": rest_api_id,
                "stage": STAGE_NAME,
                "plans": plan_ids,
                "defaultPlan": tiers.default_plan,
                "operationsPlan": tiers.operations_plan,
            }
        ),
    }


def deploy_fake_stack(
    tiers: UsagePlans | None = None, *, name: str = STACK_NAME, keys_table: str = API_KEYS_TABLE_NAME
) -> FakeStack:
    tiers = tiers or UsagePlans()
    apigateway = boto3.client("apigateway", region_name=REGION)
    api = apigateway.create_rest_api(name="forward-orders", apiKeySource="AUTHORIZER")
    [root] = apigateway.get_resources(restApiId=api["id"])["items"]
    apigateway.put_method(
        restApiId=api["id"], resourceId=root["id"], httpMethod="ANY", authorizationType="NONE"
    )
    apigateway.put_integration(restApiId=api["id"], resourceId=root["id"], httpMethod="ANY", type="MOCK")
    apigateway.create_deployment(restApiId=api["id"], stageName=STAGE_NAME)
    plan_ids = {
        tier: apigateway.create_usage_plan(
            name=f"{name}-{tier}",
            throttle={"rateLimit": plan.rate, "burstLimit": plan.burst},
            apiStages=[{"apiId": api["id"], "stage": STAGE_NAME}],
        )["id"]
        for tier, plan in tiers.usage_plans.items()
    }
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            key: {"Value": value} for key, value in outputs(api["id"], plan_ids, tiers, keys_table).items()
        },
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=name, TemplateBody=json.dumps(template)
    )
    return FakeStack(name, api["id"], plan_ids, apigateway)
