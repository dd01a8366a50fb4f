"""The `forward-orders` command line: the client's commands, the dev tools found through entry
points (a broken one does not take the others down), and the errors before any request."""

from __future__ import annotations

import io
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, cast

import pytest

from forward_orders_client import cli
from forward_orders_client.checkpoint import Totals
from forward_orders_client.progress import LineLog, ProgressBar
from forward_orders_client.push import Snapshot


def test_the_dev_tools_join_the_command_through_their_entry_points() -> None:
    commands: Any = cli.build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"push", "get", "lookup", "serve", "keys", "openapi"} <= set(commands)


def test_a_broken_plugin_is_reported_and_the_rest_still_works(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = EntryPoint("broken", "no_such_module_anywhere:command", cli.ENTRY_POINT_GROUP)
    monkeypatch.setattr(cli, "entry_points", lambda group: [broken])
    parser = cli.build_parser()
    assert "broken" in capsys.readouterr().err
    assert parser.parse_args(["push", "f.jsonl", "--url", "u", "--key", "k"]).command == "push"


def test_the_client_commands_do_not_load_the_plugins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(group: str) -> Any:
        raise AssertionError("plugins loaded")

    monkeypatch.setattr(cli, "entry_points", refuse)
    monkeypatch.delenv(cli.URL_VARIABLE, raising=False)
    assert cli.main(["push", str(tmp_path / "x.jsonl"), "--key", "k"]) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["push", "x.jsonl", "--key", "k"], "--url"),
        (["push", "x.jsonl", "--url", "http://127.0.0.1:9"], "--key"),
        (["push", "missing.jsonl", "--url", "http://127.0.0.1:9", "--key", "k"], "no such file"),
        (["push", "x.txt", "--url", "http://127.0.0.1:9", "--key", "k"], "--format"),
        (["get", "A", "--key", "k"], "--url"),
    ],
)
def test_what_cannot_start_exits_2_with_a_message(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(cli.URL_VARIABLE, raising=False)
    monkeypatch.delenv(cli.KEY_VARIABLE, raising=False)
    (tmp_path / "x.jsonl").write_text("")
    (tmp_path / "x.txt").write_text("")
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_the_key_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cli.KEY_VARIABLE, "from-env")
    args = cli.build_parser(with_plugins=False).parse_args(["push", "f.jsonl"])
    assert args.key == "from-env"


def snapshot(read: int) -> Snapshot:
    return Snapshot(
        bytes_read=read,
        total_bytes=1000,
        totals=Totals(orders=50, stored=45, rejected=5),
        retries=3,
        in_flight=2,
        elapsed=10.0,
    )


def test_the_progress_bar_shows_orders_rate_rejects_retries_and_eta() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar._progress.console.width = 160
    with bar:
        bar.update(snapshot(250))
        bar.update(snapshot(500))
    text = stream.getvalue()
    for part in ("50 orders", "5/s", "rejects 5", "retries 3", "50%", "ETA"):
        assert part in text, (part, text)


def test_the_plain_log_is_one_line_per_interval() -> None:
    stream = io.StringIO()
    log = LineLog(stream, interval=0)
    log.update(snapshot(500))
    line = stream.getvalue()
    assert line.count("\n") == 1
    assert "50 orders (5/s), 5 rejected, 3 retries, 50% read, ETA 0m10s" in line
    quiet = LineLog(io.StringIO(), interval=3600)
    quiet.update(snapshot(500))
    assert cast(io.StringIO, quiet._stream).getvalue() == ""
