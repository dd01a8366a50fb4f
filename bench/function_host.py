"""One Lambda execution environment of the cost replay (``bench/replay.py``): one function's handler
in its own process, as in Lambda, invoked one event at a time, and what each invocation cost.

``python -m bench.function_host <package> <reply fd>``: imports ``<package>.handler`` with the
environment the parent set (the function's own, as the stack deploys it), then reads commands as
JSON lines on stdin and answers each on the reply descriptor. For each invocation it reports:

- its CPU time (``time.process_time``: every thread of the process) and wall time;
- the lines the function wrote to stdout and stderr (its logs and EMF metrics, which Lambda sends
  to CloudWatch Logs one line an event), by their size in bytes: the process's streams are
  replaced before the handler is imported, so Powertools' logger writes into them;
- every AWS call the function's clients made (operation, parameters, parsed answer, start and end
  time), recorded by handlers on boto3's default session, which every client of the function is
  built from.

The function's clients talk to the parent's moto server (``AWS_ENDPOINT_URL``); the calls are real.
Only the Lambda layer's packages can be imported here (``bench.layer``), as in Lambda.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
import threading
import time
import traceback
from typing import Any

from bench.layer import install_from_environment


class CountedStream(io.TextIOBase):
    """A text stream that keeps the byte size of every line written to it."""

    def __init__(self, echo: Any = None) -> None:
        self.echo = echo  # where the lines also go (BENCH_ECHO_LOGS: the real stderr), or None
        self.lines: list[int] = []
        self._pending = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.echo is not None:
            self.echo.write(text)
        with self._lock:
            self._pending += text
            *complete, self._pending = self._pending.split("\n")
            self.lines.extend(len(line.encode("utf-8", "surrogatepass")) for line in complete if line)
        return len(text)

    def take(self) -> list[int]:
        with self._lock:
            if self._pending:
                self.lines.append(len(self._pending.encode("utf-8", "surrogatepass")))
                self._pending = ""
            lines, self.lines = self.lines, []
        return lines


class CallRecorder:
    """Every AWS call of the clients built from boto3's default session, with its timing."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def install(self) -> None:
        import boto3

        boto3.setup_default_session()
        events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
        events.register("before-parameter-build", self._parameters, unique_id="cost-parameters")
        events.register("before-call", self._started, unique_id="cost-started")
        events.register("after-call", self._answered, unique_id="cost-answered")

    def _parameters(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        context["cost_call"] = {
            "service": model.service_model.service_name,
            "operation": model.name,
            "params": json.loads(json.dumps(params, default=str)),
        }

    def _started(self, context: dict[str, Any], **_: Any) -> None:
        call = context.get("cost_call")
        if call is not None:
            call["started"] = time.perf_counter()

    def _answered(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        call = context.get("cost_call")
        if call is None:
            return
        call["ended"] = time.perf_counter()
        call["answer"] = {key: value for key, value in parsed.items() if key != "ResponseMetadata"}
        with self._lock:
            self.calls.append(call)

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            calls, self.calls = self.calls, []
        return json.loads(json.dumps(calls, default=str))


def _context(command: dict[str, Any]) -> Any:
    from forward_orders_cli.lambda_events import LocalLambdaContext

    class DeployedContext(LocalLambdaContext):
        # API Gateway and the stream's mapping invoke the function's "live" alias.
        @property
        def invoked_function_arn(self) -> str:
            return f"{super().invoked_function_arn}:live"

    return DeployedContext(
        function_name=command["function_name"],
        timeout_seconds=command["timeout_seconds"],
        memory_limit_in_mb=command["memory_mb"],
        function_version=command["version"],
    )


def main() -> None:
    install_from_environment()
    package, reply_fd = sys.argv[1], int(sys.argv[2])
    replies = os.fdopen(reply_fd, "w", buffering=1)
    if hasattr(os, "sched_setaffinity"):
        # One core, as Lambda gives a function (up to 1,769 MB), shared by its threads.
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    echo = sys.stderr if os.environ.get("BENCH_ECHO_LOGS") else None
    out, err = CountedStream(echo), CountedStream(echo)
    sys.stdout, sys.stderr = out, err  # before the handler module builds its logger
    recorder = CallRecorder()
    recorder.install()
    cpu, wall = time.process_time(), time.perf_counter()
    handler = importlib.import_module(f"{package}.handler")
    init: dict[str, Any] = {"init_cpu": time.process_time() - cpu, "init_wall": time.perf_counter() - wall}
    init["log_lines"] = out.take() + err.take()
    replies.write(json.dumps(init) + "\n")
    for line in sys.stdin:
        command = json.loads(line)
        if command.get("command") == "stop":
            break
        os.environ["_X_AMZN_TRACE_ID"] = command["trace_header"]  # set by the runtime per invocation
        context = _context(command)
        cpu, wall = time.process_time(), time.perf_counter()
        started = wall
        error: str | None = None
        try:
            response = handler.lambda_handler(command["event"], context)
        except Exception as raised:  # the function failed: Lambda reports its message
            response, error = None, str(raised)
            if os.environ.get("BENCH_ECHO_LOGS"):
                traceback.print_exc(file=sys.__stderr__)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        calls = recorder.take()
        for call in calls:  # seconds from the invocation's start
            call["started"] = call.get("started", started) - started
            call["ended"] = call["ended"] - started
        reply = {
            "response": response,
            "error": error,
            "cpu": cpu,
            "wall": wall,
            "log_lines": out.take() + err.take(),
            "calls": calls,
        }
        replies.write(json.dumps(reply, default=str) + "\n")


if __name__ == "__main__":
    main()
