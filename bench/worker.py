"""A benchmark process: imports the API function once, then measures one thing per command.

The parent (``bench/__main__.py``) starts the processes with the environment of the role and talks
to them in JSON lines: commands on stdin, replies on the file descriptor named on the command line.
The process's stdout is where Powertools writes its logs and metrics, as in Lambda; the parent
sends it to /dev/null.

Roles:
- ``api``: the API function as deployed (``lambda_handler``).
- ``floor``: the same work done the cheapest way the service could do it on botocore: ``json.loads``,
  the request models, and the same UpdateItem requests on the function's own client, one by one.
- ``floor_pydynox``: the same with pydynox's client (Rust: serializing, signing, HTTP), its retries
  off; the parameters converted to its native values beforehand (bench/pydynox_adapter.py).
- ``api_pydynox``: the function with bench/pydynox_adapter.py's client under its storage adapter.
- ``naive``: a reference writer: one UpdateItem per record, one after the other.

Every role talks over real HTTP to the parent's bench/dynamodb_server.py (AWS_ENDPOINT_URL_DYNAMODB).
"""

from __future__ import annotations

import base64
import functools
import json
import os
import resource
import sys
import time
import uuid
from typing import Any

from bench.layer import install_from_environment
from bench.storage import Storage
from forward_orders_cli.lambda_events import LocalLambdaContext, Stage, proxy_event

TENANT = "bench-client"


# The Lambda function's context and the event the stage sends, built as the local server builds
# them (standard library only: importable under the layer's restrictions).
def context() -> LocalLambdaContext:
    """One invocation's context (its remaining time counts from now)."""
    return LocalLambdaContext(
        function_name="forward-orders-api",
        timeout_seconds=25.0,
        memory_limit_in_mb=int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")),
    )


STAGE = Stage(name="v1", api_id="bench")


def api_event(body: bytes) -> dict[str, Any]:
    """A POST /forward_orders as API Gateway sends it: base64 body (binary media type */*)."""
    return proxy_event(
        "POST",
        "/forward_orders",
        resource="/forward_orders",
        path_parameters=None,
        headers={"Content-Type": ["application/json"], "Authorization": ["Bearer not-checked-here"]},
        body=body,
        stage=STAGE,
        source_ip="203.0.113.10",
        authorizer={"principalId": TENANT, "client_id": TENANT},
    )


def trace_header(sampled: bool = True) -> str:
    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled={int(sampled)}"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class ApiRole:
    def __init__(self) -> None:
        from forward_orders import handler

        self.handler = handler
        self.storage = Storage()
        handler.orders_table()

    def request(self, body: bytes, delay: float, capture: bool = False) -> dict[str, Any]:
        self.storage.reset(delay)
        if capture:
            self.storage.capture()
        event = api_event(body)
        if "_X_AMZN_TRACE_ID" in os.environ:
            # The Lambda runtime sets a new trace header for every invocation; X-Ray starts a new
            # segment for it in every thread that records something.
            os.environ["_X_AMZN_TRACE_ID"] = trace_header(os.environ.get("BENCH_SAMPLED", "1") == "1")
        cpu, wall = time.process_time(), time.perf_counter()
        response = self.handler.lambda_handler(event, context())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if response["statusCode"] != 200:
            raise RuntimeError(f"the API answered {response['statusCode']}: {response.get('body')}")
        calls, captured = self.storage.calls()
        reply: dict[str, Any] = {"wall": wall, "cpu": cpu, "calls": calls, "rss_mb": _rss_mb()}
        if capture:
            reply["params"] = captured
        return reply


class PydynoxApiRole(ApiRole):
    """The function with bench/pydynox_adapter.py in place of its botocore client."""

    subsegments = True

    def __init__(self) -> None:
        super().__init__()
        from bench.pydynox_adapter import PydynoxWrites

        tracer = self.handler.tracer
        recorder = None if tracer.disabled or not self.subsegments else tracer.provider
        self.handler.orders_table()._client = PydynoxWrites(recorder)


class PydynoxNoSubsegmentsApiRole(PydynoxApiRole):
    """The same, traced, but without the subsegment per call: what those subsegments cost."""

    subsegments = False


class FloorRole:
    """JSON parse + model validation + the same UpdateItem calls, one after the other: what no
    implementation of this contract on this client can skip."""

    def __init__(self) -> None:
        from forward_orders.models import OrdersBatch

        self.model = OrdersBatch
        self.storage = Storage()
        self.client = self.build_client()
        self.calls: list[Any] = []

    def build_client(self) -> Any:
        from forward_orders import handler

        return handler.orders_table()._client  # the function's own client and config

    def prepare(self, params: list[dict[str, Any]]) -> None:
        self.calls = [functools.partial(self.client.update_item, **each) for each in params]

    def request(self, body: bytes, delay: float) -> dict[str, Any]:
        self.storage.reset(delay)
        cpu, wall = time.process_time(), time.perf_counter()
        self.model.model_validate(json.loads(body))
        for call in self.calls:
            call()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return {"wall": wall, "cpu": cpu, "calls": self.storage.calls()[0]}


class PydynoxFloorRole(FloorRole):
    def build_client(self) -> Any:
        import pydynox

        # No retries (a floor does one attempt), the endpoint from the same variable as boto3's.
        return pydynox.DynamoDBClient(endpoint_url=self.storage.endpoint, max_retries=0)

    def prepare(self, params: list[dict[str, Any]]) -> None:
        from bench.pydynox_adapter import update_arguments

        self.calls = [
            functools.partial(self.client.sync_update_item, *update_arguments(each)) for each in params
        ]


class NaiveRole(FloorRole):
    def __init__(self) -> None:
        super().__init__()
        from bench.naive import NaiveWriter

        self.writer = NaiveWriter(self.client, os.environ["ORDERS_TABLE_NAME"])

    def request(self, body: bytes, delay: float) -> dict[str, Any]:
        self.storage.reset(delay)
        cpu, wall = time.process_time(), time.perf_counter()
        self.writer.post(TENANT, body)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return {"wall": wall, "cpu": cpu, "calls": self.storage.calls()[0]}


ROLES = {
    "api": ApiRole,
    "api_pydynox": PydynoxApiRole,
    "api_pydynox_no_subsegments": PydynoxNoSubsegmentsApiRole,
    "floor": FloorRole,
    "floor_pydynox": PydynoxFloorRole,
    "naive": NaiveRole,
}


def main() -> None:
    install_from_environment()
    role_name, reply_fd = sys.argv[1], int(sys.argv[2])
    replies = os.fdopen(reply_fd, "w", buffering=1)
    started = time.perf_counter()
    role: Any = ROLES[role_name]()
    replies.write(json.dumps({"ready": time.perf_counter() - started}) + "\n")
    for line in sys.stdin:
        command = json.loads(line)
        name = command.pop("command")
        if name == "stop":
            break
        if name == "params":
            role.prepare(command["params"])
            reply: dict[str, Any] = {}
        elif name == "request":
            body = base64.b64decode(command.pop("body"))
            reply = role.request(body, **command)
        elif name == "limits":
            from forward_orders.settings import get_settings

            reply = get_settings().limits.model_dump()
        else:
            raise ValueError(f"unknown command {name}")
        replies.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
