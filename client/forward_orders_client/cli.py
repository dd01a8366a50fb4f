"""``forward-orders``: the client's commands (push, get, lookup) and every command another
installed package registers in the entry-point group ``forward_orders.commands``.

A registered command is an object with ``register(subparsers)``: it adds its parser and sets
``run``, a function of the parsed arguments that returns the exit status (the repository's dev
tooling registers ``serve``, ``keys`` and ``openapi`` this way).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from types import FrameType
from typing import Any

from forward_orders_client import __version__
from forward_orders_client.client import (
    AuthenticationError,
    ClientOptions,
    ForwardOrdersClient,
    ForwardOrdersError,
    RetryEvent,
    RetryPolicy,
)
from forward_orders_client.limits import BatchLimits
from forward_orders_client.progress import LineLog, ProgressBar
from forward_orders_client.push import (
    DEFAULT_CONCURRENCY,
    DEFAULT_RATE,
    EXIT_STOPPED,
    PushError,
    PushOptions,
    push,
)
from forward_orders_client.sources import FORMATS, UnreadableInput

ENTRY_POINT_GROUP = "forward_orders.commands"
KEY_VARIABLE = "FORWARD_ORDERS_KEY"
URL_VARIABLE = "FORWARD_ORDERS_URL"


BUILTIN_COMMANDS = ("push", "get", "lookup")


def build_parser(*, with_plugins: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="forward-orders",
        description="The Forward Orders API from the command line: load files of orders, read orders back.",
    )
    parser.add_argument("--version", action="version", version=f"forward-orders-client {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _register_push(subparsers)
    _register_get(subparsers)
    _register_lookup(subparsers)
    for entry in entry_points(group=ENTRY_POINT_GROUP) if with_plugins else ():
        if entry.name in subparsers.choices:
            continue
        try:
            entry.load().register(subparsers)
        except Exception as error:  # a broken plugin must not take the client's commands down
            print(f"forward-orders: command {entry.name!r} is not available: {error}", file=sys.stderr)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = next((argument for argument in arguments if not argument.startswith("-")), None)
    # The client's own commands do not pay for importing the others (the dev tools load boto3).
    args = build_parser(with_plugins=command not in BUILTIN_COMMANDS).parse_args(arguments)
    try:
        status: int = args.run(args)
    except BrokenPipeError:  # `forward-orders get ... | head`: the reader left, nothing to report
        sys.stderr.close()
        return 0
    return status


# -- shared options -------------------------------------------------------------------------------


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {value!r}")
    return int(value)


def _non_negative_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of at least 0, not {value!r}")
    return number


def _add_connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", default=os.environ.get(URL_VARIABLE), help=f"the API's base URL (default ${URL_VARIABLE})"
    )
    parser.add_argument(
        "--key",
        default=os.environ.get(KEY_VARIABLE),
        help=f"the client key (default ${KEY_VARIABLE}; prefer the variable: others can see a command line)",
    )
    _add_options(
        parser,
        ("--max-attempts", _positive, RetryPolicy.max_attempts, "attempts per request, the first included"),
        ("--max-retry-seconds", _non_negative_float, RetryPolicy.max_elapsed_seconds,
         "time one request may spend retrying"),
        ("--max-backoff", _non_negative_float, RetryPolicy.max_delay,
         "longest wait between two attempts, unless the server asks for more"),
        ("--timeout", _non_negative_float, ClientOptions.read_timeout, "seconds to wait for an answer"),
    )  # fmt: skip


def _add_options(parser: argparse.ArgumentParser, *options: tuple[str, Any, Any, str]) -> None:
    """Options of a value with a default: (flag, type, default, help), the default shown."""
    for flag, kind, default, text in options:
        parser.add_argument(flag, type=kind, default=default, help=f"{text} (default %(default)s)")


def _client_options(
    args: argparse.Namespace, *, rate: float | None = None, senders: int = 1
) -> ClientOptions:
    return ClientOptions(
        retry=RetryPolicy(
            max_attempts=args.max_attempts,
            max_elapsed_seconds=args.max_retry_seconds,
            max_delay=args.max_backoff,
            base_delay=min(RetryPolicy.base_delay, args.max_backoff),
        ),
        read_timeout=args.timeout,
        rate=rate,
        burst=senders,
        max_connections=max(senders, 1),
    )


def _connection(args: argparse.Namespace) -> tuple[str, str] | None:
    if not args.url:
        print(f"forward-orders: error: --url (or ${URL_VARIABLE}) is required", file=sys.stderr)
        return None
    if not args.key:
        print(f"forward-orders: error: --key (or ${KEY_VARIABLE}) is required", file=sys.stderr)
        return None
    return args.url, args.key


# -- push -----------------------------------------------------------------------------------------


def _register_push(subparsers: Any) -> None:
    defaults = BatchLimits()
    parser = subparsers.add_parser(
        "push",
        help="load files of orders (JSON Lines, JSON, CSV) into the API",
        description="Send every order of the files in batches within the API's limits, with per-order "
        "results, retries and a checkpoint. Refused orders go to a rejects file that can be fixed "
        "and pushed again. Exit status: 0 every order stored, 1 some rejected, 2 stopped early.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="input files, pushed in this order")
    _add_connection(parser)
    parser.add_argument(
        "--format", choices=FORMATS, help="input format (default: from each file's extension)"
    )
    parser.add_argument(
        "--rejects",
        type=Path,
        metavar="PATH",
        help="one rejects file for every input (default: <input>.rejects.jsonl beside each)",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        metavar="PATH",
        help="checkpoint file (default: <first input>.checkpoint.json)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoint of an interrupted push of the same files",
    )
    _add_options(
        parser,
        ("--concurrency", _positive, DEFAULT_CONCURRENCY, "batches in flight at once"),
        ("--rate", _non_negative_float, DEFAULT_RATE,
         "at most this many requests per second, 0 for no limit, inside the API's standard per-client tier"),
        ("--max-body-bytes", _positive, defaults.max_body_bytes, "bytes per request body"),
        ("--max-orders-per-request", _positive, defaults.max_orders_per_request, "orders per request"),
        ("--max-items-per-order", _positive, defaults.max_items_per_order, "items an order may have"),
        ("--max-labels-per-item", _positive, defaults.max_labels_per_item, "labels an item may have"),
    )  # fmt: skip
    parser.add_argument(
        "--no-partial-success",
        dest="partial_success",
        action="store_false",
        help="do not ask for per-order results (v1 all-or-nothing batches; refused ones are split)",
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "bar", "log", "none"),
        default="auto",
        help="a bar on a terminal, a line every --log-interval seconds otherwise (default auto)",
    )
    parser.add_argument("--log-interval", type=_non_negative_float, default=10.0, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    parser.set_defaults(run=run_push)


class _Interrupts:
    """First Ctrl-C (or SIGTERM): stop sending, finish what is in flight, write the checkpoint.
    Second: leave at once (the checkpoint on disk is always a consistent one)."""

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Interrupts:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *_: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._stop.is_set():
            print("\nforward-orders: stopped at once", file=sys.stderr, flush=True)
            os._exit(EXIT_STOPPED)
        print(
            "\nforward-orders: stopping after the requests in flight (again to stop at once)",
            file=sys.stderr,
            flush=True,
        )
        self._stop.set()


def run_push(args: argparse.Namespace) -> int:
    connection = _connection(args)
    if connection is None:
        return EXIT_STOPPED
    url, key = connection
    try:
        limits = BatchLimits(
            args.max_body_bytes,
            args.max_orders_per_request,
            args.max_items_per_order,
            args.max_labels_per_item,
        )
    except ValueError as error:
        print(f"forward-orders: error: {error}", file=sys.stderr)
        return EXIT_STOPPED
    options = PushOptions(
        inputs=[Path(name) for name in args.files],
        format=args.format,
        rejects=args.rejects,
        checkpoint=args.checkpoint,
        resume=args.resume,
        concurrency=args.concurrency,
        limits=limits,
        partial_success=args.partial_success,
    )
    client_options = _client_options(args, rate=args.rate or None, senders=args.concurrency)

    def client_factory(on_retry: Callable[[RetryEvent], None], stop: threading.Event) -> ForwardOrdersClient:
        return ForwardOrdersClient(url, key, options=client_options, stop=stop, on_retry=on_retry)

    mode = args.progress
    if mode == "auto":
        mode = "bar" if sys.stderr.isatty() else "log"
    reporter = (
        ProgressBar() if mode == "bar" else LineLog(interval=args.log_interval) if mode == "log" else None
    )
    checkpoint_path = options.checkpoint_path()
    if args.resume and not checkpoint_path.exists():
        print(
            f"forward-orders: no checkpoint at {checkpoint_path}; starting from the beginning",
            file=sys.stderr,
        )
    if not args.resume and checkpoint_path.exists():
        print(
            f"forward-orders: {checkpoint_path} is from an earlier push; starting again "
            "(--resume continues it)",
            file=sys.stderr,
        )
    stop = threading.Event()
    try:
        with _Interrupts(stop):
            if reporter is None:
                summary = push(options, client_factory, stop=stop)
            else:
                with reporter:
                    summary = push(options, client_factory, stop=stop, reporter=reporter)
    except (PushError, UnreadableInput, OSError) as error:
        print(f"forward-orders: error: {error}", file=sys.stderr)
        return EXIT_STOPPED
    if args.json:
        print(
            json.dumps(
                {
                    "exit_code": summary.exit_code,
                    "stopped": summary.stopped,
                    "totals": vars(summary.totals),
                    "requests": summary.requests,
                    "retries": summary.retries,
                    "elapsed_seconds": round(summary.elapsed, 3),
                    "rejects_files": summary.rejects_files,
                    "checkpoint": summary.checkpoint,
                }
            )
        )
    else:
        print(summary.describe())
    return summary.exit_code


# -- get, lookup ----------------------------------------------------------------------------------


def _register_get(subparsers: Any) -> None:
    parser = subparsers.add_parser("get", help="print one stored order as JSON (every page of its items)")
    parser.add_argument("identifier")
    _add_connection(parser)
    parser.set_defaults(run=lambda args: _read(args, lambda client: client.get_order(args.identifier)))


def _register_lookup(subparsers: Any) -> None:
    parser = subparsers.add_parser("lookup", help="print the items with a tracking number as JSON")
    parser.add_argument("tracking_number")
    _add_connection(parser)
    parser.set_defaults(run=lambda args: _read(args, lambda client: client.lookup(args.tracking_number)))


def _read(args: argparse.Namespace, call: Callable[[ForwardOrdersClient], Any]) -> int:
    """0 with the JSON on stdout, 1 when there is none (404), 2 when it could not ask."""
    connection = _connection(args)
    if connection is None:
        return EXIT_STOPPED
    try:
        with ForwardOrdersClient(*connection, options=_client_options(args)) as client:
            found = call(client)
    except (AuthenticationError, ForwardOrdersError) as error:
        print(f"forward-orders: error: {error}", file=sys.stderr)
        return EXIT_STOPPED
    if found is None:
        print("forward-orders: not found", file=sys.stderr)
        return 1
    print(json.dumps(found, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
