"""The client package alone: built from client/ into an empty virtual environment (uv, with its
cache), it installs none of the service's dependencies and its `forward-orders push` loads orders
into a running server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.local.push.conftest import push_env, stored_orders
from tests.local.push.orders import write_feed
from tests.processes import ServeProcess

REPO = Path(__file__).resolve().parents[3]
UV = Path(sys.executable).with_name("uv")
FORBIDDEN = {
    "boto3",
    "botocore",
    "moto",
    "aws-cdk-lib",
    "aws-lambda-powertools",
    "pydantic",
    "werkzeug",
    "forward-orders",
}


def test_the_client_installs_and_pushes_on_its_own(server: ServeProcess, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run(
        [str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    subprocess.run(
        [str(UV), "pip", "install", "--quiet", "--python", str(python), str(REPO / "client")],
        check=True,
        timeout=300,
    )
    listed = subprocess.run(
        [str(UV), "pip", "list", "--python", str(python), "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    installed = {entry["name"].lower() for entry in json.loads(listed.stdout)}
    assert {"forward-orders-client", "httpx", "rich", "ijson"} <= installed
    assert not installed & FORBIDDEN, installed & FORBIDDEN

    command = venv / "bin" / "forward-orders"
    help_text = subprocess.run(
        [str(command), "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    assert "push" in help_text.stdout and "serve" not in help_text.stdout

    feed = write_feed(tmp_path / "feed.jsonl", "ALONE", 40, invalid_every=13)
    env = push_env()
    env.pop("PYTHONPATH", None)

    def forward_orders(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(command), *argv, "--url", server.url],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=tmp_path,
        )

    done = forward_orders("push", str(feed.path), "--json")
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["totals"]["rejected"] == len(feed.invalid)
    assert stored_orders(server, "ALONE-") == feed.valid

    got = forward_orders("get", "ALONE-00000")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["identifier"] == "ALONE-00000"
