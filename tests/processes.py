"""The `forward-orders` processes the local and reliability tests run, and HTTP to them: ``serve`` on a
free loopback port in its own process group, raw HTTP calls, and an environment that cannot reach
AWS (fake credentials, every endpoint on 127.0.0.1)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

START_TIMEOUT = 30.0
REGION = "us-east-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def forward_orders_command() -> list[str]:
    script = Path(sys.executable).with_name("forward-orders")
    return [str(script)] if script.exists() else [sys.executable, "-m", "forward_orders_cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_process_group(process: subprocess.Popen[Any]) -> None:
    """Whatever happened in the test: no process left behind."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def spawn(argv: list[str], env: dict[str, str], **popen: Any) -> subprocess.Popen[Any]:
    """``argv`` in a process group of its own, so that stop_process_group ends all it started."""
    return subprocess.Popen(argv, env=env, start_new_session=True, **popen)


def local_dynamodb(endpoint: str, region: str = REGION, **config: Any) -> Any:
    """A client of a DynamoDB on loopback (moto's server, ``serve``'s embedded one), which takes
    any credentials: throwaway ones, so the client can never sign for a real account."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "max_attempts": 3}, **config),
    )


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without anything that could point at a real AWS account."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    for name in ("ORDERS_TABLE_NAME", "API_KEYS_TABLE_NAME", "POWERTOOLS_METRICS_NAMESPACE"):
        env.pop(name, None)
    env.update({**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": REGION, "PYTHONUNBUFFERED": "1", **extra})
    return env


# -- HTTP -----------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float = 0.0

    def json(self) -> Any:
        return json.loads(self.body)


def http_call(
    url: str,
    method: str,
    path: str,
    *,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Reply:
    """One request with the path sent exactly as given (no normalization, no proxy)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    data = body.encode() if isinstance(body, str) else body
    started = time.monotonic()
    try:
        connection.request(method, path, body=data, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
        return Reply(
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            payload,
            time.monotonic() - started,
        )
    finally:
        connection.close()


def auth(key: str | None, scheme: str = "bearer") -> dict[str, str]:
    if key is None:
        return {}
    return {"Authorization": f"Bearer {key}"} if scheme == "bearer" else {"x-api-key": key}


# -- forward-orders serve -------------------------------------------------------------------------


@dataclass
class ServeProcess:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    state_file: Path
    env: dict[str, str]
    clients: dict[str, str] = field(default_factory=dict)  # client id -> key

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def state(self) -> dict[str, Any]:
        return dict(json.loads(self.state_file.read_text()))

    def dynamodb(self) -> Any:
        """A client of the server's DynamoDB, found through its state file."""
        state = self.state()
        return local_dynamodb(state["dynamodb_endpoint"], state["region"])

    def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        scheme: str = "bearer",
        body: Any = None,
        raw: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Reply:
        """``body`` is sent as JSON, ``raw`` as given; the key as a bearer token or in x-api-key."""
        all_headers = {"Content-Type": "application/json", **auth(key, scheme), **(headers or {})}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return http_call(self.url, method, path, body=data, headers=all_headers, timeout=timeout)

    def read_order(self, identifier: str, *, key: str) -> dict[str, Any]:
        """GET /forward_orders/{identifier}, every page of its items followed (``next_cursor``)."""
        path = f"/forward_orders/{quote(identifier, safe='')}"
        reply = self.call("GET", path, key=key)
        assert reply.status == 200, reply.body
        order: dict[str, Any] = reply.json()
        while cursor := order.pop("next_cursor", None):
            reply = self.call("GET", f"{path}?cursor={quote(cursor, safe='')}", key=key)
            assert reply.status == 200, reply.body
            page = reply.json()
            order["items"] += page["items"]
            if "next_cursor" in page:
                order["next_cursor"] = page["next_cursor"]
        return order

    def cli(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*forward_orders_command(), *argv],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def start_serve(
    directory: Path,
    clients: dict[str, str],
    *,
    dynamodb_endpoint: str | None = None,
    extra_env: dict[str, str] | None = None,
    verbose: bool = False,
    port: int | None = None,
    rate_limits: bool = False,
    client_rates: dict[str, str] | None = None,
) -> ServeProcess:
    """``forward-orders serve`` on ``port`` (a free one unless given); the caller must stop it
    (stop_process_group). Without ``rate_limits`` it runs with ``--no-rate-limits``: tests of other
    things send faster than a tier allows. ``client_rates`` are ``--client-rate`` values by client
    (``{"acme": "2/1"}``)."""
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = directory / "serve.log"
    state_file = directory / "state" / "local.json"
    env = clean_environment(FORWARD_ORDERS_STATE_FILE=str(state_file), **(extra_env or {}))
    argv = [*forward_orders_command(), "serve", "--port", str(port)]
    for client_id, key in clients.items():
        argv += ["--client", f"{client_id}={key}"]
    if dynamodb_endpoint:
        argv += ["--dynamodb-endpoint", dynamodb_endpoint]
    if verbose:
        argv.append("-v")
    if not rate_limits:
        argv.append("--no-rate-limits")
    for client_id, rate in (client_rates or {}).items():
        argv += ["--client-rate", f"{client_id}={rate}"]
    with log.open("wb") as output:
        process = spawn(argv, env, cwd=directory, stdout=output, stderr=subprocess.STDOUT)
    server = ServeProcess(process, f"http://127.0.0.1:{port}", log, state_file, env, dict(clients))
    try:
        _wait_until_ready(server)
    except BaseException:
        stop_process_group(process)
        raise
    return server


def _wait_until_ready(server: ServeProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"serve exited with {server.process.returncode}:\n{server.output()}")
        try:
            if server.call("GET", "/forward_orders/ready", timeout=2).status == 401:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.1)
    raise RuntimeError(f"serve was not ready after {START_TIMEOUT} s:\n{server.output()}")


@contextlib.contextmanager
def serving(directory: Path, clients: dict[str, str], **options: Any) -> Iterator[ServeProcess]:
    server = start_serve(directory, clients, **options)
    try:
        yield server
    finally:
        stop_process_group(server.process)
