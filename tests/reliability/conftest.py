"""Fixtures of the reliability tests: one shared moto DynamoDB process, and the figures summary."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.processes import stop_process_group
from tests.reliability import figures
from tests.reliability.harness import MotoServer, start_moto


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = figures.render()
    if lines:
        mode = "soak" if figures.SOAK else "quick (make soak for the long runs)"
        terminalreporter.section(f"reliability figures, {mode}")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's DynamoDB in its own process (atomic calls, see atomic_moto.py), for the whole run."""
    # FORWARD_ORDERS_MOTO_LOCK=0 runs moto's calls unserialized (not atomic), to see the difference.
    server = start_moto(lock=os.environ.get("FORWARD_ORDERS_MOTO_LOCK", "1") != "0")
    try:
        yield server
    finally:
        stop_process_group(server.process)
