"""schemathesis against the local server, with every check, from the OpenAPI document.

``forward-orders serve`` runs as a subprocess; schemathesis (its CLI, as a developer would run it)
generates valid and invalid requests from the document, in its examples, coverage and fuzzing
phases, and checks every response: no 5xx (not_a_server_error), status codes, content types,
headers and bodies as documented, valid data accepted (positive_data_acceptance) and invalid data
rejected (negative_data_rejection), 401 without credentials (ignored_auth), and the rest.

One check is left out on purpose: ``unsupported_method`` expects 405 for a method the document does
not list, and the contract says an unknown route (another method on a known path included) answers
404. test_abuse_inputs.py checks those 404s. The contract rules JSON Schema cannot state (leap days,
unique identifiers, 7.0 is not an integer here) are in schemathesis_hooks.py.

``make test`` serves with small count limits (and generates the document for those limits, so the
coverage phase's boundary cases stay small for moto) and a bounded number of examples; ``make soak``
runs the default limits, the checked-in document, and many more examples with both credentials.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import REPO
from tests.processes import ServeProcess, start_serve, stop_process_group
from tests.reliability import figures

KEY = "fuzz-key-acme"
QUICK_LIMITS = {"MAX_ORDERS_PER_REQUEST": "5", "MAX_ITEMS_PER_ORDER": "5", "MAX_LABELS_PER_ITEM": "5"}
EXCLUDED_CHECKS = "unsupported_method"  # 404, not 405, for other methods: the contract's choice


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, Path]]:
    from forward_orders.settings import Limits
    from forward_orders_cli.openapi import openapi_document, render

    directory = tmp_path_factory.mktemp("fuzz")
    if figures.SOAK:
        limits_env: dict[str, str] = {}
        document = REPO / "openapi.json"
    else:
        limits_env = QUICK_LIMITS
        limits = Limits(
            max_orders_per_request=int(QUICK_LIMITS["MAX_ORDERS_PER_REQUEST"]),
            max_items_per_order=int(QUICK_LIMITS["MAX_ITEMS_PER_ORDER"]),
            max_labels_per_item=int(QUICK_LIMITS["MAX_LABELS_PER_ITEM"]),
        )
        document = directory / "openapi.json"
        document.write_text(render(openapi_document(limits)), encoding="utf-8")
    server = start_serve(directory / "serve", {"acme": KEY}, extra_env=limits_env)
    try:
        yield server, document
    finally:
        stop_process_group(server.process)


def schemathesis_command() -> list[str]:
    script = Path(sys.executable).with_name("schemathesis")
    return [str(script)] if script.exists() else [sys.executable, "-m", "schemathesis.cli"]


@pytest.mark.parametrize("credential", ["bearer", "x-api-key"] if figures.SOAK else ["bearer"])
def test_schemathesis_finds_nothing_with_every_check(
    fuzz_server: tuple[ServeProcess, Path], credential: str, tmp_path: Path
) -> None:
    server, document = fuzz_server
    # The credential as the document's security scheme, not a raw header: ignored_auth then knows
    # which scheme to drop or spoil (a raw header would stay on its "no credential" requests).
    config = tmp_path / "schemathesis.toml"
    scheme = (
        "[auth.openapi.bearerKey]\nbearer"
        if credential == "bearer"
        else "[auth.openapi.apiKeyHeader]\napi_key"
    )
    config.write_text(f'{scheme} = "{KEY}"\n', encoding="utf-8")
    accepted_before = server.output().count(" -> 200 ")
    examples = figures.scale(15, 300)
    seed = figures.scale(3, 0) or int.from_bytes(os.urandom(4), "big")
    argv = [
        *schemathesis_command(),
        "--config-file",
        str(config),
        "run",
        str(document),
        "--url",
        server.url,
        "--checks",
        "all",
        "--exclude-checks",
        EXCLUDED_CHECKS,
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.reliability.schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "NO_COLOR": "1",
    }
    timeout = 1500 if figures.SOAK else 100
    result = subprocess.run(
        argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    summary = [
        line.strip(" =") for line in result.stdout.splitlines() if "generated" in line or "found" in line
    ]
    figures.record(
        f"schemathesis ({credential})", max_examples=examples, seed=seed, result=" | ".join(summary)
    )
    assert result.returncode == 0, (
        f"schemathesis found problems:\n{result.stdout[-20000:]}\n{result.stderr[-5000:]}"
    )
    assert "No issues found" in result.stdout
    # The run was authenticated: the API accepted many of its requests.
    assert server.output().count(" -> 200 ") - accepted_before > 50
