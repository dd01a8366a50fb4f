"""``forward-orders keys create|list|revoke``: against a table (``--table``, moto's mock) and against
the local store a running ``serve`` advertises in its state file (the embedded dynalite)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.api_keys import ApiKeyStore
from forward_orders_cli import metering
from forward_orders_cli.embedded_dynamodb import EmbeddedDynamoDB, ensure_tables
from forward_orders_cli.local_state import STATE_FILE_ENV, LocalState, write_state
from tests.api_calls import API_KEYS_TABLE_NAME, REGION, lambda_context
from tests.processes import local_dynamodb

NO_SERVER = "forward-orders: error: no local server running: start `make run`, or pass --stack or --table\n"


pytestmark = pytest.mark.usefixtures("own_state_file", "keep_boto3_session")
# What `keys list --json` shows of a key (`create --json` adds the key itself); never its hash or
# its metering key's value.
RECORD_FIELDS = {
    "key_id",
    "kind",
    "client_id",
    "name",
    "plan",
    "metering_key_id",
    "created_at",
    "revoked_at",
    "active",
}


@pytest.fixture
def table(dynamodb: Any) -> list[str]:
    """Arguments selecting the moto-mocked API keys table."""
    return ["--table", API_KEYS_TABLE_NAME]


def authorize(key: str) -> dict[str, Any]:
    from authorizer.handler import lambda_handler

    event = {
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/forward_orders/1",
        "headers": {"Authorization": f"Bearer {key}"},
    }
    return lambda_handler(event, lambda_context())


def key_ids(cli: Any, *store: str) -> list[str]:
    return [record["key_id"] for record in json.loads(cli("keys", "list", "--json", *store).out)]


# -- create -----------------------------------------------------------------------------------------


def test_create_prints_only_the_key_on_stdout_and_what_it_did_on_stderr(cli: Any, table: list[str]) -> None:
    run = cli("keys", "create", "--client", "acme", *table)

    assert run.status == 0
    key = run.out.strip()
    assert run.out == key + "\n"
    assert key.startswith("fo_") and len(key) == 46
    (key_id,) = key_ids(cli, *table)
    assert f"Issued key {key_id} for client acme on tier standard in table {API_KEYS_TABLE_NAME}." in run.err
    # A bare table: no API Gateway meters it, which a deployed stack would refuse.
    assert "metered by no API Gateway" in run.err
    assert "only time the key is shown" in run.err
    assert key not in run.err
    # The key id (keys list's) is in the context for the access log line.
    context = {"kind": "client", "client_id": "acme", "plan": "standard", "key_id": key_id}
    assert authorize(key)["context"] == context


def test_the_key_is_shown_once_and_stored_only_as_a_hash(cli: Any, table: list[str], dynamodb: Any) -> None:
    key = cli("keys", "create", "--client", "acme", *table).out.strip()

    listed = cli("keys", "list", *table)
    listed_json = cli("keys", "list", "--json", *table)
    stored = dynamodb.scan(TableName=API_KEYS_TABLE_NAME)["Items"]

    assert key not in listed.out + listed.err + listed_json.out
    assert key not in json.dumps(stored)


def test_create_json_gives_the_key_and_its_record(cli: Any, table: list[str]) -> None:
    run = cli("keys", "create", "--client", "globex", "--json", *table)

    created = json.loads(run.out)
    assert set(created) == {"key", *RECORD_FIELDS}
    assert (created["client_id"], created["active"], created["revoked_at"]) == ("globex", True, None)
    assert (created["kind"], created["name"], created["plan"]) == ("client", None, "standard")
    assert created["metering_key_id"] is None  # no API Gateway behind a bare table
    assert authorize(created["key"])["principalId"] == "globex"
    assert key_ids(cli, *table) == [created["key_id"]]


def test_every_create_issues_a_different_key(cli: Any, table: list[str]) -> None:
    keys = {cli("keys", "create", "--client", "acme", *table).out for _ in range(3)}
    assert len(keys) == 3
    assert len(key_ids(cli, *table)) == 3


@pytest.mark.parametrize("name", ["", "bad name", "acme#1", "-acme", "x" * 65])
def test_an_invalid_client_name_is_a_usage_error(cli: Any, table: list[str], name: str) -> None:
    run = cli("keys", "create", f"--client={name}", *table)
    assert run.status == 2
    assert "client id is 1 to 64 letters" in run.err
    assert key_ids(cli, *table) == []


# -- list -------------------------------------------------------------------------------------------


def test_list_shows_a_table_oldest_first_and_filters_by_client(cli: Any, table: list[str]) -> None:
    for client in ("acme", "globex", "acme"):
        cli("keys", "create", "--client", client, *table)

    run = cli("keys", "list", *table)
    header, *rows = run.out.splitlines()
    assert header.split() == ["KEY", "ID", "KIND", "CLIENT", "TIER", "CREATED", "STATUS"]
    assert [row.split()[1:4] for row in rows] == [
        ["client", "acme", "standard"],
        ["client", "globex", "standard"],
        ["client", "acme", "standard"],
    ]
    assert all(row.split()[5] == "active" for row in rows)
    only_acme = cli("keys", "list", "--client", "acme", *table).out.splitlines()[1:]
    assert [row.split()[2] for row in only_acme] == ["acme", "acme"]


def test_list_json_has_every_field_and_never_a_key(cli: Any, table: list[str]) -> None:
    cli("keys", "create", "--client", "acme", *table)
    (record,) = json.loads(cli("keys", "list", "--json", *table).out)
    assert set(record) == RECORD_FIELDS
    assert len(record["key_id"]) == 12


def test_an_empty_list_says_so_on_stderr(cli: Any, table: list[str]) -> None:
    run = cli("keys", "list", "--client", "nobody", *table)
    assert (run.status, run.out) == (0, "")
    assert run.err == f"No keys for client nobody in table {API_KEYS_TABLE_NAME}.\n"
    assert json.loads(cli("keys", "list", "--json", *table).out) == []


# -- revoke -----------------------------------------------------------------------------------------


def test_a_revoked_key_is_denied_by_the_authorizer_and_listed_as_revoked(cli: Any, table: list[str]) -> None:
    from authorizer.handler import Unauthorized

    revoked = cli("keys", "create", "--client", "acme", *table).out.strip()
    kept = cli("keys", "create", "--client", "acme", *table).out.strip()
    revoked_id = key_ids(cli, *table)[0]
    assert authorize(revoked)["principalId"] == "acme"

    run = cli("keys", "revoke", revoked_id, *table)

    assert run.status == 0
    assert run.out.startswith(f"Key {revoked_id} of client acme is revoked (since 20")
    with pytest.raises(Unauthorized):
        authorize(revoked)
    assert authorize(kept)["principalId"] == "acme"
    statuses = {r["key_id"]: r["active"] for r in json.loads(cli("keys", "list", "--json", *table).out)}
    assert statuses[revoked_id] is False
    assert "revoked 20" in cli("keys", "list", *table).out


def test_revoking_twice_keeps_the_first_revocation_time(cli: Any, table: list[str]) -> None:
    cli("keys", "create", "--client", "acme", *table)
    (key_id,) = key_ids(cli, *table)
    first = cli("keys", "revoke", key_id, *table).out
    second = cli("keys", "revoke", key_id, *table)
    assert second.status == 0
    assert second.out == first


def test_revoking_an_unknown_key_id_fails(cli: Any, table: list[str]) -> None:
    run = cli("keys", "revoke", "0123456789ab", *table)
    assert run.status == 1
    assert run.err == f"forward-orders: error: no key with id 0123456789ab in table {API_KEYS_TABLE_NAME}\n"


@pytest.mark.parametrize("key_id", ["fo_abc", "0123", "0123456789AB", "0123456789abc"])
def test_revoke_wants_a_key_id_not_a_key(cli: Any, table: list[str], key_id: str) -> None:
    run = cli("keys", "revoke", key_id, *table)
    assert run.status == 2
    assert "a key id is the 12 hex digits `keys list` shows" in run.err


# -- errors -----------------------------------------------------------------------------------------


def test_a_missing_table_is_a_clear_error(cli: Any, dynamodb: Any) -> None:
    run = cli("keys", "list", "--table", "no-such-table")
    assert run.status == 1
    assert run.err == (
        "forward-orders: error: table no-such-table does not exist (check its name and the region)\n"
    )


def test_without_a_table_or_a_running_server_it_says_how_to_get_one(cli: Any) -> None:
    for argv in (["create", "--client", "acme"], ["list"], ["revoke", "0123456789ab"]):
        run = cli("keys", *argv)
        assert (run.status, run.out, run.err) == (1, "", NO_SERVER)


def test_a_state_file_left_by_a_dead_server_counts_as_no_server(cli: Any, own_state_file: Path) -> None:
    finished = subprocess.run(["true"], check=True)  # noqa: S607
    assert finished.returncode == 0
    dead = subprocess.Popen(["true"])  # noqa: S607
    dead.wait()
    write_state(own_state_file, local_state(dead.pid, "http://127.0.0.1:9", "keys"))

    assert cli("keys", "list").err == NO_SERVER


def test_endpoint_and_region_options_need_a_table(cli: Any) -> None:
    run = cli("keys", "list", "--dynamodb-endpoint", "http://127.0.0.1:9")
    assert run.status == 2
    assert "apply to --stack or --table; pass one of them too" in run.err


def test_an_unreachable_endpoint_is_a_clear_error(cli: Any) -> None:
    run = cli("keys", "list", "--table", "t", "--dynamodb-endpoint", "http://127.0.0.1:9")
    assert run.status == 1
    assert run.err.startswith("forward-orders: error: cannot reach http://127.0.0.1:9")


def test_a_command_is_required(cli: Any) -> None:
    assert cli().status == 2
    assert cli("keys").status == 2


# -- the local store ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedded() -> Iterator[EmbeddedDynamoDB]:
    with EmbeddedDynamoDB() as dynamodb:
        yield dynamodb


def local_state(pid: int, endpoint: str, api_keys_table: str) -> LocalState:
    return LocalState(
        pid=pid,
        url="http://127.0.0.1:3000",
        dynamodb_endpoint=endpoint,
        embedded_dynamodb=True,
        region=REGION,
        orders_table="orders",
        api_keys_table=api_keys_table,
        started_at="2025-01-01T00:00:00+00:00",
    )


def embedded_client(embedded: EmbeddedDynamoDB) -> Any:
    return local_dynamodb(embedded.endpoint, REGION)


@pytest.fixture
def local_store(
    embedded: EmbeddedDynamoDB, own_state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> ApiKeyStore:
    """A running local server as `keys` sees it: its state file, naming an embedded DynamoDB."""
    name = f"keys-{uuid.uuid4().hex[:8]}"
    client = embedded_client(embedded)
    ensure_tables(client, orders_table=f"orders-{name}", api_keys_table=name)
    write_state(own_state_file, local_state(os.getpid(), embedded.endpoint, name))
    # The authorizer of that server.
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", embedded.endpoint)
    monkeypatch.setenv("API_KEYS_TABLE_NAME", name)
    return ApiKeyStore(client, name)


def test_without_table_the_commands_use_the_running_local_servers_store(
    cli: Any, local_store: ApiKeyStore
) -> None:
    from authorizer.handler import Unauthorized

    created = cli("keys", "create", "--client", "initech")
    key = created.out.strip()
    assert created.status == 0, created.err
    assert "in the local server's store (http://127.0.0.1:3000)" in created.err
    (record,) = local_store.list()
    assert record.client_id == "initech"
    assert authorize(key)["principalId"] == "initech"

    listed = cli("keys", "list")
    assert record.key_id in listed.out

    assert cli("keys", "revoke", record.key_id).status == 0
    with pytest.raises(Unauthorized):
        authorize(key)


def test_keys_finds_the_state_file_from_a_subdirectory(
    cli: Any, embedded: EmbeddedDynamoDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"keys-{uuid.uuid4().hex[:8]}"
    client = embedded_client(embedded)
    ensure_tables(client, orders_table=f"orders-{name}", api_keys_table=name)
    write_state(
        tmp_path / ".forward-orders" / "local.json", local_state(os.getpid(), embedded.endpoint, name)
    )
    (tmp_path / "sub" / "dir").mkdir(parents=True)
    monkeypatch.delenv(STATE_FILE_ENV)
    monkeypatch.chdir(tmp_path / "sub" / "dir")

    assert cli("keys", "create", "--client", "acme").status == 0
    assert [r.client_id for r in ApiKeyStore(client, name).list()] == ["acme"]
    assert (tmp_path / ".forward-orders" / ".gitignore").read_text() == "*\n"


def test_a_local_server_that_went_away_is_a_clear_error(cli: Any, own_state_file: Path) -> None:
    # Its pid still runs (this process) but nothing answers at the endpoint any more.
    write_state(own_state_file, local_state(os.getpid(), "http://127.0.0.1:9", "keys"))
    run = cli("keys", "list")
    assert run.status == 1
    assert run.err == (
        "forward-orders: error: cannot reach http://127.0.0.1:9 (has the local server stopped?)\n"
    )


# -- operations keys -----------------------------------------------------------------------------------


def tracking_authorize(key: str) -> dict[str, Any]:
    from authorizer.handler import lambda_handler

    event = {
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/tracking/1Z999",
        "headers": {"x-api-key": key},
    }
    return lambda_handler(event, lambda_context())


def test_create_operations_issues_a_key_that_may_only_look_up_tracking_numbers(
    cli: Any, table: list[str]
) -> None:
    run = cli("keys", "create", "--operations", *table)

    assert run.status == 0, run.err
    key = run.out.strip()
    assert run.out == key + "\n" and key.startswith("fo_")
    (key_id,) = key_ids(cli, *table)
    assert (
        f"Issued key {key_id} (operations, operations) on tier operations in table {API_KEYS_TABLE_NAME}."
        in run.err
    )
    assert key not in run.err
    result = tracking_authorize(key)
    assert result["context"] == {
        "kind": "operations",
        "key_name": "operations",
        "plan": "operations",
        "key_id": key_id,
    }
    assert result["policyDocument"]["Statement"][0]["Resource"].endswith("/v1/GET/tracking/*")


def test_create_operations_with_a_name_and_json(cli: Any, table: list[str]) -> None:
    created = json.loads(cli("keys", "create", "--operations", "--name", "dock-7", "--json", *table).out)
    assert {name: created[name] for name in ("kind", "name", "client_id", "active")} == {
        "kind": "operations",
        "name": "dock-7",
        "client_id": None,
        "active": True,
    }
    assert tracking_authorize(created["key"])["principalId"] == "operations:dock-7"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--client", "acme", "--operations"], "not allowed with argument"),
        ([], "one of the arguments --client --operations is required"),
        (["--client", "acme", "--name", "x"], "--name names an operations key: use it with --operations"),
        (["--operations", "--name", "bad name"], "a key name is 1 to 64 letters"),
    ],
    ids=["both kinds", "no kind", "name for a client key", "invalid name"],
)
def test_create_wants_exactly_one_kind_and_a_name_only_for_operations(
    cli: Any, table: list[str], argv: list[str], message: str
) -> None:
    run = cli("keys", "create", *argv, *table)
    assert run.status == 2
    assert message in run.err
    assert key_ids(cli, *table) == []


def test_list_shows_each_keys_kind_and_revoke_names_an_operations_key(cli: Any, table: list[str]) -> None:
    cli("keys", "create", "--client", "acme", *table)
    cli("keys", "create", "--operations", "--name", "dock-7", *table)

    header, *rows = cli("keys", "list", *table).out.splitlines()
    assert header.split() == ["KEY", "ID", "KIND", "CLIENT", "TIER", "CREATED", "STATUS"]
    assert sorted(row.split()[1:4] for row in rows) == [
        ["client", "acme", "standard"],
        ["operations", "(dock-7)", "operations"],
    ]
    listed = json.loads(cli("keys", "list", "--json", *table).out)
    assert sorted((r["kind"], r["client_id"], r["name"]) for r in listed) == [
        ("client", "acme", None),
        ("operations", None, "dock-7"),
    ]
    # --client lists that client's keys; an operations key belongs to none.
    assert [r["kind"] for r in json.loads(cli("keys", "list", "--client", "acme", "--json", *table).out)] == [
        "client"
    ]

    [operations_id] = [r["key_id"] for r in listed if r["kind"] == "operations"]
    run = cli("keys", "revoke", operations_id, *table)
    assert run.status == 0
    assert run.out.startswith(f"Key {operations_id} (operations, dock-7) is revoked (since 20")


def test_create_operations_works_against_the_running_local_servers_store(
    cli: Any, local_store: ApiKeyStore
) -> None:
    created = cli("keys", "create", "--operations", "--name", "local-ops")
    assert created.status == 0, created.err
    assert "in the local server's store" in created.err
    (record,) = local_store.list()
    assert (record.kind, record.name, record.client_id) == ("operations", "local-ops", None)
    assert tracking_authorize(created.out.strip())["context"]["kind"] == "operations"


# -- tiers ------------------------------------------------------------------------------------------


def test_tiers_come_from_the_checkouts_cdk_json_without_a_stack(
    cli: Any, table: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(
        json.dumps(
            {
                "context": {
                    "usagePlans": {"basic": {"rate": 1, "burst": 2}, "ops": {"rate": 3, "burst": 3}},
                    "defaultPlan": "basic",
                    "operationsPlan": "ops",
                }
            }
        )
    )
    monkeypatch.setattr(metering, "CDK_JSON", cdk_json)
    client = json.loads(cli("keys", "create", "--client", "acme", "--json", *table).out)
    operations = json.loads(cli("keys", "create", "--operations", "--json", *table).out)
    assert (client["plan"], operations["plan"]) == ("basic", "ops")
    refused = cli("keys", "create", "--client", "acme", "--plan", "standard", *table)
    assert refused.status == 2
    assert "no tier 'standard': the tiers are basic, ops" in refused.err


def test_set_plan_changes_a_keys_tier_and_keeps_its_metering_key(cli: Any, table: list[str]) -> None:
    created = json.loads(cli("keys", "create", "--client", "acme", "--json", *table).out)
    before = authorize(created["key"])

    run = cli("keys", "set-plan", created["key_id"], "--plan", "bulk", *table)

    assert run.status == 0, run.err
    assert run.out == f"Key {created['key_id']} of client acme is on tier bulk (was standard).\n"
    after = authorize(created["key"])
    assert after["context"]["plan"] == "bulk"
    assert after["usageIdentifierKey"] == before["usageIdentifierKey"]
    assert cli("keys", "list", *table).out.splitlines()[1].split()[3] == "bulk"


def test_set_plan_wants_a_key_id_and_keeps_the_keys_tier_without_one(cli: Any, table: list[str]) -> None:
    assert "a key id is the 12 hex digits" in cli("keys", "set-plan", "fo_x", "--plan", "bulk", *table).err
    created = json.loads(cli("keys", "create", "--client", "acme", "--plan", "bulk", "--json", *table).out)
    run = cli("keys", "set-plan", created["key_id"], *table)
    assert run.out == f"Key {created['key_id']} of client acme is on tier bulk (was bulk).\n"
