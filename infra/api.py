"""The public API: a regional REST API in front of the API function, guarded by the authorizer.

Routes. ``POST /forward_orders`` and ``GET /forward_orders/{identifier}`` are the contract's,
``GET /tracking/{tracking_number}`` the lookup by tracking number (docs/tracking.md), and
``GET /console`` with ``GET /console/{asset}`` the returns desk console (docs/console.md): the only
methods without authorization, answered by the console function, which holds no permission to any
data (the lookups the page makes go through the authorizer like any other call). Every
other method and path is routed too (``ANY`` on each resource, ``/{proxy+}`` below the root), to the
same function and behind the same authorizer: without a valid key any route answers 401, with one
an unknown route reaches the function, whose not-found handler answers the contract's 404. A
request API Gateway still cannot match answers 404 through the gateway response below.

Authorizer and its rule. A client key is allowed the whole API; an operations key only the routes
that list operations keys (the tracking lookup), so API Gateway refuses it anywhere else before the
function runs: ACCESS_DENIED, answered like a missing key (401, empty body).

Per-client limits (infra/metering.py). The API takes its API key from the authorizer
(``apiKeySource`` AUTHORIZER) and every authorized method requires one, so API Gateway meters each
client key under its own tier's usage plan with the metering key the authorizer returns. The
console's two public methods require none: no authorizer runs there, so there would be no key to
give, and a method requiring one would refuse every request. They are in no usage plan; the stage's
throttle, which API Gateway applies to each method on its own, bounds them.

Authorizer and its cache. A REQUEST authorizer with identity sources makes API Gateway answer 401
without calling it when *any* of those headers is missing, so "Authorization or x-api-key" cannot
be expressed as identity sources. With the default cache TTL of 0 there are no identity sources:
API Gateway calls the authorizer on every request and the authorizer accepts either header. A TTL
above 0 must name an identity source to key the cache on; it is the ``Authorization`` header, so
with caching on, a client that sends only ``x-api-key`` is refused (401), and a revoked key keeps
working until its cached result expires.

Bodies. ``*/*`` is a binary media type, so API Gateway hands every request body to the function
base64-encoded, byte for byte, and the function detects bad base64 or invalid UTF-8 itself.
Responses are unaffected: the function returns JSON as text (``isBase64Encoded`` false), which API
Gateway passes through as is.

Gateway responses. The errors API Gateway answers itself keep the contract: an authentication
failure is a 401 with an empty body, throttling a 429 with Retry-After, an oversized request a 413,
anything else JSON with ``message`` and ``request_id``; each carries ``x-request-id``. An
authorizer that fails (its key lookup timed out or was throttled, say) is not the client's fault:
that is a 502 with Retry-After, like the function's own answer when storage is unavailable.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import cast

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_xray as xray
from constructs import Construct

from authorizer.settings import Settings as AuthorizerSettings
from common.api_responses import (
    GATEWAY_RESPONSES,
    REQUEST_ID_HEADER,
    RETRY_AFTER_HEADER,
    GatewayResponse,
    message,
)
from common.api_routes import (
    API_FUNCTION,
    CONSOLE_FUNCTION,
    CONSOLE_PAGE_RESOURCE,
    FALLBACK_METHOD,
    ROUTES,
    fallback_resources,
)
from common.tables import TRACKING_INDEXES
from forward_orders.settings import Settings as ApiSettings
from infra.access_log import access_log_format
from infra.checks import acknowledge
from infra.config import ServiceConfig
from infra.functions import ServiceFunction, handler_of, service_log_group
from infra.metering import Metering
from infra.packaging import LambdaPackaging

API_HANDLER = handler_of(API_FUNCTION)
AUTHORIZER_HANDLER = handler_of("authorizer")
CONSOLE_HANDLER = handler_of(CONSOLE_FUNCTION)
# Three small files from memory: the smallest sizes suffice, and its standard-library start needs no
# SnapStart.
CONSOLE_MEMORY_MB = 256
CONSOLE_TIMEOUT_SECONDS = 5
CACHED_IDENTITY_HEADER = "Authorization"

# The only DynamoDB calls each function makes (forward_orders/storage.py, common/api_keys.py).
# On the orders table: upserts, an order's read (GetItem of the order record, Query of a page of its
# items), and the concepts of the orders a tracking lookup found (BatchGetItem of order records); on
# the tracking indexes only (their ARNs, not the table's): the lookup's Query.
API_TABLE_ACTIONS = ["dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"]
API_INDEX_ACTIONS = ["dynamodb:Query"]
AUTHORIZER_TABLE_ACTIONS = ["dynamodb:GetItem"]

_REQUEST_ID = "$context.requestId"
# Ahead of X-Ray's default rule (10000); a rule name has at most 32 characters.
SAMPLING_RULE_PRIORITY = 100
_SAMPLING_RULE_NAME_LENGTH = 32


def sampling_rule_name(stack_name: str) -> str:
    """``<stack name>-api``, shortened with a digest of the stack name when too long (rule names
    are per account and region, like stack names)."""
    name = f"{stack_name}-api"
    if len(name) <= _SAMPLING_RULE_NAME_LENGTH:
        return name
    digest = hashlib.sha256(stack_name.encode()).hexdigest()[:6]
    return f"{stack_name[: _SAMPLING_RULE_NAME_LENGTH - 11]}-{digest}-api"


def gateway_response_body(response: GatewayResponse) -> str:
    """The response template of one gateway response: the message of its status (the DEFAULT types:
    API Gateway's own message for the case) and the request id; no body at all for a 401.

    Gateway response templates are not VTL: only $context and $stageVariables are substituted, and
    $context.error.messageString is already a quoted JSON string."""
    if not response.has_body:
        return ""
    text = (
        json.dumps(message(response.status))
        if response.status is not None
        else "$context.error.messageString"
    )
    return '{"message": ' + text + ', "request_id": "' + _REQUEST_ID + '"}'


def gateway_retry_after(config: ServiceConfig, response_type: str) -> int:
    """The Retry-After of a gateway response: its own, or ``retryAfterSeconds``. A 429 of the
    throttle says at least how long the slowest tier (or the stage) takes to earn one request."""
    fixed = GATEWAY_RESPONSES[response_type].retry_after_seconds
    if fixed is not None:
        return fixed
    if response_type == "THROTTLED":
        waits = [plan.seconds_per_token for plan in config.usage_plans.values()]
        return max(config.retry_after_seconds, math.ceil(1 / config.throttling_rate_limit), *waits)
    return config.retry_after_seconds


def tracking_index_arns(orders_table: dynamodb.ITableV2) -> list[str]:
    """The ARNs of the orders table's tracking indexes (common/tables.py), one by one."""
    return [f"{orders_table.table_arn}/index/{index.name}" for index in TRACKING_INDEXES.values()]


class Api(Construct):
    """The two functions, the REST API with its stage, authorizer and routes, and its logs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ServiceConfig,
        packaging: LambdaPackaging,
        orders_table: dynamodb.ITableV2,
        api_keys_table: dynamodb.ITableV2,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = ServiceFunction(
            self,
            "Handler",
            config=config,
            packaging=packaging,
            package=API_FUNCTION,
            description="Forward Orders API: POST and GET /forward_orders, GET /tracking",
            memory_mb=config.api_memory_mb,
            timeout_seconds=config.api_timeout_seconds,
            environment={
                ApiSettings.variable("orders_table_name"): orders_table.table_name,
                **config.api_environment(),
            },
            reserved_concurrency=config.api_reserved_concurrency,
            provisioned_concurrency=config.api_provisioned_concurrency,
        )
        self.handler.grant(API_TABLE_ACTIONS, [orders_table.table_arn])
        self.handler.grant(API_INDEX_ACTIONS, tracking_index_arns(orders_table))

        self.authorizer_function = ServiceFunction(
            self,
            "Authorizer",
            config=config,
            packaging=packaging,
            package="authorizer",
            description="Forward Orders API authorizer: API key to client id",
            memory_mb=config.authorizer_memory_mb,
            timeout_seconds=config.authorizer_timeout_seconds,
            environment={AuthorizerSettings.variable("api_keys_table_name"): api_keys_table.table_name},
            reserved_concurrency=config.authorizer_reserved_concurrency,
            provisioned_concurrency=config.authorizer_provisioned_concurrency,
        )
        self.authorizer_function.grant(AUTHORIZER_TABLE_ACTIONS, [api_keys_table.table_arn])

        # No grant at all: its role writes its logs and traces, nothing else.
        self.console_function = ServiceFunction(
            self,
            "Console",
            config=config,
            packaging=packaging,
            package=CONSOLE_FUNCTION,
            description="Forward Orders returns desk console: a static page, no data",
            memory_mb=CONSOLE_MEMORY_MB,
            timeout_seconds=CONSOLE_TIMEOUT_SECONDS,
            dependencies=False,  # standard library only
            snap_start=False,
        )

        self.access_logs = service_log_group(self, "AccessLogs", config)
        self.rest_api = apigateway.RestApi(
            self,
            "RestApi",
            rest_api_name=config.service_name,
            description="Forward Orders API: retailers' order feeds",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            binary_media_types=["*/*"],
            api_key_source_type=apigateway.ApiKeySourceType.AUTHORIZER,
            # Access and execution logs need the account's API Gateway CloudWatch role; see
            # docs/deployment.md for accounts where the platform team already manages it.
            cloud_watch_role=config.create_api_gateway_cloud_watch_role,
            deploy_options=apigateway.StageOptions(
                stage_name=config.stage_name,
                throttling_rate_limit=config.throttling_rate_limit,
                throttling_burst_limit=config.throttling_burst_limit,
                tracing_enabled=True,
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # full request logging would write API keys and bodies
                metrics_enabled=False,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                access_log_format=apigateway.AccessLogFormat.custom(access_log_format()),
            ),
        )
        self.stage = self.rest_api.deployment_stage
        self.sampling_rule = self._sampling_rule(config)
        # API Gateway creates its execution log group on first use, without retention; creating it
        # here first gives it one, and deletes it with the stack.
        execution_logs = service_log_group(
            self,
            "ExecutionLogs",
            config,
            log_group_name=f"API-Gateway-Execution-Logs_{self.rest_api.rest_api_id}/{config.stage_name}",
        )
        self.stage.node.add_dependency(execution_logs)

        cache_ttl = config.authorizer_cache_ttl_seconds
        self.authorizer = apigateway.RequestAuthorizer(
            self,
            "KeyAuthorizer",
            handler=self.authorizer_function.alias,
            identity_sources=[apigateway.IdentitySource.header(CACHED_IDENTITY_HEADER)] if cache_ttl else [],
            results_cache_ttl=Duration.seconds(cache_ttl),
        )
        if not cache_ttl:
            # No identity source at all, rather than an empty one.
            cfn_authorizer = cast(apigateway.CfnAuthorizer, self.authorizer.node.default_child)
            cfn_authorizer.add_property_deletion_override("IdentitySource")
        self._add_routes()
        self._add_gateway_responses(config)
        self.metering = Metering(
            self,
            "Metering",
            config=config,
            rest_api=self.rest_api,
            stage=self.stage,
            api_keys_table=api_keys_table,
        )

        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG2",
            "The function validates every request itself and answers with the contract's 400 and 422 "
            "bodies listing every problem, which an API Gateway model validator cannot produce.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG3",
            "Every route but the console's static files requires an API key checked by the authorizer, "
            "and the stage is throttled; a "
            "WAF web ACL (about 6 USD a month plus 0.60 USD per million requests) is left for the "
            "platform team to attach if their policy asks for one.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-COG4",
            "Clients are retailers' order systems and the returns desk's operators, who authenticate "
            "with an API key checked by the Lambda REQUEST authorizer on every route that reads or "
            "writes data; there are no Cognito users.",
        )
        if config.create_api_gateway_cloud_watch_role:
            acknowledge(
                self.rest_api,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
                "AmazonAPIGatewayPushToCloudWatchLogs is the AWS managed policy made for the account's "
                "API Gateway logging role, and AWS keeps it current with what API Gateway needs.",
            )

    def _sampling_rule(self, config: ServiceConfig) -> xray.CfnSamplingRule:
        """The stage's X-Ray sampling: API Gateway decides for each request, and the authorizer and
        the API function trace the requests it sampled. X-Ray's default rule records one request a
        second and 5 % of the rest, which at a few requests a second is most of them; this rule
        records ``tracingReservoirPerSecond`` a second and ``tracingSamplingRate`` of the rest."""
        return xray.CfnSamplingRule(
            self,
            "SamplingRule",
            sampling_rule=xray.CfnSamplingRule.SamplingRuleProperty(
                rule_name=sampling_rule_name(config.stack_name),
                priority=SAMPLING_RULE_PRIORITY,
                reservoir_size=config.tracing_reservoir_per_second,
                fixed_rate=config.tracing_sampling_rate,
                service_name=f"{config.service_name}/{config.stage_name}",
                service_type="AWS::ApiGateway::Stage",
                host="*",
                http_method="*",
                url_path="*",
                resource_arn="*",
                version=1,
            ),
        )

    def _add_routes(self) -> None:
        """The routes (common/api_routes.py, shared with the local server), each to its function,
        then ANY on each of their resources and the resources above them, on the root and on
        /{proxy+}: every other request reaches the API function through the authorizer, and the
        function answers 404 for what it does not implement."""
        integrations = {
            API_FUNCTION: self._integration(self.handler),
            CONSOLE_FUNCTION: self._integration(self.console_function),
        }
        root = self.rest_api.root
        for route in ROUTES:
            resource = root.resource_for_path(route.resource)
            if route.public:
                method = resource.add_method(
                    route.method,
                    integrations[route.function],
                    authorization_type=apigateway.AuthorizationType.NONE,
                )
                acknowledge(
                    method,
                    "AwsSolutions-APIG4",
                    "The returns desk console's page and assets are public static files that hold "
                    "no data, answered by a function with no data access; every lookup the page makes "
                    "goes to the tracking route, behind the authorizer.",
                )
            else:
                self._add_method(resource, route.method, integrations[route.function])
        for path in fallback_resources(ROUTES):
            self._add_method(root.resource_for_path(path), FALLBACK_METHOD, integrations[API_FUNCTION])

    @staticmethod
    def _integration(function: ServiceFunction) -> apigateway.LambdaIntegration:
        return apigateway.LambdaIntegration(
            function.alias,
            proxy=True,
            # One invoke permission for the whole API instead of one per method: same reach (this
            # API's stages only), a much smaller function resource policy.
            scope_permission_to_method=False,
        )

    def _add_method(
        self, resource: apigateway.IResource, http_method: str, integration: apigateway.Integration
    ) -> None:
        resource.add_method(
            http_method,
            integration,
            authorizer=self.authorizer,
            authorization_type=apigateway.AuthorizationType.CUSTOM,
            # The metering key the authorizer returns: without it no usage plan would apply.
            api_key_required=True,
        )

    def _add_gateway_responses(self, config: ServiceConfig) -> None:
        for response_type, response in GATEWAY_RESPONSES.items():
            # Header values are mapping expressions: literal strings are quoted.
            headers = {REQUEST_ID_HEADER: "context.requestId"}
            headers.update({name: f"'{value}'" for name, value in response.headers.items()})
            if response.retry_after:
                headers[RETRY_AFTER_HEADER] = f"'{gateway_retry_after(config, response_type)}'"
            self.rest_api.add_gateway_response(
                response_type.title().replace("_", ""),
                type=apigateway.ResponseType.of(response_type),
                status_code=str(response.status.value) if response.status is not None else None,
                response_headers=headers,
                templates={"application/json": gateway_response_body(response)},
            )

    @property
    def url(self) -> str:
        return self.rest_api.url

    @property
    def console_url(self) -> str:
        # The stage URL ends with a slash; the page is at <stage>/console, without one.
        return self.rest_api.url_for_path(CONSOLE_PAGE_RESOURCE)
