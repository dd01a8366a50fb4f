"""What SAM reads is the synthesized template, with only the functions' timeouts raised, and the
assets it mounts are the staged ones: each function's own package and ``common``, and the layer."""

from __future__ import annotations

import json

from tests.sam.harness import SAM_TIMEOUT_SECONDS, SynthesizedTemplate


def test_only_the_timeouts_differ(template: SynthesizedTemplate) -> None:
    path = template.for_sam()
    assert path.parent == template.path.parent  # the assets' paths are relative to the template
    sam_view = json.loads(path.read_text())
    functions = [
        name for name, res in sam_view["Resources"].items() if res["Type"] == "AWS::Lambda::Function"
    ]
    assert len(functions) == 4  # the API function, its authorizer, the console, the events function
    for name in functions:
        properties = sam_view["Resources"][name]["Properties"]
        assert properties["Timeout"] == SAM_TIMEOUT_SECONDS
        properties["Timeout"] = template.template["Resources"][name]["Properties"]["Timeout"]
    assert sam_view == template.template


def test_each_function_mounts_its_staged_package(
    template: SynthesizedTemplate, function_ids: dict[str, str]
) -> None:
    for package, function_id in (
        ("forward_orders", function_ids["api"]),
        ("authorizer", function_ids["authorizer"]),
        ("order_events", function_ids["events"]),
    ):
        code = template.asset_dir(function_id)
        assert sorted(entry.name for entry in code.iterdir()) == sorted([package, "common"])
        [layer] = template.layer_ids(function_id)
        assert (template.asset_dir(layer) / "python" / "boto3").is_dir()
    # The console ships without the dependency layer: standard library only.
    console = template.asset_dir(function_ids["console"])
    assert sorted(entry.name for entry in console.iterdir()) == ["common", "console"]
    assert template.layer_ids(function_ids["console"]) == []
