"""Shared by the in-process tests of the dev commands (``forward-orders keys``): running them, and
keeping them away from the developer's own local server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from forward_orders_cli.local_state import STATE_FILE_ENV
from forward_orders_cli.main import main


@pytest.fixture
def keep_boto3_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """Speed only: moto's mock otherwise rebuilds boto3's default session (and reloads botocore's
    models) for every test; the fake credentials and region are the same in every test."""
    from moto.core.config import default_user_config

    monkeypatch.setitem(default_user_config["core"], "reset_boto3_session", False)


@dataclass
class Run:
    status: int
    out: str
    err: str


@pytest.fixture
def own_state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never the developer's own state file (a `make run` may be going on in this checkout)."""
    path = tmp_path / "state" / "local.json"
    monkeypatch.setenv(STATE_FILE_ENV, str(path))
    return path


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``forward-orders`` dev commands in-process: their exit status, stdout and stderr."""

    def run(*argv: str) -> Run:
        try:
            status = main(list(argv))
        except SystemExit as exit_:  # argparse's usage errors
            status = int(exit_.code or 0)
        captured = capsys.readouterr()
        return Run(status, captured.out, captured.err)

    return run
