"""The stack's part of the returns desk console (docs/console.md): its own small function with a role
that holds no permission to any data, the only methods without authorization (exactly the console's
two GETs, proxied to that function), cdk-nag's finding acknowledged on those methods alone, its
alarm, and the bundle it runs from (its package and the shared one, standard library only)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from infra.api import CONSOLE_HANDLER

from common.api_routes import CONSOLE_FUNCTION, FALLBACK_METHOD, ROUTES, served_by
from tests.infrastructure.synthesis import Synthesis, ref


def _console(synthesized: Synthesis) -> tuple[str, dict[str, Any]]:
    return synthesized.function_with_handler(CONSOLE_HANDLER)


def _methods(synthesized: Synthesis) -> dict[tuple[str, str], dict[str, Any]]:
    return {key: method["Properties"] for key, method in synthesized.methods().items()}


def _alias_of(synthesized: Synthesis, function_id: str) -> str:
    [alias_id] = [
        name
        for name, alias in synthesized.of_type("AWS::Lambda::Alias").items()
        if alias["Properties"]["FunctionName"] == ref(function_id)
    ]
    return alias_id


def test_the_console_function_is_small_arm64_python_without_a_layer_or_snapstart(
    synthesized: Synthesis,
) -> None:
    _, function = _console(synthesized)
    properties = function["Properties"]
    assert (properties["Runtime"], properties["Architectures"]) == ("python3.14", ["arm64"])
    assert properties["MemorySize"] == 256
    assert properties["Timeout"] == 5
    assert "Layers" not in properties
    assert "SnapStart" not in properties
    assert "LogGroup" in properties["LoggingConfig"]
    variables = properties["Environment"]["Variables"]
    assert not [name for name in variables if "TABLE" in name]


def test_the_console_functions_role_may_only_write_its_logs_and_traces(synthesized: Synthesis) -> None:
    _, function = _console(synthesized)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in synthesized.of_type("AWS::IAM::Policy").values()
        if ref(role_id) in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = sorted(
        action
        for statement in statements
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    )
    assert actions == [
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    ]
    log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    [logs] = [s for s in statements if "logs:PutLogEvents" in s["Action"]]
    assert logs["Resource"] == {"Fn::GetAtt": [log_group_id, "Arn"]}
    role = synthesized.resources[role_id]["Properties"]
    assert "ManagedPolicyArns" not in role and "Policies" not in role
    assert not any("dynamodb" in json.dumps(statement).lower() for statement in statements)


def test_only_the_consoles_two_gets_are_unauthenticated_and_they_reach_only_the_console(
    synthesized: Synthesis,
) -> None:
    methods = _methods(synthesized)
    function_id, _ = _console(synthesized)
    console_alias = _alias_of(synthesized, function_id)
    unauthenticated = {key for key, method in methods.items() if method["AuthorizationType"] != "CUSTOM"}
    expected = {(route.resource, route.method) for route in served_by(CONSOLE_FUNCTION)}
    assert unauthenticated == expected == {("/console", "GET"), ("/console/{asset}", "GET")}
    assert {(route.resource, route.method) for route in ROUTES if route.public} == expected
    for key in expected:
        method = methods[key]
        assert method["AuthorizationType"] == "NONE"
        assert "AuthorizerId" not in method
        assert method["Integration"]["Type"] == "AWS_PROXY"
        assert ref(console_alias) in method["Integration"]["Uri"]["Fn::Join"][1]
    # No other method reaches the console function.
    for key, method in methods.items():
        if key not in expected:
            assert json.dumps(ref(console_alias)) not in json.dumps(method["Integration"]), key


def test_other_methods_on_the_consoles_resources_go_through_the_authorizer_to_the_api(
    synthesized: Synthesis,
) -> None:
    methods = _methods(synthesized)
    authorizer_id, _ = synthesized.one("AWS::ApiGateway::Authorizer")
    api_alias, _ = synthesized.one("AWS::Lambda::Alias", "Handler")
    for resource in ("/console", "/console/{asset}"):
        method = methods[(resource, FALLBACK_METHOD)]
        assert (method["AuthorizationType"], method["AuthorizerId"]) == ("CUSTOM", ref(authorizer_id))
        assert ref(api_alias) in method["Integration"]["Uri"]["Fn::Join"][1]


def test_only_api_gateway_of_this_api_may_invoke_the_console(synthesized: Synthesis) -> None:
    function_id, _ = _console(synthesized)
    console_alias = _alias_of(synthesized, function_id)
    rest_api_id, _ = synthesized.one("AWS::ApiGateway::RestApi")
    [permission] = [
        p["Properties"]
        for p in synthesized.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == ref(console_alias)
    ]
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert json.dumps(ref(rest_api_id)) in json.dumps(permission["SourceArn"])


def test_the_unauthenticated_methods_are_acknowledged_there_and_nowhere_else(synthesized: Synthesis) -> None:
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())["pluginReports"][0]
    apig4 = [v for v in report["suppressedViolations"] if v["ruleName"] == "AwsSolutions-APIG4"]
    acknowledged_at = sorted(v["acknowledgedAt"] for v in apig4)
    assert acknowledged_at == [
        f"{synthesized.stack.stack_name}/Api/RestApi/Default/console/GET",
        f"{synthesized.stack.stack_name}/Api/RestApi/Default/console/{{asset}}/GET",
    ]
    for violation in apig4:
        assert "no data" in violation["reason"] and "authorizer" in violation["reason"]


def test_the_console_url_is_an_output_and_its_errors_raise_an_alarm(synthesized: Synthesis) -> None:
    outputs = synthesized.template["Outputs"]
    assert "/console" in json.dumps(outputs["ConsoleUrl"]["Value"])
    function_id, _ = _console(synthesized)
    watched = {"Name": "FunctionName", "Value": ref(function_id)}
    metrics = [
        (query["MetricStat"]["Metric"]["MetricName"], query["MetricStat"]["Metric"].get("Dimensions"))
        for alarm in synthesized.of_type("AWS::CloudWatch::Alarm").values()
        for query in alarm["Properties"].get("Metrics", [])
        if "MetricStat" in query
    ]
    assert metrics.count(("Errors", [watched])) == 1


def test_the_console_bundle_is_its_package_and_runs_on_the_standard_library_alone(
    synthesized: Synthesis,
) -> None:
    _, function = _console(synthesized)
    code = synthesized.asset_dir(function["Properties"]["Code"]["S3Key"])
    assert sorted(entry.name for entry in code.iterdir()) == ["common", "console"]
    assert sorted(path.name for path in (code / "console" / "static").iterdir()) == [
        "console.css",
        "console.js",
        "index.html",
    ]
    # -I -S: no site-packages, no environment; only the bundle on the path, as with no layer.
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from console.handler import lambda_handler;"
        "r = lambda_handler({'httpMethod': 'GET', 'resource': '/console',"
        " 'requestContext': {'requestId': 'r'}}, None);"
        "print(r['statusCode'], r['headers']['Content-Type']);"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'pydantic',"
        " 'aws_lambda_powertools')))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, str(code)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["200 text/html; charset=utf-8", "[]"]
