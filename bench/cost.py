"""``python -m bench cost [--quick] [--write-docs]``: what a million orders cost, priced from counts
measured in a replay of a realistic feed (docs/deployment.md, "What it costs", is generated from
its results, and explains the model and its feed).

The replay (``bench/replay.py``, the feed in ``bench/feed.py``) runs twice in one run: on the code
as it is, and on the **baseline**, the code at ``BASELINE_COMMIT`` (the service before any cost
change), taken from git into ``.bench-cache/``, so the reduction is measured, not claimed. Each
run counts, per order of the feed: API Gateway requests; Lambda invocations, CPU time, AWS round
trips and log lines of each function; DynamoDB write and read units per table and per index;
EventBridge events in 64 KB chunks; the access log lines. This module prices those counts for
each deployment (``Deployment``: the stack's settings that change the bill) at three traffic
levels, with the prices of ``PRICES`` (one dated table) and the assumptions of ``ASSUMPTIONS``.

Writes the ``usd_per_million_orders*`` keys into bench/results.json (results-quick.json with
``--quick``), merged with the benchmark's own keys; ``python -m bench`` runs this too.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import layer

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".bench-cache"
PYCACHE = CACHE / "pycache"
RESULTS = ROOT / "bench" / "results.json"
QUICK_RESULTS = ROOT / "bench" / "results-quick.json"
DOCS = ROOT / "docs" / "deployment.md"

# The service before any cost change (issue 16): the baseline is that commit's code and stack.
BASELINE_COMMIT = "17a3a6c21067939bde1877d83a43bb6103581b9c"

# -- prices ----------------------------------------------------------------------------------------
# us-east-1 list prices (USD) as published on each service's pricing page on PRICES_AS_OF, on
# demand, no free tier, no savings plan. DynamoDB's on-demand prices are those after its
# 2024-11-01 reduction. Update the table and its date together.
PRICES_AS_OF = "2025-06-01"
PRICES = {
    "api_gateway_rest_request": 3.50 / 1e6,  # first 333 million a month
    "lambda_request": 0.20 / 1e6,
    "lambda_arm_gb_second": 0.0000133334,  # first 7.5 billion GB-s a month
    "snapstart_cache_gb_second": 0.0000015046,  # Python: per GB of memory, while a version is cached
    "snapstart_restore_gb": 0.0001397998,  # per GB of memory, per restore
    "dynamodb_write_request_unit": 0.625 / 1e6,
    "dynamodb_read_request_unit": 0.125 / 1e6,
    "dynamodb_wcu_hour": 0.00065,  # provisioned
    "dynamodb_rcu_hour": 0.00013,
    "dynamodb_storage_gb_month": 0.25,
    "dynamodb_pitr_gb_month": 0.20,
    "eventbridge_event_chunk": 1.00 / 1e6,  # custom events, per 64 KB chunk
    "cloudwatch_logs_ingested_gb": 0.50,  # Lambda (vended) and API Gateway logs, first 10 TB
    "xray_trace_recorded": 5.00 / 1e6,
    "cloudwatch_alarm_metric_month": 0.10,
    "cloudwatch_dashboard_month": 3.00,
    "cloudwatch_custom_metric_month": 0.30,
    "kms_key_month": 1.00,
}

# -- assumptions -----------------------------------------------------------------------------------
SECONDS_PER_MONTH = 30 * 24 * 3600
GB = 2**30
ASSUMPTIONS = {
    # Round trips a function waits for, as Lambda bills its wall time: in-region, typical.
    "dynamodb_call_ms": 5.0,
    "eventbridge_put_events_ms": 20.0,
    # One invocation in this many starts a new execution environment (a restore with SnapStart).
    "cold_start_share": 0.001,
    # The table's stream: shards (one per table partition; a new on-demand table has four) and
    # how often the event source mapping reads each one (Lambda: four times a second).
    "stream_shards": 4,
    "stream_polls_per_second": 4,
    # X-Ray's sampling of what API Gateway does not decide: Lambda samples an invocation that
    # comes with no trace header (the stream's) at one a second and 5 % of the rest.
    "lambda_reservoir_per_second": 1.0,
    "lambda_fixed_rate": 0.05,
    # What the stack holds whatever the traffic (docs/deployment.md, "What gets created").
    "alarm_metrics": 17,
    "dashboards": 1,
    "kms_keys": 1,
    # OrdersUpserted, ItemsUpserted, StaleRecords, ValidationFailures, AuthorizerDenials
    "custom_metrics": 5,
}
# A Lambda arm64 core against this machine's, and the memory of one full vCPU (bench/__main__.py).
LAMBDA_CORE_SLOWDOWN = 1.5
ONE_VCPU_MB = 1769

# Orders a month; the headline figure is the middle one.
LEVELS = {"1m": 1_000_000, "10m": 10_000_000, "100m": 100_000_000}
HEADLINE = "10m"

LINES = (
    "api_gateway",
    "lambda_requests",
    "lambda_duration",
    "cold_starts",
    "dynamodb_writes",
    "dynamodb_reads",
    "eventbridge",
    "cloudwatch_logs",
    "xray",
    "fixed_monthly",
)

# The deployed functions' names (as long as the CDK makes them: they are in every log line).
FUNCTION_NAMES = {
    "api": "ForwardOrders-ApiHandlerFunction3C9D7EAF-kq0P3xYbN2Lw",
    "authorizer": "ForwardOrders-ApiAuthorizerFunction8E0D1C3B-Hm4s9TzQ1vXe",
    "order_events": "ForwardOrders-OrderEventsPublisherFunction5F2A7B9C-r8Wn2LqZ0yUd",
}
PACKAGES = {"api": "forward_orders", "authorizer": "authorizer", "order_events": "order_events"}


# -- what the stack deploys ------------------------------------------------------------------------


@dataclass(frozen=True)
class Sampling:
    """An X-Ray sampling rule: this many traces a second, then this share of the rest."""

    reservoir_per_second: float
    fixed_rate: float

    def traces_per_second(self, rate: float) -> float:
        first = min(rate, self.reservoir_per_second)
        return first + self.fixed_rate * (rate - first)


@dataclass(frozen=True)
class Deployment:
    """The settings of the stack that change what a request costs."""

    memory_mb: dict[str, int]
    timeout_seconds: dict[str, float]
    snap_start: dict[str, bool]
    authorizer_cache_ttl_seconds: int = 0
    # Lambda's START and REPORT lines (system log level INFO) for every invocation.
    platform_log_lines: bool = True
    # API Gateway's sampling of API requests (the authorizer and the API function follow it).
    api_sampling: Sampling = field(default_factory=lambda: Sampling(1.0, 0.05))
    stream_batch_size: int = 100
    stream_batching_window_seconds: float = 0.0
    # "on_demand", or "provisioned" with auto scaling holding this utilisation.
    dynamodb_billing: str = "on_demand"
    dynamodb_utilisation: float = 0.7

    def with_context(self, **changes: Any) -> Deployment:
        return replace(self, **changes)


# The stack at BASELINE_COMMIT (its cdk.json and infra/): recorded here because that commit's
# infra/ has no module this one could read them from without the CDK.
BASELINE_DEPLOYMENT = Deployment(
    memory_mb={"api": 1769, "authorizer": 512, "order_events": 256},
    timeout_seconds={"api": 25, "authorizer": 5, "order_events": 60},
    snap_start={"api": True, "authorizer": True, "order_events": True},
)


def current_deployment(context: dict[str, Any] | None = None) -> Deployment:
    """The stack as this tree deploys it, from ``cdk.json`` (``context`` overrides keys)."""
    from infra import config as stack

    keys = json.loads((ROOT / "cdk.json").read_text())["context"]
    config = stack.ServiceConfig.from_context({**keys, **(context or {})})
    return Deployment(
        memory_mb={
            "api": config.api_memory_mb,
            "authorizer": config.authorizer_memory_mb,
            "order_events": stack.ORDER_EVENTS_MEMORY_MB,
        },
        timeout_seconds={
            "api": config.api_timeout_seconds,
            "authorizer": config.authorizer_timeout_seconds,
            "order_events": stack.ORDER_EVENTS_TIMEOUT_SECONDS,
        },
        snap_start={
            "api": config.snap_start,
            "authorizer": config.snap_start,
            "order_events": config.snap_start and stack.ORDER_EVENTS_SNAP_START,
        },
        authorizer_cache_ttl_seconds=config.authorizer_cache_ttl_seconds,
        platform_log_lines=config.system_log_level != "WARN",
        api_sampling=Sampling(config.tracing_reservoir_per_second, config.tracing_sampling_rate),
        stream_batch_size=stack.ORDER_EVENTS_BATCH_SIZE,
        stream_batching_window_seconds=config.order_events_batching_window_seconds,
        dynamodb_billing="provisioned" if config.orders_table_billing == "provisioned" else "on_demand",
        dynamodb_utilisation=config.orders_table_target_utilization_percent / 100,
    )


# -- running the replay ----------------------------------------------------------------------------


def baseline_tree() -> Path | None:
    """The baseline's functions/, cli/ and requirements/ from git, once; None without git history."""
    tree = CACHE / f"baseline-{BASELINE_COMMIT[:12]}"
    if (tree / "functions").is_dir():
        return tree
    git = shutil.which("git")
    if git is None:
        return None
    with tempfile.TemporaryDirectory(dir=CACHE if CACHE.is_dir() else None) as scratch:
        archive = Path(scratch) / "baseline.tar"
        done = subprocess.run(
            [git, "-C", str(ROOT), "archive", "-o", str(archive), BASELINE_COMMIT, "functions", "cli"],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            return None
        unpacked = Path(scratch) / "tree"
        with tarfile.open(archive) as tar:
            tar.extractall(unpacked, filter="data")
        CACHE.mkdir(exist_ok=True)
        shutil.move(str(unpacked), tree)
    return tree


def environment(tree: Path) -> dict[str, str]:
    """What every function's process gets, as Lambda sets it (the functions' own variables are
    added per function), with ``tree``'s code first on the path."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "POWERTOOLS_", "LAMBDA_", "_X_AMZN", "BENCH_", "PYDANTIC_"))
        and key not in {"PYTHONDONTWRITEBYTECODE", "PYTHONPATH"}
    }
    env.update(
        {
            "PYTHONPATH": f"{tree / 'functions'}:{tree / 'cli'}",
            "PYTHONPYCACHEPREFIX": str(PYCACHE),
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",  # not a secret: moto on loopback
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "LAMBDA_TASK_ROOT": str(tree / "functions"),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "AWS_LAMBDA_LOG_LEVEL": "INFO",  # the stack's applicationLogLevel
            "POWERTOOLS_SERVICE_NAME": "forward-orders",
            "POWERTOOLS_METRICS_NAMESPACE": "ForwardOrders",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            layer.VARIABLE: ",".join(layer.modules_not_in_layer(ROOT / "requirements" / "lambda.txt")),
        }
    )
    if os.environ.get("BENCH_ECHO_LOGS"):  # the functions' lines on stderr too, for debugging
        env["BENCH_ECHO_LOGS"] = "1"
    return env


def function_settings(deployment: Deployment) -> dict[str, Any]:
    from bench.replay import BUS_NAME, KEYS_TABLE, ORDERS_TABLE

    own = {
        "api": {"ORDERS_TABLE_NAME": ORDERS_TABLE},
        "authorizer": {"API_KEYS_TABLE_NAME": KEYS_TABLE},
        "order_events": {"EVENT_BUS_NAME": BUS_NAME, "EVENT_SOURCE": "forward-orders"},
    }
    settings = {}
    for name, package in PACKAGES.items():
        memory = deployment.memory_mb[name]
        settings[name] = {
            "package": package,
            "name": FUNCTION_NAMES[name],
            "memory_mb": memory,
            "timeout_seconds": deployment.timeout_seconds[name],
            "environment": {
                **own[name],
                "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAMES[name],
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
                "AWS_LAMBDA_FUNCTION_VERSION": "7",
            },
        }
    return settings


def replay(tree: Path, deployment: Deployment, quick: bool) -> dict[str, Any]:
    """Counts of the feed replayed on ``tree``'s code, deployed as ``deployment``."""
    settings = {
        "functions": function_settings(deployment),
        "environment": environment(tree),
        "stream": {
            "shards": ASSUMPTIONS["stream_shards"],
            "polls_per_second": ASSUMPTIONS["stream_polls_per_second"],
            "batching_window_seconds": deployment.stream_batching_window_seconds,
            "batch_size": deployment.stream_batch_size,
        },
        "levels": [
            {"name": name, "orders_per_second": orders / SECONDS_PER_MONTH} for name, orders in LEVELS.items()
        ],
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.replay",
            "--settings",
            json.dumps(settings),
            *(["--quick"] if quick else []),
        ],
        cwd=ROOT,
        env=environment(tree),
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the replay of {tree} failed (exit {done.returncode})")
    counts: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return counts


# -- the model -------------------------------------------------------------------------------------


def _billed_ms(invocation: dict[str, Any], memory_mb: int) -> int:
    """Lambda's billed duration: the CPU on a Lambda core at the memory's CPU share, plus the
    round trips it waited for; rounded up to the millisecond."""
    share = min(1.0, memory_mb / ONE_VCPU_MB)
    rounds = invocation["rounds"]
    waited = rounds.get("dynamodb", 0) * ASSUMPTIONS["dynamodb_call_ms"]
    waited += rounds.get("events", 0) * ASSUMPTIONS["eventbridge_put_events_ms"]
    return math.ceil(invocation["cpu"] * LAMBDA_CORE_SLOWDOWN / share * 1000 + waited)


def _platform_lines(invocation: dict[str, Any], function: str, memory_mb: int) -> list[int]:
    """The sizes of Lambda's own lines for an invocation at system log level INFO (JSON format):
    ``platform.start`` and ``platform.report``, as the Lambda documentation shows them."""
    request_id = "4d1c9a5e-0b7f-4a8e-9c35-2f6d8e1b7a90"
    tracing = {
        "spanId": "4f6a1c2b3d4e5f60",
        "type": "X-Amzn-Trace-Id",
        "value": "Root=1-6b0f41ac-34b4a4d9efb1418ca750eda8;Parent=2c8d0e6f4a1b3c5d;Sampled="
        + ("1" if invocation["sampled"] else "0")
        + ";Lineage=1:5f2a7b9c:0",
    }
    start = {
        "time": "2026-12-01T21:52:45.162Z",
        "type": "platform.start",
        "record": {
            "requestId": request_id,
            "functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAMES[function]}:live",
            "version": "7",
            "tracing": tracing,
        },
    }
    report = {
        "time": "2026-12-01T21:52:45.201Z",
        "type": "platform.report",
        "record": {
            "requestId": request_id,
            "metrics": {
                "durationMs": round(invocation["wall"] * 1000, 3),
                "billedDurationMs": _billed_ms(invocation, memory_mb),
                "memorySizeMB": memory_mb,
                "maxMemoryUsedMB": 98,
            },
            "tracing": tracing,
            "status": "success",
        },
    }
    return [len(json.dumps(line, separators=(",", ":"))) for line in (start, report)]


@dataclass
class Usage:
    """What the feed used, per order, at one traffic level."""

    requests: float = 0.0
    invocations: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    gb_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    write_units: dict[str, float] = field(default_factory=dict)
    read_units: dict[str, float] = field(default_factory=dict)
    event_chunks: float = 0.0
    log_bytes: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    traces: float = 0.0
    stored_bytes: dict[str, float] = field(default_factory=dict)


def _sampling_cpu_ratios(invocations: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    """Per function and kind of invocation, the CPU of a sampled invocation against an unsampled
    one, per unit of work (AWS calls and stream records): 1.0 when only one of them was seen."""
    work: dict[tuple[str, str, bool], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for invocation in invocations:
        units = 1 + sum(invocation["calls"].values()) + invocation["stream"].get("records", 0)
        total = work[(invocation["function"], invocation["kind"], invocation["sampled"])]
        total[0] += invocation["cpu"]
        total[1] += units
    ratios: dict[tuple[str, str], float] = defaultdict(lambda: 1.0)
    for (function, kind, sampled), (cpu, units) in work.items():
        other = work.get((function, kind, not sampled))
        if sampled and other and other[0] > 0 and cpu > 0:
            ratios[(function, kind)] = (cpu / units) / (other[0] / other[1])
    return ratios


def _sampled_share(sampling: Sampling, rate: float) -> float:
    return sampling.traces_per_second(rate) / rate if rate > 0 else 1.0


def usage(counts: dict[str, Any], deployment: Deployment, level: str) -> Usage:
    """Per order of the feed, at ``level`` orders a month."""
    orders = counts["feed"]["orders"]
    orders_per_second = LEVELS[level] / SECONDS_PER_MONTH
    used = Usage()
    requests = sum(counts["requests"].values())
    used.requests = requests / orders
    request_rate = used.requests * orders_per_second
    api_sampled = _sampled_share(deployment.api_sampling, request_rate)
    events_kind = f"events@{level}"
    invocations = [
        i for i in counts["invocations"] if not i["kind"].startswith("events@") or i["kind"] == events_kind
    ]
    events_rate = sum(1 for i in invocations if i["kind"] == events_kind) / orders * orders_per_second
    lambda_sampling = Sampling(ASSUMPTIONS["lambda_reservoir_per_second"], ASSUMPTIONS["lambda_fixed_rate"])
    events_sampled = _sampled_share(lambda_sampling, events_rate)
    authorizer_share = _authorizer_share(counts, deployment, orders_per_second)
    ratios = _sampling_cpu_ratios(invocations)
    for invocation in invocations:
        function = invocation["function"]
        share = events_sampled if function == "order_events" else api_sampled
        # Measured sampled or not (alternately): its CPU under this level's sampling.
        ratio = ratios[(function, invocation["kind"])]
        scale = share + (1 - share) / ratio if invocation["sampled"] else share * ratio + (1 - share)
        weight = (authorizer_share if function == "authorizer" else 1.0) / orders
        memory = deployment.memory_mb[function]
        billed = _billed_ms({**invocation, "cpu": invocation["cpu"] * scale}, memory)
        used.invocations[function] += weight
        used.gb_seconds[function] += weight * billed / 1000 * memory / 1024
        lines = invocation["log_lines"]
        if deployment.platform_log_lines:
            lines = [*lines, *_platform_lines(invocation, function, memory)]
        used.log_bytes[function] += weight * sum(lines)
        used.event_chunks += weight * invocation["stream"].get("chunks", 0)
    used.log_bytes["access_log"] = sum(counts["access_log_lines"]) / orders
    used.write_units = {target: units / orders for target, units in counts["write_units"].items()}
    reads = dict(counts["read_units"])
    reads["keys_table"] = reads.get("keys_table", 0.0) * authorizer_share
    used.read_units = {target: units / orders for target, units in reads.items()}
    traces = deployment.api_sampling.traces_per_second(request_rate) + lambda_sampling.traces_per_second(
        events_rate
    )
    used.traces = traces / orders_per_second
    used.stored_bytes = {target: size / orders for target, size in counts["stored_bytes"].items()}
    return used


def _authorizer_share(counts: dict[str, Any], deployment: Deployment, orders_per_second: float) -> float:
    """The share of requests the authorizer still runs for when API Gateway caches its results:
    one per key and TTL, at most (every request with the cache off)."""
    ttl = deployment.authorizer_cache_ttl_seconds
    if ttl <= 0:
        return 1.0
    by_key: dict[str, float] = defaultdict(float)
    for kind, requests in counts["requests"].items():
        by_key["operations" if kind == "lookup" else "clients"] += requests
    rate = sum(counts["requests"].values()) / counts["feed"]["orders"] * orders_per_second
    keys = {"clients": 3, "operations": 1}  # the feed's client keys and the returns desk's
    calls = sum(min(share / sum(by_key.values()) * rate, keys[key] / ttl) for key, share in by_key.items())
    return calls / rate


def fixed_monthly(deployment: Deployment) -> dict[str, float]:
    """USD a month whatever the traffic."""
    snapshots = sum(
        deployment.memory_mb[name] / 1024 * SECONDS_PER_MONTH * PRICES["snapstart_cache_gb_second"]
        for name, on in deployment.snap_start.items()
        if on
    )
    return {
        "snapstart_cache": snapshots,
        "alarms": ASSUMPTIONS["alarm_metrics"] * PRICES["cloudwatch_alarm_metric_month"],
        "dashboard": ASSUMPTIONS["dashboards"] * PRICES["cloudwatch_dashboard_month"],
        "kms_key": ASSUMPTIONS["kms_keys"] * PRICES["kms_key_month"],
        "custom_metrics": ASSUMPTIONS["custom_metrics"] * PRICES["cloudwatch_custom_metric_month"],
    }


def price(counts: dict[str, Any], deployment: Deployment, level: str) -> dict[str, float]:
    """USD per million orders, line by line, at ``level``."""
    used = usage(counts, deployment, level)
    million = 1e6
    init = counts["init"]
    cold = 0.0
    for function, invocations in used.invocations.items():
        memory_gb = deployment.memory_mb[function] / 1024
        if deployment.snap_start[function]:
            one = memory_gb * PRICES["snapstart_restore_gb"]
        else:  # the init phase is billed like the invocation
            share = min(1.0, deployment.memory_mb[function] / ONE_VCPU_MB)
            seconds = init[function]["init_cpu"] * LAMBDA_CORE_SLOWDOWN / share
            one = seconds * memory_gb * PRICES["lambda_arm_gb_second"]
        cold += invocations * ASSUMPTIONS["cold_start_share"] * one
    if deployment.dynamodb_billing == "provisioned":
        per_write = PRICES["dynamodb_wcu_hour"] / 3600 / deployment.dynamodb_utilisation
        per_read = PRICES["dynamodb_rcu_hour"] / 3600 / deployment.dynamodb_utilisation
    else:
        per_write, per_read = PRICES["dynamodb_write_request_unit"], PRICES["dynamodb_read_request_unit"]
    lines = {
        "api_gateway": used.requests * PRICES["api_gateway_rest_request"],
        "lambda_requests": sum(used.invocations.values()) * PRICES["lambda_request"],
        "lambda_duration": sum(used.gb_seconds.values()) * PRICES["lambda_arm_gb_second"],
        "cold_starts": cold,
        "dynamodb_writes": sum(used.write_units.values()) * per_write,
        "dynamodb_reads": sum(used.read_units.values()) * per_read,
        "eventbridge": used.event_chunks * PRICES["eventbridge_event_chunk"],
        "cloudwatch_logs": sum(used.log_bytes.values()) / GB * PRICES["cloudwatch_logs_ingested_gb"],
        "xray": used.traces * PRICES["xray_trace_recorded"],
        "fixed_monthly": sum(fixed_monthly(deployment).values()) / (LEVELS[level] / million) / million,
    }
    return {line: value * million for line, value in lines.items()}


def storage_per_month(counts: dict[str, Any]) -> float:
    """USD a month to keep a million orders: the table and its indexes, and PITR of the table."""
    stored = counts["stored_bytes"]
    per_order = {target: size / counts["feed"]["orders"] for target, size in stored.items()}
    total = sum(per_order.values()) * 1e6 / GB
    return (
        total * PRICES["dynamodb_storage_gb_month"]
        + per_order["table"] * 1e6 / GB * PRICES["dynamodb_pitr_gb_month"]
    )


def details(counts: dict[str, Any], deployment: Deployment) -> dict[str, Any]:
    """What the figures are made of, per order of the feed (the docs' per-order table)."""
    used = usage(counts, deployment, HEADLINE)
    cpu: dict[str, list[float]] = defaultdict(list)
    for invocation in counts["invocations"]:
        if not invocation["kind"].startswith("events@") or invocation["kind"] == f"events@{HEADLINE}":
            cpu[f"{invocation['function']} {invocation['kind']}".replace(f"@{HEADLINE}", "")].append(
                invocation["cpu"]
            )
    return {
        "feed": counts["feed"],
        "requests_per_order": used.requests,
        "requests": counts["requests"],
        "statuses": counts["statuses"],
        "lookup_mismatches": counts["lookup_mismatches"],
        "invocations_per_order": dict(used.invocations),
        "gb_seconds_per_order": dict(used.gb_seconds),
        "cpu_ms_median": {
            name: round(statistics.median(values) * 1000, 2) for name, values in sorted(cpu.items())
        },
        "write_units_per_order": used.write_units,
        "write_units_per_order_by_phase": {
            phase: units / counts["feed"]["orders"] for phase, units in counts["write_units_by_phase"].items()
        },
        "read_units_per_order": used.read_units,
        "event_chunks_per_order": used.event_chunks,
        "stream_records_per_order": counts["stream_records"] / counts["feed"]["orders"],
        "log_bytes_per_order": dict(used.log_bytes),
        "traces_per_order": used.traces,
        "stored_bytes_per_order": used.stored_bytes,
        "events_batches": counts["events"],
    }


# The context keys that turn the bill, each priced on the same counts (what changes only the
# replay, such as orderEventsBatchingWindowSeconds, is described in the docs, not priced).
VARIANTS: dict[str, dict[str, Any]] = {
    "ordersTableBilling=provisioned": {"ordersTableBilling": "provisioned"},
    "authorizerCacheTtlSeconds=300": {"authorizerCacheTtlSeconds": 300},
    "snapStart=false": {"snapStart": False},
    "tracingReservoirPerSecond=1": {"tracingReservoirPerSecond": 1},
    "tracingSamplingRate=1": {"tracingSamplingRate": 1.0},
    "systemLogLevel=INFO": {"systemLogLevel": "INFO"},
}


def price_total(counts: dict[str, Any], deployment: Deployment, level: str) -> float:
    return sum(price(counts, deployment, level).values())


def model(counts: dict[str, Any], deployment: Deployment) -> dict[str, Any]:
    levels = {level: price(counts, deployment, level) for level in LEVELS}
    return {
        "levels": {level: {**lines, "total": sum(lines.values())} for level, lines in levels.items()},
        "fixed_monthly": fixed_monthly(deployment),
        "storage_per_month": storage_per_month(counts),
        "deployment": asdict(deployment),
        "details": details(counts, deployment),
    }


# -- results ---------------------------------------------------------------------------------------


def run(quick: bool, progress: Any = print) -> dict[str, Any]:
    """Both replays, priced: the keys for bench/results.json."""
    if hasattr(os, "sched_setaffinity"):  # the benchmark pins itself to one CPU; moto needs another
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    deployment = current_deployment()
    progress("cost: the feed replayed on this code")
    counts = replay(ROOT, deployment, quick)
    current = model(counts, deployment)
    current["variants"] = {
        name: {level: price_total(counts, current_deployment(context), level) for level in LEVELS}
        for name, context in VARIANTS.items()
    }
    progress(f"cost: the feed replayed on the baseline ({BASELINE_COMMIT[:7]})")
    tree = baseline_tree()
    baseline: dict[str, Any] | None = None
    if tree is not None:
        baseline = model(replay(tree, BASELINE_DEPLOYMENT, quick), BASELINE_DEPLOYMENT)
    return results_keys(current, baseline, quick)


def results_keys(current: dict[str, Any], baseline: dict[str, Any] | None, quick: bool) -> dict[str, Any]:
    headline = current["levels"][HEADLINE]
    keys: dict[str, Any] = {"usd_per_million_orders": headline["total"]}
    keys.update({f"usd_per_million_orders_{line}": headline[line] for line in LINES})
    if baseline is not None:
        keys["usd_per_million_orders_baseline"] = baseline["levels"][HEADLINE]["total"]
        source = "measured in this run"
    else:  # no git history (an archive, a shallow clone): the committed figure, said so
        kept = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
        keys["usd_per_million_orders_baseline"] = kept.get("usd_per_million_orders_baseline")
        baseline = kept.get("cost_model", {}).get("baseline")
        source = "kept from the committed bench/results.json (no git history to rebuild it)"
    keys["usd_per_million_orders_ratio_to_baseline"] = (
        keys["usd_per_million_orders"] / keys["usd_per_million_orders_baseline"]
        if keys["usd_per_million_orders_baseline"]
        else None
    )
    keys["cost_model"] = {
        "headline_level": HEADLINE,
        "orders_per_month": LEVELS,
        "prices_as_of": PRICES_AS_OF,
        "prices": PRICES,
        "assumptions": {**ASSUMPTIONS, "lambda_core_slowdown": LAMBDA_CORE_SLOWDOWN},
        "baseline_commit": BASELINE_COMMIT,
        "baseline_source": source,
        "quick": quick,
        "current": current,
        "baseline": baseline,
    }
    return keys


def merge_into(path: Path, keys: dict[str, Any]) -> None:
    existing = json.loads(path.read_text()) if path.is_file() else {}
    existing.update(keys)
    path.write_text(json.dumps(existing, indent=2) + "\n")


def table(keys: dict[str, Any]) -> str:
    model_ = keys["cost_model"]
    rows = [("line", *(f"{level}/month" for level in LEVELS), "baseline " + HEADLINE)]
    baseline = model_["baseline"]
    for line in (*LINES, "total"):
        rows.append(
            (
                line,
                *(f"{model_['current']['levels'][level][line]:.2f}" for level in LEVELS),
                f"{baseline['levels'][HEADLINE][line]:.2f}" if baseline else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.rjust(widths[i]) if i else cell.ljust(widths[i]) for i, cell in enumerate(row))
        for row in rows
    ]
    ratio = keys["usd_per_million_orders_ratio_to_baseline"]
    lines.append(
        f"USD per million orders (us-east-1, prices of {model_['prices_as_of']}); at {HEADLINE}: "
        f"{keys['usd_per_million_orders']:.2f} against {keys['usd_per_million_orders_baseline'] or 0:.2f} "
        f"for the baseline" + (f" ({ratio:.0%})" if ratio else "")
    )
    return "\n".join(lines)


def write_docs(keys: dict[str, Any]) -> None:
    """docs/deployment.md's cost section, from ``keys`` (bench/cost_docs.py)."""
    from bench import cost_docs

    cost_docs.write(DOCS, cost_docs.section(keys, LINES, LEVELS, HEADLINE))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench cost", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller feed (CI)")
    parser.add_argument(
        "--write-docs", action="store_true", help="regenerate docs/deployment.md's cost section"
    )
    options = parser.parse_args(argv)
    keys = run(options.quick, progress=lambda message: print(message, file=sys.stderr, flush=True))
    output = QUICK_RESULTS if options.quick else RESULTS
    merge_into(output, keys)
    print(table(keys))
    print(f"wrote {output}")
    if options.write_docs:
        write_docs(keys)
        print(f"wrote {DOCS}")


if __name__ == "__main__":
    main(sys.argv[1:])
