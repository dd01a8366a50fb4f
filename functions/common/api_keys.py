"""Client API keys: issuing, hashing, looking up and revoking them.

A key is ``fo_`` followed by 43 URL-safe characters (256 random bits). Only its SHA-256 hash is
stored: a key has the entropy of a random 256-bit secret, so a fast unsalted hash is as strong as a
slow salted one would be, and it lets the authorizer find a key with one GetItem on the hash. The
first 12 hex digits of the hash are the key's public id, shown by ``keys list`` and used to revoke.

Two kinds of key (the record's ``kind``; a record without one is a client key, as every key issued
before operations keys existed):

- a **client** key belongs to one client (a retailer) and reads and writes only that client's data;
- an **operations** key belongs to no client: it is read-only, may call only the routes that list
  it (``common.api_routes``: the tracking lookup) and sees every client's matches there. It has a
  ``name`` for people (which team or scanner station holds it) instead of a client id.

Per-client limits (docs/deployment.md, "Tiers and per-client limits"): each record names its tier
(``plan``, ``common.usage_plans``) and holds its **metering key**, the value of the API Gateway API
key that usage plan meters (``metering_key``, with that API key's id in ``metering_key_id``). The
authorizer hands it to API Gateway as the ``usageIdentifierKey``; clients never see it and cannot
use it (the API takes its API key from the authorizer only, and the value is not a key the
authorizer knows), so it is an identifier, not a secret. Records written before tiers existed have
neither: ``keys set-plan`` gives them both.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from common.order_records import MAX_CLIENT_ID_LENGTH
from common.tables import API_KEYS_TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

KEY_PREFIX = "fo_"
KEY_ID_LENGTH = 12
CLIENT_KEY = "client"
OPERATIONS_KEY = "operations"
DEFAULT_OPERATIONS_NAME = "operations"
# Client ids become part of every stored key, so they are restricted to characters that cannot
# collide with the key separator ("#") and read well in logs and metrics.
CLIENT_ID_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_CLIENT_ID_LENGTH - 1}}}")
# Longest credential the authorizer will hash; anything longer is not a key we issued or registered.
MAX_KEY_LENGTH = 512
# API Gateway API key values are at least 20 characters; hex reads safely everywhere.
METERING_KEY_BYTES = 20


class InvalidClientId(ValueError):
    """The client name is not a valid client id."""


class KeyAlreadyExists(ValueError):
    """That key is already registered."""


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    client_id: str | None  # None for an operations key
    created_at: str
    revoked_at: str | None = None
    kind: str = CLIENT_KEY
    name: str | None = None  # an operations key's name
    plan: str | None = None  # its tier (common.usage_plans); None: written before tiers existed
    metering_key: str | None = None  # the usageIdentifierKey the authorizer returns
    metering_key_id: str | None = None  # that API Gateway API key's id; None where none was made

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def usable(self) -> bool:
        """Active, of a known kind, and with what that kind needs (a client key its client)."""
        if not self.active:
            return False
        if self.kind == CLIENT_KEY:
            return bool(self.client_id)
        return self.kind == OPERATIONS_KEY


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def generate_metering_key() -> str:
    return secrets.token_hex(METERING_KEY_BYTES)


@dataclass(frozen=True)
class MeteringKey:
    """What meters one key: the API key value API Gateway counts requests under, and that API key's
    id (None: no API Gateway knows it, as with ``forward-orders serve``)."""

    value: str
    key_id: str | None = None

    @classmethod
    def unregistered(cls) -> MeteringKey:
        return cls(generate_metering_key())


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def validate_client_id(client_id: str) -> str:
    if not CLIENT_ID_PATTERN.fullmatch(client_id):
        raise InvalidClientId(
            "a client id is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return client_id


def validate_key_name(name: str) -> str:
    """An operations key's name follows the client id rules (it shows up in the same places)."""
    if not CLIENT_ID_PATTERN.fullmatch(name):
        raise InvalidClientId(
            "a key name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value["S"] if value and "S" in value else None


def _record(item: dict[str, Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=item["key_hash"]["S"][:KEY_ID_LENGTH],
        client_id=_text(item, "client_id"),
        created_at=item["created_at"]["S"],
        revoked_at=_text(item, "revoked_at"),
        kind=_text(item, "kind") or CLIENT_KEY,
        name=_text(item, "name"),
        plan=_text(item, "plan"),
        metering_key=_text(item, "metering_key"),
        metering_key_id=_text(item, "metering_key_id"),
    )


def _tier(plan: str | None, metering: MeteringKey | None) -> dict[str, Any]:
    """The attributes of a tier and its metering key (a new, unregistered one unless given)."""
    metering = metering or MeteringKey.unregistered()
    attributes: dict[str, Any] = {"metering_key": {"S": metering.value}}
    if metering.key_id is not None:
        attributes["metering_key_id"] = {"S": metering.key_id}
    if plan is not None:
        attributes["plan"] = {"S": plan}
    return attributes


class ApiKeyStore:
    """Every DynamoDB call made on the API keys table."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def find_active(self, key: str) -> ApiKeyRecord | None:
        """The record of an active key, or None for an unknown, revoked or malformed one."""
        if not key or len(key) > MAX_KEY_LENGTH:
            return None
        response = self._client.get_item(
            TableName=self._table_name,
            Key={API_KEYS_TABLE.partition_key.name: {"S": hash_api_key(key)}},
        )
        item = response.get("Item")
        if item is None:
            return None
        record = _record(item)
        # A record of a kind this code does not know (written by a newer version, say) is refused.
        return record if record.usable else None

    def create(
        self,
        client_id: str,
        key: str | None = None,
        *,
        plan: str | None = None,
        metering: MeteringKey | None = None,
    ) -> tuple[str, ApiKeyRecord]:
        """Register a key (a new random one unless given) for a client on a tier, metered under
        ``metering`` (a new unregistered metering key unless given); returns the key once."""
        validate_client_id(client_id)
        owner = {"kind": {"S": CLIENT_KEY}, "client_id": {"S": client_id}}
        return self._put({**owner, **_tier(plan, metering)}, key)

    def create_operations(
        self,
        name: str = DEFAULT_OPERATIONS_NAME,
        key: str | None = None,
        *,
        plan: str | None = None,
        metering: MeteringKey | None = None,
    ) -> tuple[str, ApiKeyRecord]:
        """Register an operations key (read-only, every client's tracking matches) with a name."""
        validate_key_name(name)
        owner = {"kind": {"S": OPERATIONS_KEY}, "name": {"S": name}}
        return self._put({**owner, **_tier(plan, metering)}, key)

    def _put(self, attributes: dict[str, Any], key: str | None) -> tuple[str, ApiKeyRecord]:
        plaintext = key if key is not None else generate_api_key()
        if not plaintext or len(plaintext) > MAX_KEY_LENGTH:
            raise ValueError(f"a key is 1 to {MAX_KEY_LENGTH} characters")
        created_at = _now()
        item = {
            API_KEYS_TABLE.partition_key.name: {"S": hash_api_key(plaintext)},
            **attributes,
            "created_at": {"S": created_at},
        }
        try:
            self._client.put_item(
                TableName=self._table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(#k)",
                ExpressionAttributeNames={"#k": API_KEYS_TABLE.partition_key.name},
            )
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            raise KeyAlreadyExists("that key is already registered") from exc
        return plaintext, _record(item)

    def list(self, client_id: str | None = None) -> list[ApiKeyRecord]:
        """All keys (or one client's), oldest first. A Scan: the keys table is small and this is
        an operator's command, never on the request path."""
        records: list[ApiKeyRecord] = []
        paginator = self._client.get_paginator("scan")
        for page in paginator.paginate(TableName=self._table_name):
            records += [_record(item) for item in page.get("Items", [])]
        if client_id is not None:
            records = [record for record in records if record.client_id == client_id]
        return sorted(records, key=lambda record: (record.created_at, record.key_id))

    def find(self, key_id: str) -> ApiKeyRecord | None:
        """The record of the key with this id, active or not; None if no key has that id."""
        item = self._item_by_id(key_id)
        return _record(item) if item is not None else None

    def revoke(self, key_id: str) -> ApiKeyRecord | None:
        """Mark the key with this id revoked (kept for audit); None if no key has that id."""
        key = self._key_by_id(key_id)
        if key is None:
            return None
        response = self._client.update_item(
            TableName=self._table_name,
            Key=key,
            UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :now)",
            ExpressionAttributeValues={":now": {"S": _now()}},
            ReturnValues="ALL_NEW",
        )
        return _record(response["Attributes"])

    def set_plan(self, key_id: str, plan: str, metering: MeteringKey | None = None) -> ApiKeyRecord | None:
        """Put the active key with this id on another tier (with a metering key, for a record that
        has none); None if no active key has that id."""
        key = self._key_by_id(key_id)
        if key is None:
            return None
        values: dict[str, Any] = {":plan": {"S": plan}}
        update = "SET #plan = :plan"
        if metering is not None:
            values[":metering"] = {"S": metering.value}
            update += ", metering_key = :metering"
            if metering.key_id is not None:
                values[":metering_id"] = {"S": metering.key_id}
                update += ", metering_key_id = :metering_id"
        try:
            response = self._client.update_item(
                TableName=self._table_name,
                Key=key,
                UpdateExpression=update,
                ConditionExpression="attribute_exists(#k) AND attribute_not_exists(revoked_at)",
                ExpressionAttributeNames={"#k": API_KEYS_TABLE.partition_key.name, "#plan": "plan"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return _record(response["Attributes"])

    def forget_metering_key_id(self, key_id: str) -> None:
        """The API key of this (revoked) key's metering key is gone: the record no longer names it."""
        key = self._key_by_id(key_id)
        if key is not None:
            self._client.update_item(
                TableName=self._table_name,
                Key=key,
                UpdateExpression="REMOVE metering_key_id",
            )

    def _key_by_id(self, key_id: str) -> dict[str, Any] | None:
        """The primary key of the stored item whose hash starts with ``key_id``."""
        item = self._item_by_id(key_id)
        hash_name = API_KEYS_TABLE.partition_key.name
        return {hash_name: item[hash_name]} if item is not None else None

    def _item_by_id(self, key_id: str) -> dict[str, Any] | None:
        """The stored item whose hash starts with ``key_id``. A Scan, like ``list``: an operator's
        command on a small table."""
        if not re.fullmatch(rf"[0-9a-f]{{{KEY_ID_LENGTH}}}", key_id):
            return None
        paginator = self._client.get_paginator("scan")
        hash_name = API_KEYS_TABLE.partition_key.name
        for page in paginator.paginate(
            TableName=self._table_name,
            FilterExpression="begins_with(#k, :id)",
            ExpressionAttributeNames={"#k": hash_name},
            ExpressionAttributeValues={":id": {"S": key_id}},
        ):
            for item in page.get("Items", []):
                return dict(item)
        return None
