"""``forward-orders``: the developer's command line.

Each command is a module with ``register(subparsers)``, which adds its parser and sets ``run`` (a
function of the parsed arguments returning the exit status). A new command is one more module in
``COMMANDS``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

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
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except CliError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return error.exit_code
    return status
