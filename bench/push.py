"""``python -m bench push [--quick]``: `forward-orders push` throughput against the local server,
and which process is its bottleneck.

Three processes, so that each one's CPU can be read on its own: moto's DynamoDB server, `forward-orders
serve` pointed at it (the local gateway, the authorizer and the API function), and the push. For
each concurrency, a fresh set of orders is pushed and the run's wall time, orders per second, and the
CPU each process used (seconds of CPU per second of wall: 1.0 is one core, which a Python process
cannot exceed by much) are recorded. The bottleneck is the process nearest to a full core. A last run
uses the push's defaults (concurrency and rate). Writes bench/results-push.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-push-key-1"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def environment() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(
        {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1"}
    )
    return env


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback
            return
        except urllib.error.HTTPError:
            return  # answering
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {seconds} s")


def start_moto(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """moto's server on a free loopback port, answering; its own session, so killpg ends it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/", process)
    except RuntimeError:
        os.killpg(process.pid, 9)
        process.wait()
        raise
    return process, url


def write_orders(path: Path, prefix: str, count: int) -> None:
    with path.open("w") as handle:
        for i in range(count):
            order = {
                "identifier": f"{prefix}-{i}",
                "postal_code": "02134",
                "created_at": "2024-03-01",
                "items": [
                    {
                        "identifier": "1",
                        "upc": "012345678905",
                        "sku": f"SKU-{i}",
                        "quantity": 1,
                        "tracking_number": f"1Z{i:016d}",
                    }
                ],
            }
            handle.write(json.dumps(order) + "\n")


def push_once(url: str, directory: Path, prefix: str, count: int, extra: list[str]) -> dict[str, Any]:
    path = directory / f"{prefix}.jsonl"
    write_orders(path, prefix, count)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    serve_pid, moto_pid = PIDS["serve"], PIDS["moto"]
    serve_before, moto_before = cpu_seconds(serve_pid), cpu_seconds(moto_pid)
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "forward_orders_client",
            "push",
            str(path),
            "--url",
            url,
            "--key",
            KEY,
            "--json",
            "--progress",
            "none",
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"push failed ({done.returncode}): {done.stderr}")
    summary = json.loads(done.stdout)
    cpu = {
        "client": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "serve": cpu_seconds(serve_pid) - serve_before,
        "moto": cpu_seconds(moto_pid) - moto_before,
    }
    utilisation = {name: round(seconds / wall, 2) for name, seconds in cpu.items()}
    return {
        "orders": count,
        "records": 2 * count,
        "wall_seconds": round(wall, 2),
        "orders_per_second": round(count / wall, 1),
        "requests": summary["requests"],
        "retries": summary["retries"],
        "cpu_per_wall_second": utilisation,
        "bottleneck": max(utilisation, key=lambda name: utilisation[name]),
    }


PIDS: dict[str, int] = {}


def run(quick: bool) -> dict[str, Any]:
    count = 500 if quick else 3000
    concurrencies = (1, 4) if quick else (1, 2, 4, 8)
    env = environment()
    with tempfile.TemporaryDirectory(prefix="bench-push-") as scratch:
        directory = Path(scratch)
        serve_port = free_port()
        moto, moto_url = start_moto(env)
        serve = None
        try:
            serve = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "forward_orders_cli",
                    "serve",
                    "--port",
                    str(serve_port),
                    "--client",
                    f"bench={KEY}",
                    "--dynamodb-endpoint",
                    moto_url,
                    # The push's own speed, not a tier's: the runs with --rate 0 would be throttled.
                    "--no-rate-limits",
                ],
                env={**env, "FORWARD_ORDERS_STATE_FILE": str(directory / "state.json")},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            url = f"http://127.0.0.1:{serve_port}"
            wait_for(url + "/forward_orders/ready", serve)
            PIDS.update(serve=serve.pid, moto=moto.pid)
            push_once(url, directory, "warmup", 200, ["--rate", "0"])
            runs = {}
            for concurrency in concurrencies:
                runs[str(concurrency)] = push_once(
                    url,
                    directory,
                    f"c{concurrency}",
                    count,
                    ["--concurrency", str(concurrency), "--rate", "0"],
                )
                print(f"concurrency {concurrency}: {runs[str(concurrency)]}", flush=True)
            defaults = push_once(url, directory, "defaults", count, [])
            print(f"defaults: {defaults}", flush=True)
        finally:
            for process in (serve, moto):
                if process is not None and process.poll() is None:
                    os.killpg(process.pid, 9)
                    process.wait()
    return {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        },
        "orders_per_run": count,
        "by_concurrency": runs,
        "defaults": defaults,
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench push", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer orders and concurrencies")
    parser.add_argument("--output", type=Path, help="default: bench/results-push.json (quick: not written)")
    options = parser.parse_args(argv)
    results = run(options.quick)
    output = options.output or (None if options.quick else ROOT / "bench" / "results-push.json")
    if output is not None:
        output.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {output}")
