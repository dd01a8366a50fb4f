"""``forward-orders keys create|list|set-plan|revoke``: API keys and their tiers, in the local store
or a deployed stack.

Two kinds of key (``common.api_keys``): a client key (``create --client NAME``) reads and writes that
client's orders; an operations key (``create --operations [--name NAME]``) may only look up tracking
numbers, across every client. Each key is on a tier (``--plan``, default: the tier of its kind), which
``set-plan`` changes (metering.py says what that does where).

Without ``--stack`` or ``--table`` the commands use the store of the running ``forward-orders serve``
(found through its state file, see ``local_state``). ``--stack NAME`` is a deployed stack: its API
keys table and its usage plans, from its outputs, with the standard AWS credentials and region
(``--region``). ``--table NAME`` is a bare table, metered by no API Gateway (DynamoDB Local behind
``serve --dynamodb-endpoint``; ``--dynamodb-endpoint`` for its endpoint).

Output is for both people and scripts: ``create`` writes only the key to stdout (so
``KEY=$(forward-orders keys create --client acme)`` works) and what it did to stderr; ``--json``
gives machine-readable output.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

from common.api_keys import (
    CLIENT_KEY,
    DEFAULT_OPERATIONS_NAME,
    KEY_ID_LENGTH,
    OPERATIONS_KEY,
    ApiKeyRecord,
    ApiKeyStore,
    InvalidClientId,
    generate_api_key,
    hash_api_key,
    validate_client_id,
    validate_key_name,
)
from common.dynamodb_client import dynamodb_client
from forward_orders_cli.errors import USAGE, CliError
from forward_orders_cli.local_state import EMBEDDED_DYNAMODB_CREDENTIAL, NoLocalServer, running_server
from forward_orders_cli.metering import (
    ApiGatewayMetering,
    LocalMetering,
    Metering,
    Tiers,
    checkout_usage_plans,
    owner,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "keys",
        help="issue, list, re-tier and revoke client API keys",
        description="Client API keys and their tiers, in the running local server's store (default) "
        "or in a deployed stack (--stack). Keys are stored only as hashes: a key is shown once, "
        "when it is issued.",
    )
    actions = parser.add_subparsers(dest="keys_action", metavar="ACTION", required=True)

    store = argparse.ArgumentParser(add_help=False)
    where = store.add_argument_group("where the keys are (default: the running local server's store)")
    place = where.add_mutually_exclusive_group()
    place.add_argument(
        "--stack",
        metavar="NAME",
        help="a deployed stack: its API keys table and the API Gateway usage plans of its tiers, "
        "with the standard AWS credentials and region",
    )
    place.add_argument(
        "--table",
        metavar="NAME",
        help="a bare API keys table, metered by no API Gateway (DynamoDB Local behind serve "
        "--dynamodb-endpoint); for a deployed stack use --stack",
    )
    where.add_argument("--region", help="AWS region of --stack or --table (default: the AWS configuration)")
    where.add_argument("--dynamodb-endpoint", metavar="URL", help="DynamoDB endpoint of --table")

    create = actions.add_parser(
        "create", parents=[store], help="issue a new client or operations key (printed once)"
    )
    owner = create.add_mutually_exclusive_group(required=True)
    owner.add_argument("--client", type=_client_id, metavar="NAME", help="a client key: the client (tenant)")
    owner.add_argument(
        "--operations",
        action="store_true",
        help="an operations key: read-only, may only look up tracking numbers, sees every client's matches",
    )
    create.add_argument(
        "--name",
        type=_key_name,
        metavar="NAME",
        help=f"with --operations: who holds the key (default {DEFAULT_OPERATIONS_NAME!r})",
    )
    create.add_argument(
        "--plan",
        metavar="TIER",
        help="its tier (default: defaultPlan for a client key, operationsPlan for an operations key)",
    )
    create.add_argument("--json", action="store_true", help="print the key and its record as JSON")
    create.set_defaults(run=create_key)

    listing = actions.add_parser("list", parents=[store], help="list keys (ids, clients, status; never keys)")
    listing.add_argument("--client", type=_client_id, metavar="NAME", help="only this client's keys")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(run=list_keys)

    set_plan = actions.add_parser(
        "set-plan", parents=[store], help="put a key on another tier (by its id, from `keys list`)"
    )
    set_plan.add_argument(
        "key_id", type=_key_id, metavar="KEY_ID", help="the key's id, as `keys list` shows it"
    )
    set_plan.add_argument(
        "--plan",
        metavar="TIER",
        help="the tier, e.g. bulk (default: the key's own, or its kind's default: gives a key issued "
        "before tiers its metering key)",
    )
    set_plan.set_defaults(run=set_key_plan)

    revoke = actions.add_parser("revoke", parents=[store], help="revoke a key by its id (from `keys list`)")
    revoke.add_argument(
        "key_id", type=_key_id, metavar="KEY_ID", help="the key's id, as `keys list` shows it"
    )
    revoke.set_defaults(run=revoke_key)


# -- commands -------------------------------------------------------------------------------------


def create_key(args: argparse.Namespace) -> int:
    if args.name is not None and not args.operations:
        raise CliError("--name names an operations key: use it with --operations", USAGE)
    location = store_location(args)
    kind = OPERATIONS_KEY if args.operations else CLIENT_KEY
    plan = location.metering.tiers.choose(args.plan, kind)
    key = generate_api_key()
    key_id = hash_api_key(key)[:KEY_ID_LENGTH]
    whose = owner(kind, (args.name or DEFAULT_OPERATIONS_NAME) if args.operations else args.client)
    with location.errors():
        # Metered first: the key works once its record exists, and is never usable unmetered.
        metering = location.metering.register(key_id, whose, plan)
        try:
            store = location.store()
            if args.operations:
                _, record = store.create_operations(
                    args.name or DEFAULT_OPERATIONS_NAME, key, plan=plan, metering=metering
                )
            else:
                _, record = store.create(args.client, key, plan=plan, metering=metering)
        except BaseException:
            location.metering.remove(metering.key_id, plan)
            raise
    if args.json:
        print(json.dumps({"key": key, **_record_json(record)}))
    else:
        print(key)
    print(
        f"Issued key {record.key_id} {_owner(record)} on tier {plan} in {location.description}. "
        "This is the only time the key is shown.",
        file=sys.stderr,
    )
    _note_bare_table(location)
    return 0


def list_keys(args: argparse.Namespace) -> int:
    location = store_location(args)
    with location.errors():
        records = location.store().list(args.client)
    if args.json:
        print(json.dumps([_record_json(record) for record in records], indent=2))
    elif records:
        print(_table(records))
    else:
        scope = f" for client {args.client}" if args.client else ""
        print(f"No keys{scope} in {location.description}.", file=sys.stderr)
    return 0


def set_key_plan(args: argparse.Namespace) -> int:
    location = store_location(args)
    with location.errors():
        store = location.store()
        record = store.find(args.key_id)
        if record is None:
            raise CliError(f"no key with id {args.key_id} in {location.description}")
        if not record.active:
            raise CliError(f"key {record.key_id} {_owner(record, 'of')} is revoked: issue a new one")
        plan = location.metering.tiers.choose(args.plan or record.plan, record.kind)
        metering = location.metering.move(record, plan)
        updated = store.set_plan(record.key_id, plan, metering)
        if updated is None:  # revoked meanwhile
            if metering is not None:
                location.metering.remove(metering.key_id, plan)
            raise CliError(f"key {record.key_id} was revoked meanwhile; its tier is unchanged")
    print(f"Key {record.key_id} {_owner(record, 'of')} is on tier {plan} (was {record.plan or 'none'}).")
    _note_bare_table(location)
    return 0


def revoke_key(args: argparse.Namespace) -> int:
    location = store_location(args)
    with location.errors():
        record = location.store().revoke(args.key_id)
        if record is None:
            raise CliError(f"no key with id {args.key_id} in {location.description}")
        # Refused by the authorizer from now on; then its API key goes, and the record forgets it
        # (so that running this again, after a failure here, finishes the job).
        if location.metering.remove(record.metering_key_id, record.plan):
            location.store().forget_metering_key_id(record.key_id)
    print(f"Key {record.key_id} {_owner(record, 'of')} is revoked (since {record.revoked_at}).")
    if location.bare_table and record.metering_key_id is not None:
        print(
            f"Its API Gateway API key {record.metering_key_id} is left in place: run this again with "
            "--stack to delete it (it grants nothing on its own).",
            file=sys.stderr,
        )
    return 0


def _note_bare_table(location: StoreLocation) -> None:
    if location.bare_table:
        print(
            f"Note: {location.description} is metered by no API Gateway: a deployed stack refuses this "
            "key (502) until `keys set-plan --stack NAME` registers it; use --stack for deployed keys.",
            file=sys.stderr,
        )


# -- where the keys are ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreLocation:
    table: str
    description: str
    metering: Metering
    endpoint: str | None = None
    region: str | None = None
    local_credentials: bool = False
    from_state_file: bool = False
    bare_table: bool = False  # --table: a table no API Gateway meters

    def client(self) -> DynamoDBClient:
        if not self.local_credentials:
            return dynamodb_client(region_name=self.region, endpoint_url=self.endpoint)
        # The embedded DynamoDB: the same throwaway credentials the server uses.
        session = boto3.session.Session(
            aws_access_key_id=EMBEDDED_DYNAMODB_CREDENTIAL,
            aws_secret_access_key=EMBEDDED_DYNAMODB_CREDENTIAL,
            region_name=self.region,
        )
        config = Config(
            retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=1, read_timeout=5
        )
        return session.client("dynamodb", endpoint_url=self.endpoint, config=config)

    def store(self) -> ApiKeyStore:
        return ApiKeyStore(self.client(), self.table)

    def errors(self) -> AbstractContextManager[None]:
        return _aws_errors(self.description, endpoint=self.endpoint, from_state_file=self.from_state_file)


def store_location(args: argparse.Namespace) -> StoreLocation:
    if args.stack:
        if args.dynamodb_endpoint:
            raise CliError("--dynamodb-endpoint applies to --table, not --stack", USAGE)
        with _aws_errors(f"stack {args.stack}"):
            metering = ApiGatewayMetering.of_stack(args.stack, args.region)
        return StoreLocation(
            table=metering.stack.keys_table,
            description=f"stack {args.stack} (table {metering.stack.keys_table})",
            metering=metering,
            region=args.region,
        )
    if args.table:
        return StoreLocation(
            table=args.table,
            description=f"table {args.table}",
            metering=LocalMetering(_checkout_tiers()),
            endpoint=args.dynamodb_endpoint,
            region=args.region,
            bare_table=True,
        )
    if args.dynamodb_endpoint or args.region:
        raise CliError(
            "--dynamodb-endpoint and --region apply to --stack or --table; pass one of them too", USAGE
        )
    try:
        state = running_server()
    except NoLocalServer as error:
        raise CliError(str(error)) from error
    return StoreLocation(
        table=state.api_keys_table,
        description=f"the local server's store ({state.url})",
        metering=LocalMetering(_checkout_tiers()),
        from_state_file=True,
        endpoint=state.dynamodb_endpoint,
        region=state.region,
        # As `serve` does: throwaway credentials for its embedded DynamoDB, and for another endpoint
        # when there are no others (DynamoDB Local accepts any).
        local_credentials=state.embedded_dynamodb or boto3.session.Session().get_credentials() is None,
    )


def _checkout_tiers() -> Tiers:
    return Tiers.of(checkout_usage_plans())


@contextmanager
def _aws_errors(
    description: str, *, endpoint: str | None = None, from_state_file: bool = False
) -> Iterator[None]:
    """DynamoDB and CloudFormation failures as one-line messages (API Gateway's: metering.py)."""
    try:
        yield
    except NoCredentialsError as error:
        raise CliError(
            "no AWS credentials found: set AWS_PROFILE (or the AWS_ACCESS_KEY_ID/... variables)"
        ) from error
    except NoRegionError as error:
        raise CliError("no AWS region configured: pass --region or set AWS_REGION") from error
    except EndpointConnectionError as error:
        where = endpoint or error.kwargs.get("endpoint_url") or "AWS"
        hint = " (has the local server stopped?)" if from_state_file else ""
        raise CliError(f"cannot reach {where}{hint}") from error
    except ClientError as error:
        response: Any = error.response
        code = response.get("Error", {}).get("Code", "")
        message = response["Error"].get("Message", "")
        if code == "ResourceNotFoundException":
            raise CliError(f"{description} does not exist (check its name and the region)") from error
        if code == "ValidationError" and "does not exist" in message:  # CloudFormation's unknown stack
            raise CliError(f"{description} does not exist (check --stack and the region)") from error
        service = error.operation_name
        raise CliError(f"AWS refused {service}: {code}: {message}") from error
    except BotoCoreError as error:
        raise CliError(f"AWS call failed: {error}") from error


# -- formatting -----------------------------------------------------------------------------------


def _owner(record: ApiKeyRecord, preposition: str = "for") -> str:
    if record.kind == OPERATIONS_KEY:
        return f"(operations, {record.name})"
    return f"{preposition} client {record.client_id}"


def _record_json(record: ApiKeyRecord) -> dict[str, Any]:
    """Never the metering key's value: nobody needs it but the authorizer."""
    return {
        "key_id": record.key_id,
        "kind": record.kind,
        "client_id": record.client_id,
        "name": record.name,
        "plan": record.plan,
        "metering_key_id": record.metering_key_id,
        "created_at": record.created_at,
        "revoked_at": record.revoked_at,
        "active": record.active,
    }


def _table(records: list[ApiKeyRecord]) -> str:
    """KEY ID, KIND, CLIENT (an operations key's name in parentheses), TIER, CREATED, STATUS."""
    rows = [("KEY ID", "KIND", "CLIENT", "TIER", "CREATED", "STATUS")]
    rows += [
        (
            record.key_id,
            record.kind,
            record.client_id if record.kind != OPERATIONS_KEY and record.client_id else f"({record.name})",
            record.plan or "-",
            record.created_at,
            "active" if record.active else f"revoked {record.revoked_at}",
        )
        for record in records
    ]
    columns = len(rows[0]) - 1  # the last column is not padded
    widths = [max(len(row[column]) for row in rows) for column in range(columns)]
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(row[:columns], widths, strict=True)), row[-1]])
        for row in rows
    )


def _client_id(value: str) -> str:
    try:
        return validate_client_id(value)
    except InvalidClientId as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _key_name(value: str) -> str:
    try:
        return validate_key_name(value)
    except InvalidClientId as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _key_id(value: str) -> str:
    if not re.fullmatch(rf"[0-9a-f]{{{KEY_ID_LENGTH}}}", value):
        raise argparse.ArgumentTypeError(
            f"a key id is the {KEY_ID_LENGTH} hex digits `keys list` shows, not the key itself"
        )
    return value
