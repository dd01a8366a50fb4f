"""Client API keys: issued once in plaintext, stored only as hashes, listed and revoked by id."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Any

import boto3
import pytest

from common.api_keys import (
    KEY_ID_LENGTH,
    KEY_PREFIX,
    MAX_KEY_LENGTH,
    ApiKeyStore,
    InvalidClientId,
    KeyAlreadyExists,
    MeteringKey,
    generate_api_key,
    hash_api_key,
    validate_client_id,
)
from tests.api_calls import API_KEYS_TABLE_NAME, REGION
from tests.factories import (
    put_old_key,
    scan,
    scan_text,
)

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


@pytest.fixture
def store(dynamodb: Any) -> ApiKeyStore:
    return ApiKeyStore(boto3.client("dynamodb", region_name=REGION), API_KEYS_TABLE_NAME)


# -- keys and hashes ---------------------------------------------------------------------------------


def test_a_generated_key_is_prefixed_random_url_safe_text() -> None:
    keys = {generate_api_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert re.fullmatch(r"fo_[A-Za-z0-9_-]{43}", key)
        assert key.startswith(KEY_PREFIX)


def test_the_hash_is_the_sha256_hex_digest() -> None:
    assert hash_api_key("fo_abc") == hashlib.sha256(b"fo_abc").hexdigest()
    assert hash_api_key("ключ") == hashlib.sha256("ключ".encode()).hexdigest()
    assert hash_api_key("a") != hash_api_key("A")


# -- client ids --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "client_id", ["acme", "a", "A", "0", "acme-east_1.eu", "ACME.Corp", "x" * 64, "9lives"]
)
def test_valid_client_ids(client_id: str) -> None:
    assert validate_client_id(client_id) == client_id


@pytest.mark.parametrize(
    "client_id",
    [
        "",
        " ",
        "-acme",
        ".acme",
        "_acme",
        "acme#east",  # "#" separates the client from the order in every stored key
        "#",
        "acme east",
        " acme",
        "acme ",
        "acme\n",
        "acme/east",
        "acme:east",
        "acmé",
        "x" * 65,
        "acme\x00",
    ],
    ids=repr,
)
def test_invalid_client_ids(client_id: str) -> None:
    with pytest.raises(InvalidClientId):
        validate_client_id(client_id)


@pytest.mark.parametrize("client_id", ["", "acme#east", "x" * 65, "a b"])
def test_no_key_is_created_for_an_invalid_client_id(
    store: ApiKeyStore, dynamodb: Any, client_id: str
) -> None:
    with pytest.raises(InvalidClientId):
        store.create(client_id)
    assert scan(dynamodb, API_KEYS_TABLE_NAME) == []


# -- create ------------------------------------------------------------------------------------------


def test_create_returns_the_plaintext_once_and_stores_only_its_hash(
    store: ApiKeyStore, dynamodb: Any
) -> None:
    key, record = store.create("acme")
    assert key.startswith(KEY_PREFIX)
    assert record.client_id == "acme"
    assert record.key_id == hash_api_key(key)[:KEY_ID_LENGTH]
    assert re.fullmatch(r"[0-9a-f]{12}", record.key_id)
    assert TIMESTAMP.fullmatch(record.created_at)
    assert record.revoked_at is None
    assert record.active
    stored = scan(dynamodb, API_KEYS_TABLE_NAME)
    assert len(stored) == 1
    assert stored[0]["key_hash"] == {"S": hash_api_key(key)}
    text = scan_text(dynamodb)
    assert key not in text
    assert key[len(KEY_PREFIX) :] not in text
    assert key[len(KEY_PREFIX) : len(KEY_PREFIX) + 16] not in text


def test_a_given_key_is_registered_and_never_stored_in_plaintext(store: ApiKeyStore, dynamodb: Any) -> None:
    keys = ["my-known-local-key", "another one with spaces", "k" * MAX_KEY_LENGTH, "ключ-🔑"]
    for n, key in enumerate(keys):
        plaintext, record = store.create(f"client-{n}", key)
        assert plaintext == key
        assert store.find_active(key) == record
    text = scan_text(dynamodb)
    for key in keys:
        assert key not in text
        assert key.encode("unicode_escape").decode() not in text
        assert hash_api_key(key) in text


def test_a_duplicate_key_is_rejected_and_the_first_registration_kept(store: ApiKeyStore) -> None:
    _, first = store.create("acme", "shared-secret")
    with pytest.raises(KeyAlreadyExists):
        store.create("acme", "shared-secret")
    with pytest.raises(KeyAlreadyExists):
        store.create("globex", "shared-secret")
    found = store.find_active("shared-secret")
    assert found == first
    assert found is not None
    assert found.client_id == "acme"
    assert len(store.list()) == 1


@pytest.mark.parametrize("key", ["", "k" * (MAX_KEY_LENGTH + 1)])
def test_an_empty_or_oversize_key_is_not_registered(store: ApiKeyStore, dynamodb: Any, key: str) -> None:
    with pytest.raises(ValueError, match="a key is 1 to"):
        store.create("acme", key)
    assert scan(dynamodb, API_KEYS_TABLE_NAME) == []


def test_a_client_may_hold_several_keys(store: ApiKeyStore) -> None:
    first, _ = store.create("acme")
    second, _ = store.create("acme")
    assert first != second
    assert {r.client_id for r in (store.find_active(first), store.find_active(second)) if r} == {"acme"}


# -- find_active -------------------------------------------------------------------------------------


def test_find_active(store: ApiKeyStore) -> None:
    key, record = store.create("acme")
    assert store.find_active(key) == record
    assert store.find_active(key + "x") is None
    assert store.find_active("") is None
    assert store.find_active("k" * (MAX_KEY_LENGTH + 1)) is None
    store.revoke(record.key_id)
    assert store.find_active(key) is None


# -- list --------------------------------------------------------------------------------------------


def test_list_shows_every_key_oldest_first_without_plaintext(
    store: ApiKeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from common import api_keys

    times = iter(f"2025-01-0{n}T00:00:00.000Z" for n in range(1, 10))
    monkeypatch.setattr(api_keys, "_now", lambda: next(times))
    created = [store.create(client)[1] for client in ("globex", "acme", "acme", "initech")]
    revoked = store.revoke(created[1].key_id)
    assert revoked is not None
    listed = store.list()
    assert [r.key_id for r in listed] == [r.key_id for r in created]
    assert [r.client_id for r in listed] == ["globex", "acme", "acme", "initech"]
    assert listed[1].revoked_at == revoked.revoked_at == "2025-01-05T00:00:00.000Z"
    assert not listed[1].active
    assert all(r.active for r in (listed[0], listed[2], listed[3]))


def test_list_of_one_client(store: ApiKeyStore) -> None:
    store.create("acme")
    store.create("globex")
    store.create("acme")
    assert [r.client_id for r in store.list("acme")] == ["acme", "acme"]
    assert store.list("nobody") == []
    assert len(store.list()) == 3


def test_list_of_an_empty_table(store: ApiKeyStore) -> None:
    assert store.list() == []


# -- revoke ------------------------------------------------------------------------------------------


def test_revoke_marks_only_that_key_and_keeps_it_for_audit(store: ApiKeyStore, dynamodb: Any) -> None:
    key, record = store.create("acme")
    other, _ = store.create("acme")
    revoked = store.revoke(record.key_id)
    assert revoked is not None
    assert revoked.key_id == record.key_id
    assert revoked.client_id == "acme"
    assert revoked.created_at == record.created_at
    assert revoked.revoked_at is not None
    assert TIMESTAMP.fullmatch(revoked.revoked_at)
    assert store.find_active(key) is None
    assert store.find_active(other) is not None
    assert len(scan(dynamodb, API_KEYS_TABLE_NAME)) == 2


def test_revoking_twice_keeps_the_first_revocation_time(
    store: ApiKeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from common import api_keys

    _, record = store.create("acme")
    monkeypatch.setattr(api_keys, "_now", lambda: "2025-01-01T00:00:00.000Z")
    first = store.revoke(record.key_id)
    monkeypatch.setattr(api_keys, "_now", lambda: "2026-01-01T00:00:00.000Z")
    second = store.revoke(record.key_id)
    assert first is not None
    assert second is not None
    assert first.revoked_at == second.revoked_at == "2025-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    "key_id",
    ["000000000000", "", "abc", "0123456789ab0", "ABCDEF012345", "zzzzzzzzzzzz", "*", "0123456789a*"],
)
def test_revoking_an_unknown_or_malformed_id_revokes_nothing(store: ApiKeyStore, key_id: str) -> None:
    key, _ = store.create("acme")
    assert store.revoke(key_id) is None
    assert store.find_active(key) is not None


def test_a_key_cannot_be_revoked_by_its_plaintext_or_full_hash(store: ApiKeyStore) -> None:
    key, _ = store.create("acme")
    assert store.revoke(key) is None
    assert store.revoke(hash_api_key(key)) is None
    assert store.find_active(key) is not None


# -- tiers and metering keys -------------------------------------------------------------------------


def test_every_new_key_gets_its_own_metering_key_and_its_tier(store: ApiKeyStore, dynamodb: Any) -> None:
    _, acme = store.create("acme", plan="standard")
    _, acme_again = store.create("acme", plan="standard")
    _, dock = store.create_operations("dock", plan="operations")
    values = {record.metering_key for record in (acme, acme_again, dock)}
    assert len(values) == 3
    for value in values:
        assert value is not None and re.fullmatch(r"[0-9a-f]{40}", value)
    assert (acme.plan, dock.plan) == ("standard", "operations")
    # Unregistered: no API Gateway API key behind them.
    assert acme.metering_key_id is None
    stored = {item["key_hash"]["S"][:KEY_ID_LENGTH]: item for item in scan(dynamodb, API_KEYS_TABLE_NAME)}
    assert stored[acme.key_id]["plan"] == {"S": "standard"}
    assert "metering_key_id" not in stored[acme.key_id]


def test_a_registered_metering_key_is_stored_with_its_api_key_id(store: ApiKeyStore) -> None:
    key, record = store.create("acme", plan="bulk", metering=MeteringKey("v" * 40, "abc123"))
    assert (record.metering_key, record.metering_key_id, record.plan) == ("v" * 40, "abc123", "bulk")
    assert store.find_active(key) == record


def test_set_plan_changes_only_the_tier_and_keeps_the_metering_key(store: ApiKeyStore) -> None:
    key, record = store.create("acme", plan="standard", metering=MeteringKey("v" * 40, "abc123"))
    moved = store.set_plan(record.key_id, "bulk")
    assert moved is not None
    assert moved == dataclasses.replace(record, plan="bulk")
    assert store.find_active(key) == moved


def test_set_plan_gives_a_record_from_before_tiers_its_metering_key(
    store: ApiKeyStore, dynamodb: Any
) -> None:
    put_old_key(dynamodb, "old")
    old = store.find_active("old")
    assert old is not None and (old.plan, old.metering_key) == (None, None)
    moved = store.set_plan(old.key_id, "standard", MeteringKey("m" * 40, "id9"))
    assert moved is not None
    assert (moved.plan, moved.metering_key, moved.metering_key_id) == ("standard", "m" * 40, "id9")


def test_set_plan_refuses_a_revoked_or_unknown_key(store: ApiKeyStore) -> None:
    _, record = store.create("acme", plan="standard")
    store.revoke(record.key_id)
    assert store.set_plan(record.key_id, "bulk") is None
    revoked = store.find(record.key_id)
    assert revoked is not None and revoked.plan == "standard" and not revoked.active
    assert store.set_plan("0" * KEY_ID_LENGTH, "bulk") is None
    assert store.set_plan("not-an-id", "bulk") is None
    assert store.find("not-an-id") is None
