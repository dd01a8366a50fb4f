"""``forward-orders serve``: the API on http://127.0.0.1:3000 with its own DynamoDB.

Start-up, in this order: the DynamoDB (dynalite in a child process on a free loopback port, or
``--dynamodb-endpoint``), the environment the functions read (set before they are imported, since
they build their settings and clients on first use), the tables from ``common.tables``, the client
keys, the HTTP server, and the state file ``forward-orders keys`` reads. SIGINT (Ctrl-C) and SIGTERM
stop it all, exit status 0.

Each key is rate limited by its tier, the checkout's cdk.json ``usagePlans`` (throttling.py), unless
``--no-rate-limits``; ``--client-rate NAME=RATE/BURST`` gives one client's keys another rate.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from authorizer.settings import Settings as AuthorizerSettings
from common.api_keys import ApiKeyStore, InvalidClientId, KeyAlreadyExists, MeteringKey, validate_client_id
from common.api_routes import CONSOLE_PAGE_RESOURCE
from common.dynamodb_client import dynamodb_client
from common.usage_plans import UsagePlan, UsagePlans
from forward_orders.settings import Settings as ApiSettings
from forward_orders_cli.embedded_dynamodb import EmbeddedDynamoDB, ensure_tables
from forward_orders_cli.errors import USAGE, CliError
from forward_orders_cli.lambda_events import Stage
from forward_orders_cli.local_state import (
    EMBEDDED_DYNAMODB_CREDENTIAL,
    LocalState,
    live_state_at,
    remove_state,
    state_file_to_write,
    write_state,
)
from forward_orders_cli.metering import checkout_usage_plans
from forward_orders_cli.server import GatewayConfig, LocalApiGateway, serve
from forward_orders_cli.throttling import UsageMeter

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

logger = logging.getLogger("forward_orders_cli")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
DEFAULT_CLIENT = "local"
DEFAULT_REGION = "us-east-1"
ORDERS_TABLE_VARIABLE = ApiSettings.variable("orders_table_name")
API_KEYS_TABLE_VARIABLE = AuthorizerSettings.variable("api_keys_table_name")
DEFAULT_TABLES = {
    ORDERS_TABLE_VARIABLE: "forward-orders-local-orders",
    API_KEYS_TABLE_VARIABLE: "forward-orders-local-api-keys",
}
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": EMBEDDED_DYNAMODB_CREDENTIAL,
    "AWS_SECRET_ACCESS_KEY": EMBEDDED_DYNAMODB_CREDENTIAL,
}
EXAMPLE_ORDER = (
    '{"orders": [{"identifier": "1001", "postal_code": "02134", "items": '
    '[{"identifier": "1", "upc": "012345678905", "sku": "SKU-1", "quantity": 1, '
    '"tracking_number": "1Z999AA10123456784"}]}]}'
)


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    key: str
    key_id: str


@dataclass(frozen=True)
class LocalEnvironment:
    region: str
    orders_table: str
    api_keys_table: str


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the API locally (embedded DynamoDB, authorizer and API function in-process)",
        description="Run the API on a local HTTP server that turns each request into the API Gateway "
        "event AWS would send, runs the authorizer and then the API function, and answers with "
        "their response.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default %(default)s)")
    parser.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help="port to listen on; 0 picks a free one (default %(default)s)",
    )
    _per_client_option(
        parser,
        "--client",
        "clients",
        client_and_key,
        metavar="NAME=KEY",
        help_text="register a client with a known key (repeatable); without any, a key is issued for "
        f"a client named {DEFAULT_CLIENT!r}",
    )
    _per_client_option(
        parser,
        "--client-rate",
        "client_rates",
        client_rate,
        metavar="NAME=RATE/BURST",
        help_text="rate limit this client's keys to RATE requests/s with a burst of BURST, instead of "
        "their tier's (repeatable)",
    )
    parser.add_argument(
        "--no-rate-limits",
        dest="rate_limits",
        action="store_false",
        help="no per-key rate limits or quotas (load tests, benchmarks)",
    )
    parser.add_argument(
        "--dynamodb-endpoint",
        metavar="URL",
        help="use this DynamoDB (DynamoDB Local, or AWS) instead of the embedded one; tables are "
        "created there if missing",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also show the functions' own (JSON) log lines"
    )
    parser.set_defaults(run=run)


def _per_client_option(
    parser: Any, flag: str, dest: str, parse: Callable[[str], Any], *, metavar: str, help_text: str
) -> None:
    """A NAME=... option, repeatable: one value per client, collected in a list."""
    parser.add_argument(
        flag, dest=dest, action="append", default=[], type=parse, metavar=metavar, help=help_text
    )


def port_number(value: str) -> int:
    if not value.isdigit() or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 0 to 65535, not {value!r}")
    return int(value)


def client_and_key(value: str) -> tuple[str, str]:
    name, separator, key = value.partition("=")
    if not separator or not name or not key:
        raise argparse.ArgumentTypeError(f"expected NAME=KEY, got {value!r}")
    try:
        validate_client_id(name)
    except InvalidClientId as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return name, key


def client_rate(value: str) -> tuple[str, UsagePlan]:
    name, separator, limit = value.partition("=")
    rate, slash, burst = limit.partition("/")
    try:
        if not separator or not slash:
            raise ValueError
        validate_client_id(name)
        return name, UsagePlan(rate=float(rate), burst=int(burst))
    except InvalidClientId as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"expected NAME=RATE/BURST (requests per second > 0, a whole burst >= 1), got {value!r}"
        ) from error


# -- the command ----------------------------------------------------------------------------------


class _StopSignal:
    """SIGINT/SIGTERM: interrupt start-up, or end serving."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.serving = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested.set()
        if not self.serving:
            raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    _configure_logging()
    stop = _StopSignal()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    embedded: EmbeddedDynamoDB | None = None
    server: BaseWSGIServer | None = None
    state_path = state_file_to_write()
    try:
        if args.dynamodb_endpoint:
            endpoint = args.dynamodb_endpoint
        else:
            embedded = EmbeddedDynamoDB()
            endpoint = embedded.start()
        environment = configure_environment(endpoint, embedded=embedded is not None, verbose=args.verbose)
        plans = checkout_usage_plans()
        clients = _prepare_store(endpoint, environment, args.clients, plans)
        meter = UsageMeter(plans, dict(args.client_rates)) if args.rate_limits else None
        gateway = build_gateway(environment.region, meter)
        server = _bind(gateway, args.host, args.port)
        url = f"http://{_url_host(args.host)}:{server.server_port}"
        _claim_state_file(state_path, url, endpoint, embedded is not None, environment)
        print(banner(url, endpoint, embedded is not None, environment, clients, meter=meter), flush=True)

        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="http-server", daemon=True
        )
        stop.serving = True
        thread.start()
        while not stop.requested.wait(0.5):
            if not thread.is_alive():
                raise CliError("the HTTP server stopped unexpectedly")
        logger.info("stopping")
        server.shutdown()
        thread.join(timeout=5)
    except KeyboardInterrupt:
        logger.info("interrupted during start-up")
    finally:
        stop.serving = True  # a second signal during clean-up must not cut it short
        if server is not None:
            server.server_close()
        remove_state(state_path, os.getpid())
        if embedded is not None:
            embedded.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("Stopped.", file=sys.stderr, flush=True)
    return 0


def configure_environment(endpoint: str, *, embedded: bool, verbose: bool) -> LocalEnvironment:
    """Set what the functions (and boto3) read, before any of them is imported or called."""
    env = os.environ
    env["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    # Would make boto3 ignore the endpoint above and go to AWS.
    env.pop("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", None)
    if embedded:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            env.pop(name, None)
        env.update(LOCAL_CREDENTIALS)
    elif boto3.session.Session().get_credentials() is None:
        env.update(LOCAL_CREDENTIALS)  # DynamoDB Local wants some, any will do
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if not region:
        region = (None if embedded else boto3.session.Session().region_name) or DEFAULT_REGION
        env["AWS_DEFAULT_REGION"] = region
    for name, default in DEFAULT_TABLES.items():
        env.setdefault(name, default)
    env.setdefault("POWERTOOLS_SERVICE_NAME", "forward-orders")
    env.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ForwardOrdersLocal")
    # No X-Ray daemon here; metrics would be EMF JSON blobs on the console.
    env["POWERTOOLS_TRACE_DISABLED"] = "true"
    env.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    if verbose:
        env["POWERTOOLS_LOG_LEVEL"] = "INFO"
    else:
        env.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    return LocalEnvironment(
        region=region, orders_table=env[ORDERS_TABLE_VARIABLE], api_keys_table=env[API_KEYS_TABLE_VARIABLE]
    )


def build_gateway(region: str, meter: UsageMeter | None = None) -> LocalApiGateway:
    """The gateway with the real functions; imported only now that their environment is set."""
    try:
        # Each handler validates its settings as it loads, as a Lambda cold start does; checked
        # again in case this process imported them before (the settings are read once per process).
        from authorizer import handler as authorizer_function  # noqa: PLC0415
        from console.handler import lambda_handler as console_handler  # noqa: PLC0415
        from forward_orders.handler import lambda_handler as api_handler  # noqa: PLC0415

        ApiSettings.from_environment()
    except ValidationError as error:
        raise CliError(f"invalid API configuration in the environment:\n{error}") from error

    def authorizer_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        # Both functions log through one Powertools logger (one service name), which in Lambda
        # are two processes. Here the API function's correlation id would stay on it and show up
        # in the authorizer's next lines; in Lambda those lines have none.
        authorizer_function.logger.set_correlation_id(None)
        return authorizer_function.lambda_handler(event, context)

    return LocalApiGateway(
        authorizer=authorizer_handler,
        api=api_handler,
        console=console_handler,
        config=GatewayConfig(stage=Stage(region=region)),
        meter=meter,
    )


def register_clients(
    store: ApiKeyStore, clients: list[tuple[str, str]], plans: UsagePlans | None = None
) -> list[RegisteredClient]:
    """Register the given NAME=KEY pairs on the default tier (already registered for the same client
    is fine), or issue one key for the default client when none is given."""
    plan = (plans or UsagePlans()).default_plan
    if not clients:
        key, record = store.create(DEFAULT_CLIENT, plan=plan)
        return [RegisteredClient(DEFAULT_CLIENT, key, record.key_id)]
    registered = []
    for client_id, key in clients:
        existing = store.find_active(key)
        if existing is not None and existing.client_id == client_id:
            if existing.metering_key is None:  # registered before tiers (DynamoDB Local keeps it)
                store.set_plan(existing.key_id, existing.plan or plan, MeteringKey.unregistered())
            registered.append(RegisteredClient(client_id, key, existing.key_id))
            continue
        try:
            _, record = store.create(client_id, key, plan=plan)
        except KeyAlreadyExists as error:
            raise CliError(
                f"the key given for {client_id} is already registered to another client, or revoked"
            ) from error
        except ValueError as error:
            raise CliError(f"--client {client_id}=...: {error}", USAGE) from error
        registered.append(RegisteredClient(client_id, key, record.key_id))
    return registered


def banner(
    url: str,
    endpoint: str,
    embedded: bool,
    environment: LocalEnvironment,
    clients: list[RegisteredClient],
    *,
    meter: UsageMeter | None = None,
) -> str:
    storage = f"embedded dynalite at {endpoint} (in memory: gone when this stops)" if embedded else endpoint
    key = shlex.quote(f"Authorization: Bearer {clients[0].key}")
    width = max(len(client.client_id) for client in clients)
    if meter is None:
        limits = ["  limits    none (--no-rate-limits)"]
    else:
        limits = [
            f"  limits    per key, tier {meter.plans.default_plan} unless set: {meter.plans.describe()}",
            *(
                f"            client {name}: {rate.rate:g}/s burst {rate.burst} (--client-rate)"
                for name, rate in meter.client_rates.items()
            ),
        ]
    lines = [
        f"Forward Orders API running at {url}",
        f"  DynamoDB  {storage}",
        f"  tables    {environment.orders_table}, {environment.api_keys_table} ({environment.region})",
        *(
            f"  client    {client.client_id:<{width}}  key {client.key}  (key id {client.key_id})"
            for client in clients
        ),
        *limits,
        "  more keys `forward-orders keys create --client NAME [--plan TIER]` (then `keys list`, "
        "`keys set-plan`, `keys revoke`)",
        "  ops key   `forward-orders keys create --operations`: GET /tracking/{number} across clients",
        f"  console   {url}{CONSOLE_PAGE_RESOURCE}  the returns desk: scan parcels in a browser, with a key",
        "",
        "Try it:",
        f"  curl -i -X POST {url}/forward_orders \\",
        f"    -H {key} -H 'Content-Type: application/json' \\",
        f"    -d '{EXAMPLE_ORDER}'",
        f"  curl -i {url}/forward_orders/1001 -H {key}",
        f"  curl -i {url}/tracking/1Z999AA10123456784 -H {key}    # by tracking number",
        "",
        "Ctrl-C stops it.",
    ]
    return "\n".join(lines)


# -- steps ----------------------------------------------------------------------------------------


def _prepare_store(
    endpoint: str, environment: LocalEnvironment, clients: list[tuple[str, str]], plans: UsagePlans
) -> list[RegisteredClient]:
    client = dynamodb_client(endpoint_url=endpoint, region_name=environment.region)
    try:
        ensure_tables(
            client, orders_table=environment.orders_table, api_keys_table=environment.api_keys_table
        )
        return register_clients(ApiKeyStore(client, environment.api_keys_table), clients, plans)
    except (BotoCoreError, ClientError) as error:
        raise CliError(f"DynamoDB at {endpoint} failed: {error}") from error


def _bind(gateway: LocalApiGateway, host: str, port: int) -> BaseWSGIServer:
    try:
        return serve(gateway, host, port)
    except OSError as error:
        hint = " (pass --port to use another one)" if port else ""
        raise CliError(f"cannot listen on {host}:{port}: {error.strerror or error}{hint}") from error


def _claim_state_file(
    path: Path, url: str, endpoint: str, embedded: bool, environment: LocalEnvironment
) -> None:
    other = live_state_at(path)
    if other is not None and other.pid != os.getpid():
        logger.warning(
            "%s named another running server (pid %d, %s); `forward-orders keys` now uses this one",
            path,
            other.pid,
            other.url,
        )
    write_state(
        path,
        LocalState(
            pid=os.getpid(),
            url=url,
            dynamodb_endpoint=endpoint,
            embedded_dynamodb=embedded,
            region=environment.region,
            orders_table=environment.orders_table,
            api_keys_table=environment.api_keys_table,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        ),
    )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _configure_logging() -> None:
    """One readable line per event on stderr; the functions' own JSON lines go to stdout."""
    if logger.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
