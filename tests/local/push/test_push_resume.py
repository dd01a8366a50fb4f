"""A push killed (SIGKILL) or interrupted (SIGINT) half-way and continued with --resume: every
order ends stored once in the state it was sent, the rejects file holds each reject once, and no
acknowledged batch is sent again."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.local.push.conftest import push_command, push_env, run_push, stored_orders
from tests.local.push.orders import write_feed
from tests.processes import ServeProcess, spawn, stop_process_group


def acknowledged(checkpoint: Path) -> int:
    try:
        return int(json.loads(checkpoint.read_text())["position"]["ordinal"])
    except (FileNotFoundError, ValueError, KeyError):
        return 0


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_a_push_stopped_half_way_resumes_to_the_same_end(
    server: ServeProcess, tmp_path: Path, how: signal.Signals
) -> None:
    prefix = f"RES{how.value}"
    feed = write_feed(
        tmp_path / "feed.jsonl", prefix, 600, invalid_every=53, updates_every=30, seed=how.value
    )
    checkpoint = tmp_path / "feed.jsonl.checkpoint.json"
    argv = [
        str(feed.path),
        "--url",
        server.url,
        "--max-orders-per-request",
        "20",
        "--concurrency",
        "3",
        "--rate",
        "0",
    ]
    process = spawn(
        push_command(*argv), push_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while acknowledged(checkpoint) < 100 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert process.poll() is None, "the push finished before it could be stopped"
        process.send_signal(how)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        stop_process_group(process)
    assert process.returncode == (-9 if how == signal.SIGKILL else 2), stderr
    if how == signal.SIGINT:
        summary = json.loads(stdout.splitlines()[-1])
        assert (summary["stopped"], summary["checkpoint"]) == ("interrupted", str(checkpoint))
        assert "stopping after the requests in flight" in stderr
    before = acknowledged(checkpoint)
    assert 100 <= before < feed.lines

    done = run_push(*argv, "--resume")

    assert done.returncode == 1, done.stderr
    totals = done.summary["totals"]
    assert totals["stored"] + totals["rejected"] == feed.lines
    assert totals["rejected"] == len(feed.invalid)
    # Only what came after the checkpoint was sent again: at most ceil(rest / 20) batches, plus
    # one more request for each batch that held a rejected order.
    rest = feed.lines - before
    assert done.summary["requests"] <= -(-rest // 20) + len(feed.invalid)
    rejects = [json.loads(line) for line in (tmp_path / "feed.jsonl.rejects.jsonl").read_text().splitlines()]
    assert [record["line"] for record in rejects] == feed.invalid_lines
    assert stored_orders(server, prefix + "-") == feed.valid
    assert not checkpoint.exists()
