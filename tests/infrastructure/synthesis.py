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

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
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

    def function_with_handler(self, handler: str) -> tuple[str, dict[str, Any]]:
        """The single Lambda function whose handler is ``handler``."""
        matches = [
            (name, function)
            for name, function in self.of_type("AWS::Lambda::Function").items()
            if function["Properties"]["Handler"] == handler
        ]
        assert len(matches) == 1, f"{len(matches)} functions with the handler {handler}"
        return matches[0]

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


def methods_by_path(synthesis: Synthesis) -> dict[tuple[str, str], dict[str, Any]]:
    """Every API Gateway method by (resource path, HTTP method)."""
    paths = resource_paths(synthesis)
    return {
        (paths[json.dumps(m["Properties"]["ResourceId"], sort_keys=True)], m["Properties"]["HttpMethod"]): m
        for m in synthesis.of_type("AWS::ApiGateway::Method").values()
    }
