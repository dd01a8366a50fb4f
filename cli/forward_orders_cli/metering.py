"""The other half of issuing a key: the tier it is metered on (docs/deployment.md, "Tiers and
per-client limits").

- **A deployed stack** (``forward-orders keys --stack NAME``): the stack's outputs name its API keys
  table, its REST API and each tier's usage plan (infra/metering.py). Issuing a key creates an API
  Gateway API key, whose value is the key's metering key, and its usage plan key in the tier's
  plan; changing the tier moves that usage plan key; revoking deletes both. The tiers are the
  stack's, as deployed.
- **Anywhere else** (the running ``forward-orders serve``, or a bare ``--table``): no API Gateway;
  the metering key is a new random value in the record, which ``serve`` meters itself, and the
  tiers are the checkout's cdk.json (``common.usage_plans``), as ``serve`` reads them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.exceptions import ClientError

from common.api_keys import OPERATIONS_KEY, ApiKeyRecord, MeteringKey, generate_metering_key
from common.usage_plans import UsagePlans, load_usage_plans
from forward_orders_cli.errors import USAGE, CliError

# The checkout's cdk.json, where the tiers are defined (the dev tooling runs from the checkout).
CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"
USAGE_PLANS_OUTPUT = "UsagePlans"  # infra/metering.py
KEYS_TABLE_OUTPUT = "KeysTableName"  # infra/stack.py


def checkout_usage_plans(cdk_json: Path | None = None) -> UsagePlans:
    """The tiers of the checkout's cdk.json (its built-in defaults, the same, where there is none)."""
    cdk_json = cdk_json or CDK_JSON
    if not cdk_json.exists():
        return UsagePlans()
    try:
        return load_usage_plans(cdk_json)
    except ValueError as error:  # pydantic's ValidationError and JSON errors are ValueErrors
        raise CliError(f"the tiers in {cdk_json} are invalid:\n{error}") from error


@dataclass(frozen=True)
class Tiers:
    """The tier names a place offers, and the tier each kind of new key gets there."""

    plans: tuple[str, ...]
    default_plan: str
    operations_plan: str

    @classmethod
    def of(cls, plans: UsagePlans) -> Tiers:
        return cls(tuple(plans.usage_plans), plans.default_plan, plans.operations_plan)

    def choose(self, plan: str | None, kind: str) -> str:
        """``plan``, checked, or the default tier of this kind of key."""
        if plan is None:
            return self.operations_plan if kind == OPERATIONS_KEY else self.default_plan
        if plan not in self.plans:
            raise CliError(f"no tier {plan!r}: the tiers are {', '.join(self.plans)}", USAGE)
        return plan


class Metering(Protocol):
    """Where keys are metered: what each key command does besides writing the key's record."""

    @property
    def tiers(self) -> Tiers: ...

    @property
    def description(self) -> str: ...

    def register(self, key_id: str, owner: str, plan: str) -> MeteringKey:
        """A metering key for a new key on ``plan``."""

    def move(self, record: ApiKeyRecord, plan: str) -> MeteringKey | None:
        """Meter ``record``'s key on ``plan`` from now on; a new metering key if it had none."""

    def remove(self, metering_key_id: str | None, plan: str | None) -> bool:
        """Stop metering a key (revoked, or whose record could not be written); whether an API key
        was deleted."""


@dataclass(frozen=True)
class LocalMetering:
    """No API Gateway: ``forward-orders serve`` meters the key by the value in its record."""

    tiers: Tiers
    description: str = "no API Gateway (forward-orders serve meters the keys itself)"

    def register(self, key_id: str, owner: str, plan: str) -> MeteringKey:
        return MeteringKey.unregistered()

    def move(self, record: ApiKeyRecord, plan: str) -> MeteringKey | None:
        return None if record.metering_key else MeteringKey.unregistered()

    def remove(self, metering_key_id: str | None, plan: str | None) -> bool:
        """Nothing to remove: the record was the only place of its metering key."""
        return False


@dataclass(frozen=True)
class DeployedStack:
    """What ``forward-orders keys`` needs of a deployed stack, from its outputs."""

    name: str
    keys_table: str
    rest_api_id: str
    stage: str
    usage_plans: dict[str, str]  # tier -> usage plan id
    default_plan: str
    operations_plan: str

    @classmethod
    def describe(cls, cloudformation: Any, name: str) -> DeployedStack:
        """The stack ``name``, from its outputs. Its own errors (an unknown stack) are the caller's."""
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
        outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
        return cls.from_outputs(name, outputs)

    @classmethod
    def from_outputs(cls, name: str, outputs: dict[str, str]) -> DeployedStack:
        if USAGE_PLANS_OUTPUT not in outputs or KEYS_TABLE_OUTPUT not in outputs:
            raise CliError(
                f"stack {name} has no {USAGE_PLANS_OUTPUT} or {KEYS_TABLE_OUTPUT} output: is it a "
                "Forward Orders stack, deployed with tiers (make deploy)?"
            )
        plans = json.loads(outputs[USAGE_PLANS_OUTPUT])
        return cls(
            name=name,
            keys_table=outputs[KEYS_TABLE_OUTPUT],
            rest_api_id=plans["restApiId"],
            stage=plans["stage"],
            usage_plans=dict(plans["plans"]),
            default_plan=plans["defaultPlan"],
            operations_plan=plans["operationsPlan"],
        )

    @property
    def tiers(self) -> Tiers:
        return Tiers(tuple(self.usage_plans), self.default_plan, self.operations_plan)


class ApiGatewayMetering:
    """A deployed stack's usage plans: each key an API Gateway API key in its tier's plan."""

    def __init__(self, apigateway: Any, stack: DeployedStack) -> None:
        self._apigateway = apigateway
        self.stack = stack
        self.tiers = stack.tiers
        self.description = f"the usage plans of stack {stack.name}"

    @classmethod
    def of_stack(cls, name: str, region: str | None) -> ApiGatewayMetering:
        session = boto3.session.Session(region_name=region)
        stack = DeployedStack.describe(session.client("cloudformation"), name)
        return cls(session.client("apigateway"), stack)

    def register(self, key_id: str, owner: str, plan: str) -> MeteringKey:
        with _api_errors("API Gateway"):
            created = self._apigateway.create_api_key(
                name=f"{self.stack.name}-{key_id}",
                description=f"forward-orders metering key of {owner} (key id {key_id})",
                enabled=True,
                value=generate_metering_key(),
            )
        metering = MeteringKey(created["value"], created["id"])
        try:
            self._associate(created["id"], plan)
        except BaseException:
            self._delete_api_key(created["id"])
            raise
        return metering

    def move(self, record: ApiKeyRecord, plan: str) -> MeteringKey | None:
        if record.metering_key_id is None:
            # A key issued before tiers, or without API Gateway: it gets its API key now.
            whose = owner(record.kind, record.name if record.kind == OPERATIONS_KEY else record.client_id)
            return self.register(record.key_id, whose, plan)
        previous = record.plan
        # An API key is in one usage plan per stage: leave the old one first. In between (a fraction
        # of a second) the gateway answers its requests 502 with Retry-After, which clients retry.
        if previous is not None and previous != plan and previous in self.stack.usage_plans:
            self._dissociate(record.metering_key_id, previous)
        try:
            self._associate(record.metering_key_id, plan)
        except BaseException:
            if previous is not None and previous != plan and previous in self.stack.usage_plans:
                self._associate(record.metering_key_id, previous)
            raise
        return None

    def remove(self, metering_key_id: str | None, plan: str | None) -> bool:
        if metering_key_id is None:
            return False
        if plan in self.stack.usage_plans:
            self._dissociate(metering_key_id, plan)
        self._delete_api_key(metering_key_id)
        return True

    def _associate(self, api_key_id: str, plan: str) -> None:
        with _api_errors("API Gateway"), _ignoring("ConflictException"):  # already in the plan
            self._apigateway.create_usage_plan_key(
                usagePlanId=self.stack.usage_plans[plan], keyId=api_key_id, keyType="API_KEY"
            )

    def _dissociate(self, api_key_id: str, plan: str) -> None:
        with _api_errors("API Gateway"), _ignoring("NotFoundException"):
            self._apigateway.delete_usage_plan_key(usagePlanId=self.stack.usage_plans[plan], keyId=api_key_id)

    def _delete_api_key(self, api_key_id: str) -> None:
        with _api_errors("API Gateway"), _ignoring("NotFoundException"):
            self._apigateway.delete_api_key(apiKey=api_key_id)


def owner(kind: str, name: str | None) -> str:
    """Whose key it is, for people: ``client acme``, or ``operations key scanners`` (its name)."""
    return f"operations key {name}" if kind == OPERATIONS_KEY else f"client {name}"


@contextmanager
def _ignoring(code: str) -> Iterator[None]:
    """A refusal that means the work is already done (so a command can be run again)."""
    try:
        yield
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != code:
            raise


@contextmanager
def _api_errors(what: str) -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        response: Any = error.response
        code = response.get("Error", {}).get("Code", "")
        raise CliError(
            f"{what} refused the request: {code}: {response['Error'].get('Message', '')}"
        ) from error
