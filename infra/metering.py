"""Per-client limits: a usage plan for each tier on the API's stage, and the policy of whoever issues keys.

The tiers are ``usagePlans`` in cdk.json (``common.usage_plans``). Each becomes a usage plan with the
tier's rate, burst and daily quota, on this stack's stage only. Keys join a plan when
``forward-orders keys create --stack`` issues them: the CLI creates an API Gateway API key (the
metering key, stored in the key's record) and its usage plan key, and ``keys revoke`` deletes both.
The stack creates no API key itself. The REST API takes the API key from the authorizer
(``usageIdentifierKey``), and every authorized method requires one (infra/api.py). The stage's
throttle stays as the outer bound over every tier.

``KeyAdministration`` is a managed policy with the calls the keys CLI makes, and no others, for the
platform team to attach to whoever issues keys (docs/deployment.md shows it). API key ids are made
when a key is issued, so deleting them cannot name them in advance: that one statement is on
``/apikeys/*``.
"""

from __future__ import annotations

from typing import Any, cast

from aws_cdk import Aws, CfnElement, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.checks import acknowledge
from infra.config import ServiceConfig

# The keys CLI's calls on the API keys table (common/api_keys.py): issue, list and find (Scan), revoke
# and change tier (UpdateItem).
KEYS_TABLE_ACTIONS = ["dynamodb:PutItem", "dynamodb:Scan", "dynamodb:UpdateItem"]
# Reading the stack's outputs (the table, the REST API, the usage plans).
STACK_ACTIONS = ["cloudformation:DescribeStacks"]
# The output the keys CLI reads (forward_orders_cli/metering.py).
USAGE_PLANS_OUTPUT = "UsagePlans"


def apigateway_arn(path: str) -> str:
    """The IAM resource of an API Gateway management path (``/apikeys``, ``/usageplans/...``)."""
    return f"arn:{Aws.PARTITION}:apigateway:{Aws.REGION}::{path}"


class Metering(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ServiceConfig,
        rest_api: apigateway.RestApi,
        stage: apigateway.Stage,
        api_keys_table: dynamodb.ITableV2,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rest_api = rest_api
        self.stage = stage
        self.config = config
        self.plans: dict[str, apigateway.UsagePlan] = {}
        for name, tier in config.usage_plans.items():
            quota = (
                apigateway.QuotaSettings(limit=tier.daily_quota, period=apigateway.Period.DAY)
                if tier.daily_quota is not None
                else None
            )
            self.plans[name] = apigateway.UsagePlan(
                self,
                f"Plan{name.title().replace('-', '')}",
                name=f"{config.stack_name}-{name}",
                description=f"Forward Orders tier {name}: {tier.describe()} per key",
                throttle=apigateway.ThrottleSettings(rate_limit=tier.rate, burst_limit=tier.burst),
                quota=quota,
                api_stages=[apigateway.UsagePlanPerApiStage(api=rest_api, stage=stage)],
            )

        plan_keys = [apigateway_arn(f"/usageplans/{plan.usage_plan_id}/keys") for plan in self.plans.values()]
        self.key_administration = iam.ManagedPolicy(
            self,
            "KeyAdministration",
            description=f"forward-orders keys --stack {config.stack_name}: issue, re-tier and revoke keys",
            statements=[
                iam.PolicyStatement(
                    sid="KeyRecords", actions=KEYS_TABLE_ACTIONS, resources=[api_keys_table.table_arn]
                ),
                iam.PolicyStatement(sid="StackOutputs", actions=STACK_ACTIONS, resources=[Aws.STACK_ID]),
                # CreateApiKey, CreateUsagePlanKey
                iam.PolicyStatement(
                    sid="CreateMeteringKeys",
                    actions=["apigateway:POST"],
                    resources=[apigateway_arn("/apikeys"), *plan_keys],
                ),
                # DeleteApiKey, DeleteUsagePlanKey
                iam.PolicyStatement(
                    sid="DeleteMeteringKeys",
                    actions=["apigateway:DELETE"],
                    resources=[apigateway_arn("/apikeys/*"), *(f"{arn}/*" for arn in plan_keys)],
                ),
            ],
        )
        stack = Stack.of(self)
        plan_ids = [
            stack.resolve(stack.get_logical_id(cast(CfnElement, plan.node.default_child)))
            for plan in self.plans.values()
        ]
        # cdk-nag names each wildcard resource, a Ref by its logical id in angle brackets.
        for resource in ("/apikeys/*", *(f"/usageplans/<{plan_id}>/keys/*" for plan_id in plan_ids)):
            acknowledge(
                self.key_administration,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::{resource}]",
                "API Gateway gives each API key and usage plan key its id when a key is issued, so the "
                "statement that deletes them names this stack's usage plans but cannot name the ids.",
            )

    def usage_plans_output(self) -> Any:
        """What ``forward-orders keys --stack`` reads: the REST API, its stage, each tier's usage plan
        id, and the tiers new keys get."""
        return Stack.of(self).to_json_string(
            {
                "restApiId": self.rest_api.rest_api_id,
                "stage": self.stage.stage_name,
                "plans": {name: plan.usage_plan_id for name, plan in self.plans.items()},
                "defaultPlan": self.config.default_plan,
                "operationsPlan": self.config.operations_plan,
            }
        )
