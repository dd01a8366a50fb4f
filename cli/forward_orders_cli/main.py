"""``forward-orders``: the developer's command line.

Each command is a module with ``register(subparsers)``, which adds its parser and sets ``run`` (a
function of the parsed arguments returning the exit status). A new command is one more module in
``COMMANDS``. The ``forward-orders`` script itself is the client package's (client/): it finds
these commands through the ``forward_orders.commands`` entry points (``serve_command`` and the
others below, declared in pyproject.toml); ``python -m forward_orders_cli`` runs them alone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from forward_orders_cli import keys, openapi, serve
from forward_orders_cli.errors import CliError

COMMANDS = (serve, keys, openapi)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="forward-orders",
        description="Developer tools for the Forward Orders API: run it locally, manage client keys.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        DevCommand(command).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


class DevCommand:
    """One command of this package as another ``forward-orders`` front end registers it: its
    ``run`` reports a ``CliError`` as the command line's error and exit status."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def register(self, subparsers: Any) -> None:
        known = set(subparsers.choices)
        self._module.register(subparsers)
        for name in set(subparsers.choices) - known:
            _guard(subparsers.choices[name])


def _guard(parser: argparse.ArgumentParser) -> None:
    """Wrap the ``run`` of this parser and of every parser below it (``keys create``, ...)."""
    run = parser.get_default("run")
    if run is not None:
        parser.set_defaults(run=_reporting_errors(run))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in {id(child): child for child in action.choices.values()}.values():
                _guard(child)


def _reporting_errors(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def guarded(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except CliError as error:
            print(f"forward-orders: error: {error}", file=sys.stderr)
            return error.exit_code

    return guarded


serve_command = DevCommand(serve)
keys_command = DevCommand(keys)
openapi_command = DevCommand(openapi)
