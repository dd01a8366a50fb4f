"""Assertions on the synthesized template: what the issue asks the stack to be."""

from __future__ import annotations

import json
import re
from typing import Any

from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template
from infra.api import (
    API_INDEX_ACTIONS,
    API_TABLE_ACTIONS,
    AUTHORIZER_TABLE_ACTIONS,
    CONSOLE_HANDLER,
    access_log_format,
)
from infra.config import API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS, STORAGE_CALL_WORST_CASE_SECONDS
from infra.events import HANDLER as EVENTS_HANDLER
from infra.monitoring import BUSINESS_METRICS

from common.api_responses import GATEWAY_RESPONSES
from common.api_routes import CATCH_ALL_RESOURCE, FALLBACK_METHOD, ROOT_RESOURCE, ROUTES
from common.tables import API_KEYS_TABLE, ORDERS_TABLE, TRACKING_INDEXES
from forward_orders.settings import Settings as ApiSettings
from tests.infrastructure.synthesis import Synthesis, actions_of, arn_of, ref, resource_paths

# -- helpers ---------------------------------------------------------------------------------------


def _function(synthesized: Synthesis, name_part: str) -> tuple[str, dict[str, Any]]:
    return synthesized.one("AWS::Lambda::Function", name_part)


def _resources(statement: dict[str, Any]) -> Any:
    """A statement's Resource, a list of them in a stable order."""
    resource = statement["Resource"]
    return sorted(resource, key=json.dumps) if isinstance(resource, list) else resource


def _newest_python_runtime() -> str:
    versions = [
        tuple(int(part) for part in name.removeprefix("PYTHON_").split("_"))
        for name in dir(lambda_.Runtime)
        if re.fullmatch(r"PYTHON_3_\d+", name)
    ]
    major, minor = max(versions)
    return f"python{major}.{minor}"


# -- functions -------------------------------------------------------------------------------------


def test_every_function_runs_the_newest_python_on_arm64_with_json_logs_and_tracing(
    synthesized: Synthesis,
) -> None:
    functions = synthesized.of_type("AWS::Lambda::Function")
    # The API, the authorizer, order events (test_events_stack.py), the console (test_console_stack.py).
    assert len(functions) == 4
    (layer_id, _) = synthesized.one("AWS::Lambda::LayerVersion")
    for function in functions.values():
        properties = function["Properties"]
        assert properties["Runtime"] == _newest_python_runtime() == "python3.14"
        assert properties["Architectures"] == ["arm64"]
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert properties["LoggingConfig"]["LogFormat"] == "JSON"
        assert "LogGroup" in properties["LoggingConfig"]
        # The console's function needs only the standard library.
        expected_layers = None if properties["Handler"] == CONSOLE_HANDLER else [ref(layer_id)]
        assert properties.get("Layers") == expected_layers
        assert properties["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "forward-orders"
        assert properties["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == "ForwardOrders"
        # Concurrency is left to configuration: nothing reserved by default.
        assert "ReservedConcurrentExecutions" not in properties


def test_layer_is_for_the_same_runtime_and_architecture(synthesized: Synthesis) -> None:
    _, layer = synthesized.one("AWS::Lambda::LayerVersion")
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.14"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_handlers_point_at_the_function_packages(synthesized: Synthesis) -> None:
    _, api = _function(synthesized, "Handler")
    _, authorizer = _function(synthesized, "Authorizer")
    assert api["Properties"]["Handler"] == "forward_orders.handler.lambda_handler"
    assert authorizer["Properties"]["Handler"] == "authorizer.handler.lambda_handler"


def test_snapstart_on_a_published_version_behind_the_live_alias(synthesized: Synthesis) -> None:
    versions = synthesized.of_type("AWS::Lambda::Version")
    aliases = synthesized.of_type("AWS::Lambda::Alias")
    for function_id, function in synthesized.of_type("AWS::Lambda::Function").items():
        # A standard-library start of three files is not worth a snapshot (test_console_stack.py),
        # nor is a stream consumer's rare cold start (test_events_stack.py).
        snap_start = function["Properties"]["Handler"] not in (CONSOLE_HANDLER, EVENTS_HANDLER)
        assert function["Properties"].get("SnapStart") == (
            {"ApplyOn": "PublishedVersions"} if snap_start else None
        )
        [(version_id, version)] = [
            (name, v) for name, v in versions.items() if v["Properties"]["FunctionName"] == ref(function_id)
        ]
        # A replaced version is deleted: a Python SnapStart snapshot is billed while it exists.
        assert version["DeletionPolicy"] == "Delete"
        [alias] = [a for a in aliases.values() if a["Properties"]["FunctionName"] == ref(function_id)]
        assert alias["Properties"]["Name"] == "live"
        assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}


def test_api_function_timeout_outlasts_the_request_deadline_and_fits_api_gateway(
    synthesized: Synthesis,
) -> None:
    _, api = _function(synthesized, "Handler")
    variables = api["Properties"]["Environment"]["Variables"]
    deadline = float(variables["REQUEST_DEADLINE_SECONDS"])
    timeout = api["Properties"]["Timeout"]
    assert deadline + STORAGE_CALL_WORST_CASE_SECONDS < timeout <= API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS
    _, authorizer = _function(synthesized, "Authorizer")
    assert authorizer["Properties"]["Timeout"] <= 10


def test_functions_get_every_variable_their_settings_read(synthesized: Synthesis) -> None:
    _, api = _function(synthesized, "Handler")
    variables = api["Properties"]["Environment"]["Variables"]
    for variable in ApiSettings.variables().values():
        assert variable in variables, variable
    assert variables["ORDERS_TABLE_NAME"] == ref(synthesized.table(ORDERS_TABLE)[0])
    _, authorizer = _function(synthesized, "Authorizer")
    assert authorizer["Properties"]["Environment"]["Variables"]["API_KEYS_TABLE_NAME"] == ref(
        synthesized.table(API_KEYS_TABLE)[0]
    )


def test_every_log_group_has_a_retention(synthesized: Synthesis) -> None:
    log_groups = synthesized.of_type("AWS::Logs::LogGroup")
    assert len(log_groups) == 6  # four functions, access logs, execution logs
    for log_group in log_groups.values():
        assert log_group["Properties"]["RetentionInDays"] == 30
        assert log_group["DeletionPolicy"] == "Delete"


# -- tables ----------------------------------------------------------------------------------------


def test_tables_are_built_from_the_shared_key_schemas(synthesized: Synthesis) -> None:
    tables = synthesized.of_type("AWS::DynamoDB::GlobalTable")
    assert len(tables) == 2
    assert {synthesized.table(ORDERS_TABLE)[0], synthesized.table(API_KEYS_TABLE)[0]} == set(tables)


def test_tables_are_on_demand_recoverable_protected_encrypted_and_retained(synthesized: Synthesis) -> None:
    for table in synthesized.of_type("AWS::DynamoDB::GlobalTable").values():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
        [replica] = properties["Replicas"]
        assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert replica["DeletionProtectionEnabled"] is True
        assert table["DeletionPolicy"] == "Retain"
        assert table["UpdateReplacePolicy"] == "Retain"


# -- least privilege -------------------------------------------------------------------------------


def test_each_function_may_call_only_its_own_tableactions_of(synthesized: Synthesis) -> None:
    orders_id = synthesized.table(ORDERS_TABLE)[0]
    keys_arn = arn_of(synthesized.table(API_KEYS_TABLE)[0])
    # The API function: its table actions on the orders table, and the tracking lookup's Query on
    # the two tracking indexes, named one by one (test_tracking_stack.py has the details).
    index_arns = sorted(
        (
            {"Fn::Join": ["", [arn_of(orders_id), f"/index/{index.name}"]]}
            for index in TRACKING_INDEXES.values()
        ),
        key=json.dumps,
    )
    for name_part, grants in (
        ("Handler", [(API_TABLE_ACTIONS, arn_of(orders_id)), (API_INDEX_ACTIONS, index_arns)]),
        ("Authorizer", [(AUTHORIZER_TABLE_ACTIONS, keys_arn)]),
    ):
        _, function = _function(synthesized, name_part)
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        statements = synthesized.statements_of_role(role_id)
        table_statements = [s for s in statements if any(a.startswith("dynamodb:") for a in actions_of(s))]
        assert sorted((sorted(actions_of(s)), _resources(s)) for s in table_statements) == sorted(
            (sorted(actions), resource) for actions, resource in grants
        )
        log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        by_actions = {tuple(sorted(actions_of(s))): _resources(s) for s in statements}
        assert by_actions == {
            ("logs:CreateLogStream", "logs:PutLogEvents"): arn_of(log_group_id),
            ("xray:PutTelemetryRecords", "xray:PutTraceSegments"): "*",
            **{tuple(sorted(actions)): resource for actions, resource in grants},
        }
        role = synthesized.resources[role_id]["Properties"]
        assert "ManagedPolicyArns" not in role


def test_no_policy_anywhere_grants_a_wildcard_action(synthesized: Synthesis) -> None:
    documents = [p["Properties"]["PolicyDocument"] for p in synthesized.of_type("AWS::IAM::Policy").values()]
    for role in synthesized.of_type("AWS::IAM::Role").values():
        documents += [p["PolicyDocument"] for p in role["Properties"].get("Policies", [])]
    for document in documents:
        for statement in document["Statement"]:
            for action in actions_of(statement):
                assert "*" not in action, action


# -- API -------------------------------------------------------------------------------------------


def test_api_is_regional_with_binary_bodies(synthesized: Synthesis) -> None:
    _, api = synthesized.one("AWS::ApiGateway::RestApi")
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert api["Properties"]["BinaryMediaTypes"] == ["*/*"]


def test_routes_are_the_contracts_plus_authorized_fallbacks(synthesized: Synthesis) -> None:
    paths = resource_paths(synthesized)
    methods = {
        (paths[json.dumps(m["Properties"]["ResourceId"], sort_keys=True)], m["Properties"]["HttpMethod"])
        for m in synthesized.of_type("AWS::ApiGateway::Method").values()
    }
    expected = {(route.resource, route.method) for route in ROUTES}
    expected |= {(route.resource, FALLBACK_METHOD) for route in ROUTES}
    expected |= {(ROOT_RESOURCE, FALLBACK_METHOD), (CATCH_ALL_RESOURCE, FALLBACK_METHOD)}
    # A resource above a route's, which API Gateway would otherwise answer itself.
    expected |= {("/tracking", FALLBACK_METHOD)}
    assert methods == expected
    assert ("/forward_orders", "POST") in methods
    assert ("/forward_orders/{identifier}", "GET") in methods
    assert ("/tracking/{tracking_number}", "GET") in methods


def test_every_method_but_the_consoles_is_guarded_by_the_authorizer_and_proxied_to_the_alias(
    synthesized: Synthesis,
) -> None:
    authorizer_id, _ = synthesized.one("AWS::ApiGateway::Authorizer")
    alias_id, _ = synthesized.one("AWS::Lambda::Alias", "Handler")
    paths = resource_paths(synthesized)
    public = {(route.resource, route.method) for route in ROUTES if route.public}
    for method in synthesized.of_type("AWS::ApiGateway::Method").values():
        properties = method["Properties"]
        path = paths[json.dumps(properties["ResourceId"], sort_keys=True)]
        if (path, properties["HttpMethod"]) in public:
            continue  # test_console_stack.py
        assert properties["AuthorizationType"] == "CUSTOM"
        assert properties["AuthorizerId"] == ref(authorizer_id)
        assert properties["Integration"]["Type"] == "AWS_PROXY"
        assert ref(alias_id) in properties["Integration"]["Uri"]["Fn::Join"][1]


def test_authorizer_is_a_request_authorizer_without_cache_or_identity_sources(synthesized: Synthesis) -> None:
    _, authorizer = synthesized.one("AWS::ApiGateway::Authorizer")
    alias_id, _ = synthesized.one("AWS::Lambda::Alias", "Authorizer")
    properties = authorizer["Properties"]
    assert properties["Type"] == "REQUEST"
    assert properties["AuthorizerResultTtlInSeconds"] == 0
    # Any identity source would turn a request carrying only the other header into a 401.
    assert "IdentitySource" not in properties
    assert ref(alias_id) in properties["AuthorizerUri"]["Fn::Join"][1]


def test_cached_authorizer_keys_its_cache_on_the_authorization_header(synthesized_custom: Synthesis) -> None:
    _, authorizer = synthesized_custom.one("AWS::ApiGateway::Authorizer")
    assert authorizer["Properties"]["AuthorizerResultTtlInSeconds"] == 300
    assert authorizer["Properties"]["IdentitySource"] == "method.request.header.Authorization"


def test_only_api_gateway_may_invoke_the_aliases(synthesized: Synthesis) -> None:
    permissions = synthesized.of_type("AWS::Lambda::Permission")
    assert len(permissions) == 3  # the API, the authorizer, the console
    aliases = [ref(alias_id) for alias_id in synthesized.of_type("AWS::Lambda::Alias")]
    for permission in permissions.values():
        assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
        assert permission["Properties"]["FunctionName"] in aliases
        assert "SourceArn" in permission["Properties"]


def _render(template: str) -> str:
    """A gateway response template as API Gateway would fill it in."""
    return template.replace("$context.error.messageString", '"Some message"').replace(
        "$context.requestId", "0c5d6f1e-request"
    )


def test_gateway_responses_keep_the_contract(synthesized: Synthesis) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in synthesized.of_type("AWS::ApiGateway::GatewayResponse").values()
    }
    assert set(responses) == set(GATEWAY_RESPONSES)
    for response_type in ("UNAUTHORIZED", "ACCESS_DENIED"):
        assert responses[response_type]["StatusCode"] == "401"
        assert responses[response_type]["ResponseTemplates"] == {"application/json": ""}
    expected_bodies = {
        "THROTTLED": ("429", "Too Many Requests"),
        "REQUEST_TOO_LARGE": ("413", "Payload Too Large"),
        "MISSING_AUTHENTICATION_TOKEN": ("404", "Not Found"),
        "AUTHORIZER_FAILURE": ("502", "Bad Gateway"),
    }
    for response_type, (status, message) in expected_bodies.items():
        response = responses[response_type]
        assert response["StatusCode"] == status
        body = json.loads(_render(response["ResponseTemplates"]["application/json"]))
        assert body == {"message": message, "request_id": "0c5d6f1e-request"}
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        assert "StatusCode" not in responses[response_type]
        body = json.loads(_render(responses[response_type]["ResponseTemplates"]["application/json"]))
        assert body == {"message": "Some message", "request_id": "0c5d6f1e-request"}
    for response_type, response in responses.items():
        headers = response["ResponseParameters"]
        assert headers["gatewayresponse.header.x-request-id"] == "context.requestId", response_type
        retry_after = headers.get("gatewayresponse.header.Retry-After")
        # A day's quota is not over in a second (test_metering_stack.py).
        expected = "'3600'" if response_type == "QUOTA_EXCEEDED" else "'1'"
        assert (retry_after == expected) == (response.get("StatusCode") in ("429", "502")), response_type


def test_stage_is_throttled_traced_and_logs_json(synthesized: Synthesis) -> None:
    _, stage = synthesized.one("AWS::ApiGateway::Stage")
    properties = stage["Properties"]
    assert properties["StageName"] == "v1"
    assert properties["TracingEnabled"] is True
    [settings] = properties["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == 100
    assert settings["ThrottlingBurstLimit"] == 200
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False
    access_log = json.loads(properties["AccessLogSetting"]["Format"])
    assert properties["AccessLogSetting"]["Format"] == access_log_format()
    assert {"requestId", "status", "clientId", "responseLatency"} <= set(access_log)
    # Headers carry the API key: none may be logged.
    assert not any("header" in value.lower() for value in access_log.values())


def test_stage_settings_follow_the_context(synthesized_custom: Synthesis) -> None:
    _, stage = synthesized_custom.one("AWS::ApiGateway::Stage")
    assert stage["Properties"]["StageName"] == "prod"
    for log_group in synthesized_custom.of_type("AWS::Logs::LogGroup").values():
        assert log_group["Properties"]["RetentionInDays"] == 90
    assert not synthesized_custom.of_type("AWS::ApiGateway::Account")


def test_concurrency_settings_follow_the_context(synthesized_custom: Synthesis) -> None:
    _, api = synthesized_custom.one("AWS::Lambda::Function", "Handler")
    assert api["Properties"]["ReservedConcurrentExecutions"] == 50
    assert "SnapStart" not in api["Properties"]
    _, alias = synthesized_custom.one("AWS::Lambda::Alias", "Handler")
    assert alias["Properties"]["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 2}


# -- monitoring ------------------------------------------------------------------------------------


def _alarm_metric_names(alarm: dict[str, Any]) -> set[str]:
    properties = alarm["Properties"]
    if "MetricName" in properties:
        return {properties["MetricName"]}
    return {
        query["MetricStat"]["Metric"]["MetricName"]
        for query in properties.get("Metrics", [])
        if "MetricStat" in query
    }


def test_alarms_cover_api_functions_and_tables_and_notify_the_topic(synthesized: Synthesis) -> None:
    topic_id, _ = synthesized.one("AWS::SNS::Topic")
    alarms = synthesized.of_type("AWS::CloudWatch::Alarm")
    by_name = {name: _alarm_metric_names(alarm) for name, alarm in alarms.items()}

    def alarms_on(*metric_names: str) -> list[str]:
        return [name for name, metrics in by_name.items() if set(metric_names) <= metrics]

    assert len(alarms_on("5XXError", "Count")) == 1  # the 5xx rate
    assert len(alarms_on("Latency")) == 1
    assert len(alarms_on("Errors")) == 4  # every function (order events: test_events_stack.py)
    assert len(alarms_on("Throttles")) == 3  # the functions behind the API
    assert len(alarms_on("ThrottledRequests")) == 1
    assert len(alarms_on("SystemErrors")) == 1
    [latency] = alarms_on("Latency")
    assert [query["MetricStat"]["Stat"] for query in alarms[latency]["Properties"]["Metrics"]] == ["p99"]
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [ref(topic_id)]
        assert alarm["Properties"]["OKActions"] == [ref(topic_id)]
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching"


def test_dynamodb_alarms_watch_the_operations_the_code_calls(synthesized: Synthesis) -> None:
    operations = synthesized.dynamodb_alarm_operations()
    assert operations == {action.split(":")[1] for action in API_TABLE_ACTIONS + AUTHORIZER_TABLE_ACTIONS}


def test_authorizer_alarm_does_not_count_refused_credentials(synthesized: Synthesis) -> None:
    _, metric_filter = synthesized.one("AWS::Logs::MetricFilter")
    assert metric_filter["Properties"]["FilterPattern"] == '{ $.message = "request denied" }'
    _, authorizer_log = synthesized.one("AWS::Logs::LogGroup", "Authorizer")
    _, authorizer = _function(synthesized, "Authorizer")
    assert (
        metric_filter["Properties"]["LogGroupName"] == authorizer["Properties"]["LoggingConfig"]["LogGroup"]
    )
    assert authorizer_log
    expressions = [
        query["Expression"]
        for alarm in synthesized.of_type("AWS::CloudWatch::Alarm").values()
        for query in alarm["Properties"].get("Metrics", [])
        if "Expression" in query
    ]
    assert "errors - FILL(denials, 0)" in expressions


def test_topic_is_encrypted_and_subscribers_come_from_the_context(
    synthesized: Synthesis, synthesized_custom: Synthesis
) -> None:
    key_id, key = synthesized.one("AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    cloudwatch_statements = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"].get("Service") == "cloudwatch.amazonaws.com"
    ]
    assert len(cloudwatch_statements) == 1
    _, topic = synthesized.one("AWS::SNS::Topic")
    assert topic["Properties"]["KmsMasterKeyId"] == arn_of(key_id)
    assert not synthesized.of_type("AWS::SNS::Subscription")
    subscriptions = synthesized_custom.of_type("AWS::SNS::Subscription").values()
    assert sorted(s["Properties"]["Endpoint"] for s in subscriptions) == [
        "oncall@example.com",
        "ops@example.com",
    ]
    assert {s["Properties"]["Protocol"] for s in subscriptions} == {"email"}


def test_dashboard_shows_traffic_errors_latency_and_business_metrics(synthesized: Synthesis) -> None:
    _, dashboard = synthesized.one("AWS::CloudWatch::Dashboard")
    body = "".join(
        part for part in dashboard["Properties"]["DashboardBody"]["Fn::Join"][1] if isinstance(part, str)
    )
    for metric_name in ("Count", "4XXError", "5XXError", "Latency", *BUSINESS_METRICS):
        assert f'"{metric_name}"' in body, metric_name
    for metric_name in BUSINESS_METRICS:
        assert f'["ForwardOrders","{metric_name}","service","forward-orders"' in body


def test_outputs_name_what_operators_need(synthesized: Synthesis) -> None:
    template = Template.from_json(synthesized.template)
    template.has_output("KeysTableName", {"Value": ref(synthesized.table(API_KEYS_TABLE)[0])})
    template.has_output("OrdersTableName", {"Value": ref(synthesized.table(ORDERS_TABLE)[0])})
    template.has_output("ApiUrl", Match.any_value())
    template.has_output("AlarmTopicArn", Match.any_value())
    template.has_output("DashboardName", Match.any_value())


def test_synthesis_has_no_warnings(synthesized: Synthesis) -> None:
    """As `cdk synth --strict` would insist: no construct reported a warning or an error."""
    problems = [
        (path, entry["type"], entry.get("data"))
        for path, entry in synthesized.metadata_entries()
        if entry["type"] in ("aws:cdk:warning", "aws:cdk:error")
    ]
    assert problems == []
