"""One Lambda function as this service deploys it: the settings both functions share in one place."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.checks import acknowledge
from infra.config import ServiceConfig
from infra.packaging import ARCHITECTURE, RUNTIME, LambdaPackaging

ALIAS_NAME = "live"


def service_log_group(
    scope: Construct, construct_id: str, config: ServiceConfig, **options: Any
) -> logs.LogGroup:
    """A log group the stack owns: the configured retention, deleted with the stack."""
    return logs.LogGroup(
        scope,
        construct_id,
        retention=retention(config.log_retention_days),
        removal_policy=RemovalPolicy.DESTROY,
        **options,
    )


def handler_of(package: str) -> str:
    """The handler of the function whose code is ``functions/<package>``."""
    return f"{package}.handler.lambda_handler"


def retention(days: int) -> logs.RetentionDays:
    """The RetentionDays member for a number of days (the config allows only valid ones)."""
    by_days = {
        1: logs.RetentionDays.ONE_DAY,
        3: logs.RetentionDays.THREE_DAYS,
        5: logs.RetentionDays.FIVE_DAYS,
        7: logs.RetentionDays.ONE_WEEK,
        14: logs.RetentionDays.TWO_WEEKS,
        30: logs.RetentionDays.ONE_MONTH,
        60: logs.RetentionDays.TWO_MONTHS,
        90: logs.RetentionDays.THREE_MONTHS,
        120: logs.RetentionDays.FOUR_MONTHS,
        150: logs.RetentionDays.FIVE_MONTHS,
        180: logs.RetentionDays.SIX_MONTHS,
        365: logs.RetentionDays.ONE_YEAR,
        400: logs.RetentionDays.THIRTEEN_MONTHS,
        545: logs.RetentionDays.EIGHTEEN_MONTHS,
        731: logs.RetentionDays.TWO_YEARS,
        1096: logs.RetentionDays.THREE_YEARS,
        1827: logs.RetentionDays.FIVE_YEARS,
        2192: logs.RetentionDays.SIX_YEARS,
        2557: logs.RetentionDays.SEVEN_YEARS,
        2922: logs.RetentionDays.EIGHT_YEARS,
        3288: logs.RetentionDays.NINE_YEARS,
        3653: logs.RetentionDays.TEN_YEARS,
    }
    return by_days[days]


class ServiceFunction(Construct):
    """A Python function on arm64 with its own role, log group, published version and alias.

    - The role starts empty: only writing to its own log group and X-Ray is granted here; the
      caller grants the table actions the code makes.
    - Logs are JSON (Powertools writes JSON; the platform's lines become JSON too) and kept for the
      configured retention, in a log group the stack owns and deletes.
    - Every deployment publishes a version (SnapStart snapshots published versions only) and moves
      the ``live`` alias to it; API Gateway invokes the alias, never ``$LATEST``. The replaced
      version is deleted, since a Python SnapStart snapshot is billed while its version exists.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ServiceConfig,
        packaging: LambdaPackaging,
        package: str,
        description: str,
        memory_mb: int,
        timeout_seconds: int,
        environment: dict[str, str] | None = None,
        reserved_concurrency: int | None = None,
        provisioned_concurrency: int = 0,
        dependencies: bool = True,
        snap_start: bool = True,
    ) -> None:
        """The function of ``package`` (its folder under functions/, handler
        ``<package>.handler.lambda_handler``), with the dependency layer unless ``dependencies`` is
        false (a function on the standard library alone)."""
        super().__init__(scope, construct_id)
        # SnapStart where the configuration turns it on and the function's start is worth it.
        snap_start = snap_start and config.snap_start
        self.log_group = service_log_group(self, "Logs", config)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description}: logs, traces and the table actions its code calls",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler_of(package),
            code=packaging.function_code(package),
            layers=[packaging.dependencies] if dependencies else [],
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_seconds),
            environment={
                "POWERTOOLS_SERVICE_NAME": config.service_name,
                "POWERTOOLS_METRICS_NAMESPACE": config.metrics_namespace,
                **(environment or {}),
            },
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel(config.application_log_level),
            system_log_level_v2=lambda_.SystemLogLevel(config.system_log_level),
            tracing=lambda_.Tracing.ACTIVE,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
            reserved_concurrent_executions=reserved_concurrency,
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY),
        )
        self.alias = lambda_.Alias(
            self,
            "Alias",
            alias_name=ALIAS_NAME,
            version=self.function.current_version,
            provisioned_concurrent_executions=provisioned_concurrency or None,
        )
        if snap_start:
            # The warning asks for a published version: current_version above is exactly that.
            Annotations.of(self.function).acknowledge_warning(
                "@aws-cdk/aws-lambda:snapStartRequirePublish",
                "The live alias always points at a version published by this stack.",
            )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level permissions, "
            "so active tracing can only be granted on every resource.",
        )

    def grant(self, actions: list[str], resources: list[str]) -> None:
        """Let the function call exactly these actions on exactly these resources."""
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=resources))
