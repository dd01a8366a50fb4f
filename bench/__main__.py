"""``python -m bench [--quick]``: the API function measured against its floors in one run.

Prints a table and writes bench/results.json (bench/results-quick.json with ``--quick``). Every
number is a ratio to a floor measured in the same run, or a count, so that the speed of the machine
(and of its neighbours) mostly cancels out, except ``cpu_per_record_us``, a CPU time that depends on
the machine. DynamoDB is bench/dynamodb_server.py over real HTTP. docs/performance.md explains each
number and its history.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import functools
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import layer, workload
from bench.storage import ENDPOINT_VARIABLE

ROOT = Path(__file__).resolve().parents[1]
# Compiled bytecode for the benchmark's processes lives here, outside the source tree, so that
# imports are timed as a deployed function runs them (compiled once), not as a first compile.
PYCACHE = ROOT / ".bench-cache" / "pycache"
DELAY = 0.020  # seconds added to every storage call
# Lambda gives a function one full vCPU at 1,769 MB, and a CPU share proportional to memory below.
ONE_VCPU_MB = 1769
# A Lambda arm64 core is taken as this much slower than the benchmark machine's (an assumption,
# docs/performance.md): only used to extrapolate, never in a key.
LAMBDA_CORE_SLOWDOWN = 1.5

GOALS = {
    "cold_init_ratio": 1.40,
    "critical_path_ratio": 1.25,
    "cpu_per_record_us": 250.0,
    "write_units_per_record": 1.0,
    "max_request_seconds": 10.0,
}
KEYS = (
    "cold_init_ratio",
    "critical_path_ratio",
    "naive_critical_path_ratio",
    "cpu_per_record_us",
    "cpu_ratio",
    "write_units_per_record",
    "storage_calls_per_batch",
    "records_per_batch",
    "max_request_seconds",
    "peak_rss_mb",
)


def lambda_memory_mb() -> int:
    """The API function's memory as the stack deploys it (cdk.json, ``apiMemoryMb``)."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    return int(context["apiMemoryMb"])


@functools.cache
def not_in_layer() -> str:
    return ",".join(layer.modules_not_in_layer(ROOT / "requirements" / "lambda.txt"))


@functools.cache
def storage_endpoint() -> str:
    """bench/dynamodb_server.py, started once for the run on the CPUs the function does not use
    (``pin_to_lambda_vcpus`` has run), stopped when the run ends."""
    mine = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    others = sorted(set(range(os.cpu_count() or 1)) - set(mine)) or mine
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.dynamodb_server", "--cpus", ",".join(map(str, others))],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if server.stdout is None:
        raise RuntimeError("the storage server has no stdout")
    port = int(server.stdout.readline())
    atexit.register(_stop, server)
    return f"http://127.0.0.1:{port}"


def _stop(server: subprocess.Popen[str]) -> None:
    if server.stdin is not None:
        server.stdin.close()
    server.wait(timeout=10)


def pydynox_installed() -> bool:
    return importlib.util.find_spec("pydynox") is not None


@functools.cache
def function_variables() -> frozenset[str]:
    """The API function's own settings variables: never inherited, so the defaults are measured."""
    from forward_orders.settings import Settings

    return frozenset(Settings.variables().values())


def environment(
    *, traced: bool, sampled: bool = True, layer_only: bool = True, storage: bool = True
) -> dict[str, str]:
    """The API function's environment in Lambda as the stack sets it, with fake credentials.
    ``traced``: active tracing, as deployed (a sampled trace unless told); otherwise tracing is
    switched off (POWERTOOLS_TRACE_DISABLED), still in a Lambda-like environment: outside Lambda
    the X-Ray SDK builds a sampling client of its own at import, which Lambda never does.
    ``layer_only``: only the Lambda layer's packages can be imported (bench/layer.py).
    ``storage``: DynamoDB is the run's bench/dynamodb_server.py (AWS_ENDPOINT_URL_DYNAMODB)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "POWERTOOLS_", "LAMBDA_", "_X_AMZN", "BENCH_", "PYDANTIC_"))
        and key not in {"PYTHONDONTWRITEBYTECODE", *function_variables()}
    }
    env.update(
        {
            "PYTHONPYCACHEPREFIX": str(PYCACHE),
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",  # not a secret: nothing leaves the process
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "ORDERS_TABLE_NAME": "bench-orders",
            "POWERTOOLS_SERVICE_NAME": "forward-orders",
            "POWERTOOLS_METRICS_NAMESPACE": "ForwardOrders",
            "LAMBDA_TASK_ROOT": str(ROOT / "functions"),
            "AWS_LAMBDA_FUNCTION_NAME": "forward-orders-api",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(lambda_memory_mb()),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
        }
    )
    if layer_only:
        env[layer.VARIABLE] = not_in_layer()
    if storage:
        env[ENDPOINT_VARIABLE] = storage_endpoint()
    if traced:
        env.update(
            {
                "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
                "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
                "_X_AMZN_TRACE_ID": "Root=1-00000000-000000000000000000000000;Sampled=1",
                "BENCH_SAMPLED": "1" if sampled else "0",
            }
        )
    else:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


# -- worker processes ----------------------------------------------------------------------------


class Worker:
    """A ``bench.worker`` process: the function (or a floor) imported once, one measurement per
    command."""

    def __init__(self, role: str, *, traced: bool, sampled: bool = True, layer_only: bool = True) -> None:
        read_fd, write_fd = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", role, str(write_fd)],
            cwd=ROOT,
            env=environment(traced=traced, sampled=sampled, layer_only=layer_only),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,  # the function's logs and metrics
            pass_fds=(write_fd,),
            text=True,
        )
        os.close(write_fd)
        self.replies = os.fdopen(read_fd)
        self._reply()

    def _reply(self) -> dict[str, Any]:
        line = self.replies.readline()
        if not line:
            raise RuntimeError(f"bench worker {self.process.args!r} died (exit {self.process.wait()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def send(self, command: str, **arguments: Any) -> dict[str, Any]:
        stdin = self.process.stdin
        if stdin is None:
            raise RuntimeError("bench worker has no stdin")
        stdin.write(json.dumps({"command": command, **arguments}) + "\n")
        stdin.flush()
        return self._reply()

    def request(self, body: bytes, delay: float, **arguments: Any) -> dict[str, Any]:
        return self.send("request", body=base64.b64encode(body).decode(), delay=delay, **arguments)

    def stop(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.write('{"command": "stop"}\n')
            self.process.stdin.close()
        self.process.wait(timeout=60)
        self.replies.close()


# -- cold init -----------------------------------------------------------------------------------

COLD_SNIPPETS = {
    # Everything the function builds before it can answer: its module (Powertools, the resolver,
    # the models and the settings, X-Ray when tracing) and the storage adapter with its client.
    "service": "import forward_orders.handler as h\nh.orders_table()",
    "floor": "import boto3\nboto3.client('dynamodb')",
}
# Reported beside them: pydynox's import and client (what a pydynox adapter would build instead).
PYDYNOX_SNIPPET = "import pydynox\npydynox.DynamoDBClient(max_retries=0)"


def cold_snippets() -> dict[str, str]:
    return COLD_SNIPPETS | ({"pydynox": PYDYNOX_SNIPPET} if pydynox_installed() else {})


def cold_run(name: str, *, traced: bool) -> dict[str, float]:
    code = (
        "import time, json, sys\n"
        "import bench.layer\n"
        "bench.layer.install_from_environment()\n"
        "_w, _c = time.perf_counter(), time.process_time()\n"
        f"{cold_snippets()[name]}\n"
        "_w, _c = time.perf_counter() - _w, time.process_time() - _c\n"
        "sys.__stderr__.write(json.dumps({'wall': _w, 'cpu': _c}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment(traced=traced, storage=False, layer_only=name != "pydynox" or in_layer("pydynox")),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stderr.strip().splitlines()[-1])
    return result


def cold_init(runs: int, *, traced: bool) -> dict[str, float]:
    """Median of ``runs`` fresh interpreters of each, alternating (and alternating which goes first)."""
    snippets = cold_snippets()
    for name in snippets:  # compile the bytecode once, as a deployed function has it
        cold_run(name, traced=traced)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in snippets}
    for run in range(runs):
        order = list(snippets) if run % 2 == 0 else list(reversed(snippets))
        for name in order:
            samples[name].append(cold_run(name, traced=traced))

    def median(name: str, key: str) -> float:
        return statistics.median(sample[key] for sample in samples[name])

    return {
        "service_ms": median("service", "wall") * 1000,
        "floor_ms": median("floor", "wall") * 1000,
        "ratio": median("service", "wall") / median("floor", "wall"),
        "cpu_ratio": median("service", "cpu") / median("floor", "cpu"),
        **({"pydynox_ms": median("pydynox", "wall") * 1000} if "pydynox" in samples else {}),
    }


# -- the benchmark -------------------------------------------------------------------------------


def lambda_estimate(cpu: float, records: int, concurrency: int, memory_mb: int) -> float:
    """Seconds the same request would take on Lambda with ``memory_mb``: its CPU (one thread's
    worth, the GIL) scaled by the CPU share and the slower core, or the storage round trips if
    those take longer."""
    cpu_share = min(1.0, memory_mb / ONE_VCPU_MB)
    round_trips = math.ceil(records / concurrency) * DELAY
    return max(round_trips, cpu * LAMBDA_CORE_SLOWDOWN / cpu_share)


def batch_measurements(body: bytes, quick: bool, progress: Progress) -> tuple[dict[str, Any], dict[str, Any]]:
    iterations = 1 if quick else 31
    path_iterations = 1 if quick else 15
    workers = {
        "api": Worker("api", traced=True),
        "api_unsampled": Worker("api", traced=True, sampled=False),
        "api_untraced": Worker("api", traced=False),
        "floor": Worker("floor", traced=False),
        "naive": Worker("naive", traced=False),
    }
    floors = ["floor"]
    if pydynox_installed():
        # The leanest well-kept client found (docs/performance.md); a dev dependency only, so its
        # floor process may import it although the layer does not ship it.
        workers["floor_pydynox"] = Worker("floor_pydynox", traced=False, layer_only=in_layer("pydynox"))
        floors.append("floor_pydynox")
        # The function with the pydynox prototype under its adapter (bench/pydynox_adapter.py).
        workers["api_pydynox"] = Worker("api_pydynox", traced=True, layer_only=in_layer("pydynox"))
        workers["api_pydynox_no_subsegments"] = Worker(
            "api_pydynox_no_subsegments", traced=True, layer_only=in_layer("pydynox")
        )
        workers["api_pydynox_untraced"] = Worker("api_pydynox", traced=False, layer_only=in_layer("pydynox"))
    api = workers["api"]
    variants = [
        name
        for name in ("api_pydynox", "api_pydynox_no_subsegments", "api_pydynox_untraced")
        if name in workers
    ]
    try:
        first = api.request(body, 0.0, capture=True)  # a new environment's first request
        for name in floors:
            workers[name].send("params", params=first["params"])
        for worker in workers.values():  # threads, connections, the clients' caches
            worker.request(body, 0.0)
        cpu: dict[str, list[float]] = {
            name: [] for name in ("api", "api_unsampled", "api_untraced", *variants, *floors)
        }
        progress(f"  CPU over loopback HTTP without delay, {iterations} alternating rounds")
        for round_ in range(iterations):
            names = list(cpu) if round_ % 2 == 0 else list(reversed(cpu))
            for name in names:
                cpu[name].append(workers[name].request(body, 0.0)["cpu"])
        progress(f"  wall time with {DELAY * 1000:g} ms per storage call, {path_iterations} rounds")
        paths = [api.request(body, DELAY)["wall"] for _ in range(path_iterations)]
        variant_paths = {
            name: [workers[name].request(body, DELAY)["wall"] for _ in range(path_iterations)]
            for name in variants
        }
        steady = [api.request(body, 0.0)["wall"] for _ in range(path_iterations)]
        naive = [workers["naive"].request(body, DELAY)["wall"] for _ in range(1 if quick else 3)]
        limits = api.send("limits")
    finally:
        for worker in workers.values():
            worker.stop()
    med = {name: statistics.median(values) for name, values in cpu.items()}
    floor = min(med[name] for name in floors)
    path = statistics.median(paths)
    records = workload.records_of(json.loads(body))
    results = {
        "storage_calls_per_batch": first["calls"],
        "critical_path_ratio": path / DELAY,
        "naive_critical_path_ratio": statistics.median(naive) / DELAY,
        "cpu_per_record_us": med["api"] / records * 1e6,
        "cpu_ratio": med["api"] / floor,
    }
    extras = {
        "critical_path_ms": path * 1000,
        # No implementation can beat its serial CPU (one GIL) plus one storage round trip.
        "floor_critical_path_ratio": (floor + DELAY) / DELAY,
        "handler_cpu_ms": med["api"] * 1000,
        "handler_cpu_unsampled_ms": med["api_unsampled"] * 1000,
        "handler_cpu_untraced_ms": med["api_untraced"] * 1000,
        "floor_cpu_ms": floor * 1000,
        "floor_client": FLOOR_CLIENTS[min(floors, key=med.__getitem__)],
        **{f"floor_{FLOOR_CLIENTS[name]}_cpu_ms": med[name] * 1000 for name in floors},
        "cpu_ratio_unsampled": med["api_unsampled"] / floor,
        "cpu_ratio_untraced": med["api_untraced"] / floor,
        "cpu_per_record_untraced_us": med["api_untraced"] / records * 1e6,
        "first_request_extra_ms": (first["wall"] - statistics.median(steady)) * 1000,
        "limits": limits,
    }
    for name in variants:  # the pydynox prototype, traced as deployed and untraced
        extras[f"{name}_cpu_per_record_us"] = med[name] / records * 1e6
        extras[f"{name}_critical_path_ratio"] = statistics.median(variant_paths[name]) / DELAY
    if variants:
        calls = first["calls"]
        extras["pydynox_subsegment_cpu_us"] = (
            (med["api_pydynox"] - med["api_pydynox_no_subsegments"]) / calls * 1e6
        )
    return results, extras


FLOOR_CLIENTS = {"floor": "botocore", "floor_pydynox": "pydynox"}


def in_layer(distribution: str) -> bool:
    lock = (ROOT / "requirements" / "lambda.txt").read_text()
    return any(line.split("==")[0].strip() == distribution for line in lock.splitlines())


def largest_requests(
    limits: dict[str, int], body: bytes, quick: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The largest requests the limits allow, each handled by a fresh process after one ordinary
    request (a warm function): the most records, and the most labels."""
    shapes = {
        "most_records": workload.most_records(
            limits["max_body_bytes"], limits["max_orders_per_request"], limits["max_items_per_order"]
        ),
        "most_labels": workload.richest_records(
            limits["max_body_bytes"],
            limits["max_orders_per_request"],
            limits["max_items_per_order"],
            limits["max_labels_per_item"],
        ),
    }
    extras: dict[str, Any] = {}
    worst: dict[str, Any] = {"wall": 0.0}
    rss = 0.0
    for name, request in shapes.items():
        data = workload.encode(request)
        runs = []
        for _ in range(1 if quick else 2):
            worker = Worker("api", traced=True)
            try:
                worker.request(body, 0.0)
                runs.append(worker.request(data, DELAY))
            finally:
                worker.stop()
        measured = max(runs, key=lambda run: run["wall"])
        rss = max([rss, *(run["rss_mb"] for run in runs)])
        extras[f"largest_{name}"] = {
            "records": workload.records_of(request),
            "bytes": len(data),
            "seconds": measured["wall"],
            "cpu_seconds": measured["cpu"],
        }
        if measured["wall"] > worst["wall"]:
            worst = {**measured, "name": name, "records": workload.records_of(request)}
    results = {"max_request_seconds": worst["wall"], "peak_rss_mb": rss}
    extras.update(max_request_shape=worst["name"], max_request_records=worst["records"],
                  max_request_cpu_seconds=worst["cpu"])  # fmt: skip
    return results, extras


def pin_to_lambda_vcpus(memory_mb: int) -> list[int]:
    """Run this process and every process it starts on as many CPUs as Lambda gives the function
    (one up to 1,769 MB). The function's threads then share one core as in Lambda, instead of
    handing the GIL between two cores, which costs a threaded process CPU time that the
    single-threaded floors do not pay (15 to 40 % here)."""
    if not hasattr(os, "sched_setaffinity"):
        return sorted(range(os.cpu_count() or 1))
    available = sorted(os.sched_getaffinity(0))
    wanted = max(1, math.ceil(memory_mb / ONE_VCPU_MB))
    cpus = available[-wanted:]
    os.sched_setaffinity(0, cpus)
    return cpus


def run(quick: bool, progress: Progress) -> dict[str, Any]:
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    memory = lambda_memory_mb()
    cpus = pin_to_lambda_vcpus(memory)
    results: dict[str, Any] = {}
    extras: dict[str, Any] = {}

    progress("cold init: fresh interpreters, the function's init against boto3 + one client")
    traced = cold_init(1 if quick else 15, traced=True)
    untraced = cold_init(1 if quick else 5, traced=False)
    results["cold_init_ratio"] = traced["ratio"]
    extras.update(
        cold_init_ms=traced["service_ms"],
        cold_init_floor_ms=traced["floor_ms"],
        cold_init_cpu_ratio=traced["cpu_ratio"],
        cold_init_ratio_untraced=untraced["ratio"],
    )
    if "pydynox_ms" in traced:
        extras["cold_init_pydynox_client_ms"] = traced["pydynox_ms"]

    body = workload.encode(workload.typical_batch())
    results["records_per_batch"] = workload.records_of(json.loads(body))
    extras.update(batch_bytes=len(body), batch_orders=len(json.loads(body)["orders"]))
    progress("10 KB batch: the function, its floor and the naive writer")
    batch_results, batch_extras = batch_measurements(body, quick, progress)
    results.update(batch_results)
    extras.update(batch_extras)

    progress("write units: the batch posted twice into moto's DynamoDB")
    capacity = json.loads(
        subprocess.run(
            [sys.executable, "-m", "bench.capacity"],
            cwd=ROOT,
            env=environment(traced=False, layer_only=False, storage=False),  # moto: not in the layer
            input=body,
            capture_output=True,
            check=True,
        ).stdout.splitlines()[-1]  # after the function's own log lines
    )
    results["write_units_per_record"] = capacity.pop("write_units_per_record")
    extras.update({f"capacity_{key}": value for key, value in capacity.items()})

    progress("the largest requests the default limits allow, each in a fresh process")
    largest_results, largest_extras = largest_requests(extras["limits"], body, quick)
    results.update(largest_results)
    extras.update(largest_extras)

    concurrency = _default_concurrency()
    extras.update(
        lambda_memory_mb=memory,
        peak_rss_goal_mb=memory / 2,
        write_concurrency=concurrency,
        lambda_core_slowdown_assumed=LAMBDA_CORE_SLOWDOWN,
        max_request_lambda_seconds_estimate=lambda_estimate(
            extras["max_request_cpu_seconds"], extras["max_request_records"], concurrency, memory
        ),
        batch_lambda_seconds_estimate=lambda_estimate(
            extras["handler_cpu_ms"] / 1000, results["records_per_batch"], concurrency, memory
        )
        + DELAY,
        delay_ms=DELAY * 1000,
        quick=quick,
        python=platform.python_version(),
        machine=f"{platform.machine()}, {os.cpu_count()} CPUs",
        cpus_used=cpus,
        # Other work on the machine moves the wall-time ratios by about 0.1 (docs/performance.md).
        load_average_before_after=[round(load_before, 1), round(os.getloadavg()[0], 1)],
        bench_seconds=time.perf_counter() - started,
    )
    return {key: results[key] for key in KEYS} | dict(sorted(extras.items()))


def _default_concurrency() -> int:
    from forward_orders.settings import Settings

    default: int = Settings.model_fields["write_concurrency"].default
    return default


class Progress:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.started:5.0f} s] {message}", file=sys.stderr, flush=True)


def table(results: dict[str, Any]) -> str:
    goals: dict[str, float] = {**GOALS, "peak_rss_mb": results["peak_rss_goal_mb"]}
    rows = [("key", "value", "goal", "")]
    for key in KEYS:
        value, goal = results[key], goals.get(key)
        verdict = "" if goal is None else ("ok" if value <= goal else "over")
        rows.append((key, f"{value:.2f}", "reported" if goal is None else f"<= {goal:g}", verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [" | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    r = results
    return "\n".join(
        [
            *lines,
            "",
            f"cold init: {r['cold_init_ms']:.0f} ms against {r['cold_init_floor_ms']:.0f} ms for "
            f"boto3 + client (CPU ratio {r['cold_init_cpu_ratio']:.2f}; "
            f"untraced {r['cold_init_ratio_untraced']:.2f})",
            f"10 KB batch ({r['batch_bytes']:,} bytes, {r['records_per_batch']} records): CPU "
            f"{r['handler_cpu_ms']:.1f} ms traced, {r['handler_cpu_unsampled_ms']:.1f} unsampled, "
            f"{r['handler_cpu_untraced_ms']:.1f} untraced; floor {r['floor_cpu_ms']:.1f} ms "
            f"({r['floor_client']}; botocore's {r['floor_botocore_cpu_ms']:.1f} ms)",
            f"critical path {r['critical_path_ms']:.1f} ms; no request can beat "
            f"{r['floor_critical_path_ratio']:.2f} x {r['delay_ms']:g} ms (floor CPU + one round trip)",
            *(
                [
                    f"pydynox prototype: {r['api_pydynox_cpu_per_record_us']:.0f} us "
                    f"of CPU per record traced, {r['api_pydynox_untraced_cpu_per_record_us']:.0f} untraced; "
                    f"critical path {r['api_pydynox_critical_path_ratio']:.2f}; its X-Ray subsegment "
                    f"{r['pydynox_subsegment_cpu_us']:.0f} us per call; import + client "
                    f"{r['cold_init_pydynox_client_ms']:.0f} ms"
                ]
                if "api_pydynox_cpu_per_record_us" in r
                else []
            ),
            f"largest request: {r['max_request_shape']} ({r['max_request_records']:,} records), "
            f"{r['max_request_cpu_seconds']:.2f} s CPU; on Lambda at {r['lambda_memory_mb']} MB about "
            f"{r['max_request_lambda_seconds_estimate']:.1f} s "
            f"(a core {r['lambda_core_slowdown_assumed']:g}x slower than this one)",
        ]
    )


def main() -> None:
    if sys.argv[1:2] == ["push"]:  # `python -m bench push`: the loader's throughput (bench/push.py)
        from bench import push

        push.main(sys.argv[2:])
        return
    if sys.argv[1:2] == ["cost"]:  # `python -m bench cost`: USD per million orders (bench/cost.py)
        from bench import cost

        cost.main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one iteration of each measurement (CI)")
    parser.add_argument("--output", type=Path, help="default: bench/results.json, or results-quick.json")
    options = parser.parse_args()
    output = options.output or ROOT / "bench" / ("results-quick.json" if options.quick else "results.json")
    progress = Progress()
    results = run(options.quick, progress)
    from bench import cost  # the cost model's keys join the benchmark's (bench/cost.py)

    costs = cost.run(options.quick, progress)
    output.write_text(json.dumps(results | costs, indent=2) + "\n")
    print(table(results))
    print(cost.table(costs))
    print(f"\nwrote {output}")
    if not options.quick and options.output is None:
        # The docs' cost section is generated from the committed results, so they move together.
        cost.write_docs(costs)
        print(f"wrote {cost.DOCS}")


if __name__ == "__main__":
    main()
