"""The deployment unit: one Stack holding the whole service, and the app that synthesizes it.

The stack is environment-agnostic (no account or region, no lookups), so ``cdk synth`` works on any
machine without AWS credentials; the account and region come from the credentials at deploy time.
"""

from __future__ import annotations

from aws_cdk import App, CfnOutput, Stack, Tags
from constructs import Construct

from infra.api import API_TABLE_ACTIONS, AUTHORIZER_TABLE_ACTIONS, Api
from infra.checks import attach_checks
from infra.config import ServiceConfig
from infra.events import OrderEvents
from infra.metering import USAGE_PLANS_OUTPUT
from infra.monitoring import Monitoring
from infra.packaging import LambdaPackaging
from infra.storage import Storage


class ForwardOrdersStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: ServiceConfig) -> None:
        super().__init__(
            scope,
            construct_id,
            description="Forward Orders API: API Gateway, Lambda and DynamoDB (tables are retained)",
        )
        self.config = config
        packaging = LambdaPackaging(self, "Packaging")
        self.storage = Storage(self, "Storage", config=config)
        self.api = Api(
            self,
            "Api",
            config=config,
            packaging=packaging,
            orders_table=self.storage.orders,
            api_keys_table=self.storage.api_keys,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            stage=self.api.stage,
            api_function=self.api.handler,
            authorizer_function=self.api.authorizer_function,
            console_function=self.api.console_function,
            tables={
                "Orders": (self.storage.orders, [action.split(":")[1] for action in API_TABLE_ACTIONS]),
                "ApiKeys": (
                    self.storage.api_keys,
                    [action.split(":")[1] for action in AUTHORIZER_TABLE_ACTIONS],
                ),
            },
        )
        self.order_events = OrderEvents(
            self,
            "OrderEvents",
            config=config,
            packaging=packaging,
            orders_table=self.storage.orders,
            alarm_topic=self.monitoring.topic,
        )
        self.monitoring.add_dashboard(self.order_events)
        Tags.of(self).add("service", config.service_name)

        CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the API stage")
        CfnOutput(
            self,
            "ConsoleUrl",
            value=self.api.console_url,
            description="The returns desk console: open it in a browser, enter a key (docs/console.md)",
        )
        CfnOutput(self, "OrdersTableName", value=self.storage.orders.table_name)
        CfnOutput(
            self,
            "KeysTableName",
            value=self.storage.api_keys.table_name,
            description="The API keys table (forward-orders keys --stack finds it)",
        )
        CfnOutput(
            self,
            USAGE_PLANS_OUTPUT,
            value=self.api.metering.usage_plans_output(),
            description="The tiers' usage plans, for forward-orders keys --stack <this stack>",
        )
        CfnOutput(
            self,
            "KeyAdministrationPolicyArn",
            value=self.api.metering.key_administration.managed_policy_arn,
            description="Attach to whoever runs forward-orders keys --stack (docs/deployment.md)",
        )
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)
        CfnOutput(self, "DashboardName", value=self.monitoring.dashboard.dashboard_name)
        CfnOutput(
            self,
            "EventBusName",
            value=self.order_events.bus.event_bus_name,
            description="The bus of the order events; consumers add rules to it (docs/events.md)",
        )
        CfnOutput(self, "EventBusArn", value=self.order_events.bus.event_bus_arn)
        CfnOutput(
            self,
            "OrderEventsDeadLetterQueueUrl",
            value=self.order_events.dead_letter_queue.queue_url,
            description="Batches of order events given up on (docs/events.md, Replaying)",
        )


def build_app(app: App) -> ForwardOrdersStack:
    """Add the service's stack to ``app``, configured from its context, with cdk-nag attached."""
    config = ServiceConfig.from_context(app.node.get_all_context())
    stack = ForwardOrdersStack(app, config.stack_name, config=config)
    attach_checks(app)
    return stack
