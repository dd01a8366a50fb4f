"""``forward-orders keys create|list|revoke``: API keys, in the local store or a deployed table.

Two kinds of key (``common.api_keys``): a client key (``create --client NAME``) reads and writes that
client's orders; an operations key (``create --operations [--name NAME]``) may only look up tracking
numbers, across every client.

Without ``--table`` the commands use the store of the running ``forward-orders serve`` (found
through its state file, see ``local_state``). With ``--table NAME`` they use that DynamoDB table with
the standard AWS credentials and region (``--region``, ``--dynamodb-endpoint`` to override).

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
from contextlib import contextmanager
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
    DEFAULT_OPERATIONS_NAME,
    KEY_ID_LENGTH,
    OPERATIONS_KEY,
    ApiKeyRecord,
    ApiKeyStore,
    InvalidClientId,
    validate_client_id,
    validate_key_name,
)
from common.dynamodb_client import dynamodb_client
from forward_orders_cli.errors import USAGE, CliError
from forward_orders_cli.local_state import EMBEDDED_DYNAMODB_CREDENTIAL, NoLocalServer, running_server

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "keys",
        help="issue, list and revoke client API keys",
        description="Client API keys, in the running local server's store (default) or in a "
        "deployed API keys table (--table). Keys are stored only as hashes: a key is shown once, "
        "when it is issued.",
    )
    actions = parser.add_subparsers(dest="keys_action", metavar="ACTION", required=True)

    store = argparse.ArgumentParser(add_help=False)
    where = store.add_argument_group("where the keys are")
    where.add_argument(
        "--table",
        metavar="NAME",
        help="a deployed API keys table, with the standard AWS credentials and region "
        "(default: the running local server's store)",
    )
    where.add_argument("--region", help="AWS region of --table (default: the standard AWS configuration)")
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
    create.add_argument("--json", action="store_true", help="print the key and its record as JSON")
    create.set_defaults(run=create_key)

    listing = actions.add_parser("list", parents=[store], help="list keys (ids, clients, status; never keys)")
    listing.add_argument("--client", type=_client_id, metavar="NAME", help="only this client's keys")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(run=list_keys)

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
    with _storage_errors(location):
        if args.operations:
            key, record = location.store().create_operations(args.name or DEFAULT_OPERATIONS_NAME)
        else:
            key, record = location.store().create(args.client)
    if args.json:
        print(json.dumps({"key": key, **_record_json(record)}))
    else:
        print(key)
    print(
        f"Issued key {record.key_id} {_owner(record)} in {location.description}. "
        "This is the only time the key is shown.",
        file=sys.stderr,
    )
    return 0


def list_keys(args: argparse.Namespace) -> int:
    location = store_location(args)
    with _storage_errors(location):
        records = location.store().list(args.client)
    if args.json:
        print(json.dumps([_record_json(record) for record in records], indent=2))
    elif records:
        print(_table(records))
    else:
        scope = f" for client {args.client}" if args.client else ""
        print(f"No keys{scope} in {location.description}.", file=sys.stderr)
    return 0


def revoke_key(args: argparse.Namespace) -> int:
    location = store_location(args)
    with _storage_errors(location):
        record = location.store().revoke(args.key_id)
    if record is None:
        raise CliError(f"no key with id {args.key_id} in {location.description}")
    print(f"Key {record.key_id} {_owner(record, 'of')} is revoked (since {record.revoked_at}).")
    return 0


# -- where the keys are ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreLocation:
    table: str
    description: str
    endpoint: str | None = None
    region: str | None = None
    local_credentials: bool = False
    from_state_file: bool = False

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


def store_location(args: argparse.Namespace) -> StoreLocation:
    if args.table:
        return StoreLocation(
            table=args.table,
            description=f"table {args.table}",
            endpoint=args.dynamodb_endpoint,
            region=args.region,
        )
    if args.dynamodb_endpoint or args.region:
        raise CliError("--dynamodb-endpoint and --region apply to --table; pass --table NAME too", USAGE)
    try:
        state = running_server()
    except NoLocalServer as error:
        raise CliError(str(error)) from error
    return StoreLocation(
        table=state.api_keys_table,
        description=f"the local server's store ({state.url})",
        from_state_file=True,
        endpoint=state.dynamodb_endpoint,
        region=state.region,
        # As `serve` does: throwaway credentials for its embedded DynamoDB, and for another endpoint
        # when there are no others (DynamoDB Local accepts any).
        local_credentials=state.embedded_dynamodb or boto3.session.Session().get_credentials() is None,
    )


@contextmanager
def _storage_errors(location: StoreLocation) -> Iterator[None]:
    """DynamoDB failures as one-line messages."""
    try:
        yield
    except NoCredentialsError as error:
        raise CliError(
            "no AWS credentials found: set AWS_PROFILE (or the AWS_ACCESS_KEY_ID/... variables)"
        ) from error
    except NoRegionError as error:
        raise CliError("no AWS region configured: pass --region or set AWS_REGION") from error
    except EndpointConnectionError as error:
        where = location.endpoint or "DynamoDB"
        hint = " (has the local server stopped?)" if location.from_state_file else ""
        raise CliError(f"cannot reach {where}{hint}") from error
    except ClientError as error:
        response: Any = error.response
        code = response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise CliError(f"{location.description} does not exist (check --table and the region)") from error
        raise CliError(
            f"DynamoDB refused the request: {code}: {response['Error'].get('Message', '')}"
        ) from error
    except BotoCoreError as error:
        raise CliError(f"DynamoDB call failed: {error}") from error


# -- formatting -----------------------------------------------------------------------------------


def _owner(record: ApiKeyRecord, preposition: str = "for") -> str:
    if record.kind == OPERATIONS_KEY:
        return f"(operations, {record.name})"
    return f"{preposition} client {record.client_id}"


def _record_json(record: ApiKeyRecord) -> dict[str, Any]:
    return {
        "key_id": record.key_id,
        "kind": record.kind,
        "client_id": record.client_id,
        "name": record.name,
        "created_at": record.created_at,
        "revoked_at": record.revoked_at,
        "active": record.active,
    }


def _table(records: list[ApiKeyRecord]) -> str:
    """KEY ID, KIND, CLIENT (an operations key's name in parentheses), CREATED, STATUS."""
    rows = [("KEY ID", "KIND", "CLIENT", "CREATED", "STATUS")]
    rows += [
        (
            record.key_id,
            record.kind,
            record.client_id if record.kind != OPERATIONS_KEY and record.client_id else f"({record.name})",
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
