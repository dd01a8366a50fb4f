"""Alarms, the topic they notify, and the service's dashboard.

Alarms (``infra.alarms``: each notifies the topic when it fires and when it recovers; missing data
is "not breaching", so a quiet night is not an incident):

- API 5xx rate above ``serverErrorRateAlarmPercent`` % of requests (2 of 3 five-minute periods);
- API p99 latency above ``latencyP99AlarmMs`` (2 of 3 five-minute periods);
- each function's errors and throttles (any, in a five-minute period). For the authorizer, the
  "Unauthorized" it raises for every bad key is a Lambda error by design, so its alarm counts
  errors minus denials (the "request denied" lines it logs, counted by a metric filter);
- DynamoDB throttled requests and system errors on both tables, for the operations the code calls.

The order events' alarms (infra/events.py) are made the same way (``infra.alarms``), on the same
topic, and the dashboard, built once they exist, shows them with the others.

The topic is encrypted with a customer managed KMS key: CloudWatch can only publish to an encrypted
topic when the key policy lets it, which the AWS managed SNS key's policy cannot be changed to do.
Subscribers are the ``alarmEmails`` context value (each address must confirm by email).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Aws, Duration, Fn, RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.alarms import service_alarm
from infra.config import ServiceConfig
from infra.events import OrderEvents
from infra.functions import ServiceFunction

PERIOD = Duration.minutes(5)
# The authorizer's log line for a refused credential (authorizer/handler.py).
DENIED_LOG_MESSAGE = "request denied"
AUTHORIZER_DENIALS_METRIC = "AuthorizerDenials"
BUSINESS_METRICS = ("OrdersUpserted", "ItemsUpserted")

# Each table (by a short name) with the DynamoDB operations the service calls on it.
Tables = dict[str, tuple[dynamodb.TableV2, list[str]]]


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ServiceConfig,
        stage: apigateway.Stage,
        api_function: ServiceFunction,
        authorizer_function: ServiceFunction,
        console_function: ServiceFunction,
        tables: Tables,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config

        key = kms.Key(
            self,
            "TopicKey",
            description="Encrypts the Forward Orders alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name="Forward Orders alarms",
            master_key=key,
            enforce_ssl=True,
        )
        for email in config.alarm_emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self.alarms: list[cloudwatch.Alarm] = []
        self._stage = stage
        self._api_function = api_function
        self._authorizer_function = authorizer_function
        self._console_function = console_function
        self._tables = tables

        # -- API --------------------------------------------------------------------------------
        self._requests = stage.metric_count(period=PERIOD, statistic="Sum", label="Requests")
        self._client_errors = stage.metric_client_error(period=PERIOD, statistic="Sum", label="4xx")
        self._server_errors = stage.metric_server_error(period=PERIOD, statistic="Sum", label="5xx")
        self._latency_p99 = stage.metric_latency(period=PERIOD, statistic="p99", label="Latency p99")
        server_error_rate = cloudwatch.MathExpression(
            expression="IF(requests > 0, 100 * errors / requests, 0)",
            using_metrics={"errors": self._server_errors, "requests": self._requests},
            period=PERIOD,
            label="5xx rate (%)",
        )
        self._alarm(
            "ApiServerErrorRate",
            server_error_rate,
            threshold=config.server_error_rate_alarm_percent,
            description=f"More than {config.server_error_rate_alarm_percent:g}% of API requests answered 5xx",
            evaluation_periods=3,
            datapoints_to_alarm=2,
        )
        self._alarm(
            "ApiLatencyP99",
            self._latency_p99,
            threshold=config.latency_p99_alarm_ms,
            description=f"API p99 latency above {config.latency_p99_alarm_ms} ms",
            evaluation_periods=3,
            datapoints_to_alarm=2,
        )

        # -- functions --------------------------------------------------------------------------
        denials_filter = logs.MetricFilter(
            self,
            "AuthorizerDenials",
            log_group=authorizer_function.log_group,
            filter_pattern=logs.FilterPattern.string_value("$.message", "=", DENIED_LOG_MESSAGE),
            metric_namespace=config.metrics_namespace,
            metric_name=AUTHORIZER_DENIALS_METRIC,
            metric_value="1",
            default_value=0,
        )
        self._denials = denials_filter.metric(period=PERIOD, statistic="Sum", label="Denied credentials")
        self._api_errors = api_function.function.metric_errors(
            period=PERIOD, statistic="Sum", label="API errors"
        )
        authorizer_errors = authorizer_function.function.metric_errors(period=PERIOD, statistic="Sum")
        self._authorizer_failures = cloudwatch.MathExpression(
            expression="errors - FILL(denials, 0)",
            using_metrics={"errors": authorizer_errors, "denials": self._denials},
            period=PERIOD,
            label="Authorizer failures",
        )
        self._alarm("ApiFunctionErrors", self._api_errors, threshold=1, description="The API function failed")
        self._console_errors = console_function.function.metric_errors(
            period=PERIOD, statistic="Sum", label="Console errors"
        )
        self._alarm(
            "ConsoleFunctionErrors",
            self._console_errors,
            threshold=1,
            description="The returns desk console's function failed",
        )
        self._alarm(
            "AuthorizerFunctionErrors",
            self._authorizer_failures,
            threshold=1,
            description="The authorizer failed for a reason other than a refused credential",
        )
        for name, function in (
            ("ApiFunction", api_function),
            ("AuthorizerFunction", authorizer_function),
            ("ConsoleFunction", console_function),
        ):
            self._alarm(
                f"{name}Throttles",
                function.function.metric_throttles(period=PERIOD, statistic="Sum"),
                threshold=1,
                description=f"Lambda throttled the {name[: -len('Function')].lower()} function",
            )

        # -- tables -----------------------------------------------------------------------------
        self._throttled = _dynamodb_sum("ThrottledRequests", tables, "DynamoDB throttled requests")
        self._system_errors = _dynamodb_sum("SystemErrors", tables, "DynamoDB system errors")
        self._alarm(
            "DynamoDbThrottledRequests",
            self._throttled,
            threshold=1,
            description="DynamoDB throttled requests of the service",
        )
        self._alarm(
            "DynamoDbSystemErrors",
            self._system_errors,
            threshold=1,
            description="DynamoDB answered requests of the service with a system error",
        )

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, **settings: Any) -> None:
        self.alarms.append(
            service_alarm(
                self,
                construct_id,
                metric,
                topic=self.topic,
                service_name=self._config.service_name,
                **settings,
            )
        )

    def add_dashboard(self, order_events: OrderEvents) -> None:
        """The service's dashboard, once every part that has alarms exists (the order events come
        after this construct, since they alarm on its topic)."""
        config = self._config
        business = [
            cloudwatch.Metric(
                namespace=config.metrics_namespace,
                metric_name=name,
                dimensions_map={"service": config.service_name},
                period=PERIOD,
                statistic="Sum",
                label=name,
            )
            for name in BUSINESS_METRICS
        ]
        functions = (
            ("API", self._api_function),
            ("Authorizer", self._authorizer_function),
            ("Console", self._console_function),
        )
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=Fn.join("-", [Aws.STACK_NAME, Aws.REGION]),
            default_interval=Duration.hours(6),
            widgets=[
                [
                    _graph("Requests", [self._requests]),
                    _graph("4xx and 5xx", [self._client_errors, self._server_errors]),
                    _graph(
                        "Latency (ms)",
                        [
                            self._stage.metric_latency(period=PERIOD, statistic="p50", label="Latency p50"),
                            self._latency_p99,
                            self._stage.metric_integration_latency(
                                period=PERIOD, statistic="p99", label="Integration latency p99"
                            ),
                        ],
                    ),
                ],
                [
                    _graph("Orders and items upserted", business),
                    _graph("Denied credentials", [self._denials]),
                    cloudwatch.AlarmStatusWidget(
                        title="Alarms", alarms=[*self.alarms, *order_events.alarms], width=8, height=6
                    ),
                ],
                [
                    _graph(
                        "Function errors and throttles",
                        [
                            self._api_errors,
                            self._authorizer_failures,
                            self._console_errors,
                            *(
                                fn.function.metric_throttles(
                                    period=PERIOD, statistic="Sum", label=f"{label} throttles"
                                )
                                for label, fn in functions
                            ),
                        ],
                    ),
                    _graph(
                        "Function duration p99 (ms)",
                        [
                            fn.function.metric_duration(period=PERIOD, statistic="p99", label=label)
                            for label, fn in functions
                        ],
                    ),
                    _graph(
                        "Concurrent executions",
                        [
                            fn.function.metric(
                                "ConcurrentExecutions", period=PERIOD, statistic="Maximum", label=label
                            )
                            for label, fn in functions
                        ],
                    ),
                ],
                [
                    _graph(
                        "DynamoDB throttled requests and system errors",
                        [self._throttled, self._system_errors],
                    ),
                    _graph(
                        "DynamoDB consumed capacity",
                        [
                            metric
                            for name, (table, _) in self._tables.items()
                            for metric in (
                                table.metric_consumed_read_capacity_units(
                                    period=PERIOD, statistic="Sum", label=f"{name} reads"
                                ),
                                table.metric_consumed_write_capacity_units(
                                    period=PERIOD, statistic="Sum", label=f"{name} writes"
                                ),
                            )
                        ],
                    ),
                    _graph(
                        "Order events",
                        [
                            order_events.publisher_errors.with_(label="Publisher errors"),
                            order_events.dead_letters.with_(label="Dead-lettered batches"),
                        ],
                        right=[order_events.iterator_age.with_(label="Iterator age (ms)")],
                    ),
                ],
            ],
        )


def _dynamodb_sum(metric_name: str, tables: Tables, label: str) -> cloudwatch.MathExpression:
    """A per-operation DynamoDB metric summed over every table and operation the service uses."""
    metrics: dict[str, cloudwatch.IMetric] = {}
    for table_name, (table, operations) in tables.items():
        for operation in operations:
            metric_id = f"{metric_name}_{table_name}_{operation}".lower()
            metrics[metric_id] = table.metric(
                metric_name,
                dimensions_map={"TableName": table.table_name, "Operation": operation},
                period=PERIOD,
                statistic="Sum",
            )
    return cloudwatch.MathExpression(
        expression=" + ".join(f"FILL({metric_id}, 0)" for metric_id in metrics),
        using_metrics=metrics,
        period=PERIOD,
        label=label,
    )


def _graph(
    title: str, metrics: Sequence[cloudwatch.IMetric], right: Sequence[cloudwatch.IMetric] = ()
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=list(metrics), right=list(right), width=8, height=6)
