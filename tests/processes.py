"""Starting and stopping the `forward-orders` processes the end-to-end and reliability tests run."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any


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
