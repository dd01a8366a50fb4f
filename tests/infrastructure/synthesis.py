"""Synthesizing the CDK app the way ``cdk synth`` does, and reading what it wrote.

``synthesize`` builds the app from ``cdk.json``'s context (plus overrides) with cdk-nag attached,
exactly as app.py does, into a folder of its own; a finding nobody acknowledged fails it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# jsii prints a large banner about Node 20 when aws_cdk is first imported; it is noise in tests.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk import App
from infra.stack import ForwardOrdersStack, build_app

from common.tables import TableSchema
from tests import REPO

REPOSITORY_ROOT = REPO
CDK_JSON = REPOSITORY_ROOT / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return context


@dataclass
class Synthesis:
    outdir: Path
    stack: ForwardOrdersStack
    template: dict[str, Any]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template["Resources"]
        return resources

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {name: res for name, res in self.resources.items() if res["Type"] == resource_type}

    def one(self, resource_type: str, name_part: str = "") -> tuple[str, dict[str, Any]]:
        """The single resource of a type whose logical id contains ``name_part``."""
        matches = [(name, res) for name, res in self.of_type(resource_type).items() if name_part in name]
        assert len(matches) == 1, f"{len(matches)} {resource_type} matching {name_part!r}"
        return matches[0]

    def table(self, schema: TableSchema) -> tuple[str, dict[str, Any]]:
        """The table whose keys and attribute definitions are exactly ``schema``'s."""
        expected = schema.create_table_request("unused")
        matches = [
            (name, table)
            for name, table in self.of_type("AWS::DynamoDB::GlobalTable").items()
            if table["Properties"]["KeySchema"] == expected["KeySchema"]
            and sorted(table["Properties"]["AttributeDefinitions"], key=str)
            == sorted(expected["AttributeDefinitions"], key=str)
        ]
        assert len(matches) == 1, f"no single table with the key schema of {schema.logical_name}"
        return matches[0]

    def function_with_handler(self, handler: str) -> tuple[str, dict[str, Any]]:
        [match] = [
            (name, function)
            for name, function in self.of_type("AWS::Lambda::Function").items()
            if function["Properties"]["Handler"] == handler
        ]
        return match

    def statements_of_role(self, role_id: str) -> list[dict[str, Any]]:
        """Every policy statement attached to the role ``role_id``."""
        return [
            statement
            for policy in self.of_type("AWS::IAM::Policy").values()
            if ref(role_id) in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]

    def statements_of_function(self, name_part: str) -> list[dict[str, Any]]:
        """Every policy statement of the role of the function whose logical id holds ``name_part``."""
        _, function = self.one("AWS::Lambda::Function", name_part)
        return self.statements_of_role(function["Properties"]["Role"]["Fn::GetAtt"][0])

    def method_routes(self) -> dict[str, tuple[str, str]]:
        """Every API Gateway method's logical id -> (resource path, HTTP method)."""
        paths = resource_paths(self)
        return {
            name: (
                paths[json.dumps(m["Properties"]["ResourceId"], sort_keys=True)],
                m["Properties"]["HttpMethod"],
            )
            for name, m in self.of_type("AWS::ApiGateway::Method").items()
        }

    def methods(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Every API Gateway method by (resource path, HTTP method)."""
        routes = self.method_routes()
        return {routes[name]: m for name, m in self.of_type("AWS::ApiGateway::Method").items()}

    def dynamodb_alarm_operations(self) -> set[str]:
        """The DynamoDB operations the alarms' metrics watch (their Operation dimension)."""
        return {
            dimension["Value"]
            for alarm in self.of_type("AWS::CloudWatch::Alarm").values()
            for query in alarm["Properties"].get("Metrics", [])
            if "MetricStat" in query and query["MetricStat"]["Metric"]["Namespace"] == "AWS/DynamoDB"
            for dimension in query["MetricStat"]["Metric"]["Dimensions"]
            if dimension["Name"] == "Operation"
        }

    @property
    def template_file(self) -> Path:
        return self.outdir / f"{self.stack.stack_name}.template.json"

    def asset_dir(self, s3_key: str) -> Path:
        """The staged folder of the asset uploaded as ``s3_key`` ("<hash>.zip")."""
        manifest = json.loads((self.outdir / f"{self.stack.stack_name}.assets.json").read_text())
        asset = manifest["files"][s3_key.removesuffix(".zip")]
        assert asset["source"]["packaging"] == "zip"
        return self.outdir / asset["source"]["path"]

    def metadata_entries(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(construct path, entry) for every metadata entry in the cloud assembly manifest."""
        manifest = json.loads((self.outdir / "manifest.json").read_text())
        for artifact in manifest["artifacts"].values():
            for path, entries in (artifact.get("metadata") or {}).items():
                for entry in entries:
                    yield path, entry


def synthesize(outdir: Path, **context: Any) -> Synthesis:
    app = App(context={**cdk_json_context(), **context}, outdir=str(outdir))
    stack = build_app(app)
    assembly = app.synth()
    template = assembly.get_stack_by_name(stack.stack_name).template
    return Synthesis(outdir=outdir, stack=stack, template=template)


def actions_of(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def arn_of(logical_id: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def resource_paths(synthesis: Synthesis) -> dict[Any, str]:
    """API Gateway resource id (as the template refers to it) -> its full path."""
    rest_api_id, _ = synthesis.one("AWS::ApiGateway::RestApi")
    root = json.dumps({"Fn::GetAtt": [rest_api_id, "RootResourceId"]}, sort_keys=True)
    resources = synthesis.of_type("AWS::ApiGateway::Resource")
    paths: dict[Any, str] = {root: "/"}
    while len(paths) < len(resources) + 1:
        for logical_id, resource in resources.items():
            parent = json.dumps(resource["Properties"]["ParentId"], sort_keys=True)
            key = json.dumps(ref(logical_id), sort_keys=True)
            if parent in paths and key not in paths:
                paths[key] = paths[parent].rstrip("/") + "/" + resource["Properties"]["PathPart"]
    return paths
