"""The tiers of per-client rate limits (docs/deployment.md, "Tiers and per-client limits").

Each tier is a steady rate (requests per second), a burst (the token bucket's size) and an optional
daily quota. ``defaultPlan`` names the tier a new client key gets, ``operationsPlan`` the one of a
new operations key. One definition: cdk.json's context keys ``usagePlans``, ``defaultPlan`` and
``operationsPlan``. The stack validates them in ``infra/config.py`` and makes a usage plan of each;
``forward-orders serve`` and ``forward-orders keys`` read the same keys of the checkout's cdk.json
with ``load_usage_plans``. Nothing here runs in a function: the authorizer only hands API Gateway
the metering key a key record holds (``common.api_keys``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

# Usage plan names are "<stack name>-<tier>"; tiers are short, lower-case words.
PlanName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,31}$")]
SECONDS_PER_DAY = 86_400


def _json_text(value: Any) -> Any:
    # `-c usagePlans='{"standard": {...}}'` arrives as a string.
    return json.loads(value) if isinstance(value, str) else value


class UsagePlan(BaseModel):
    """One tier: a token bucket of ``burst`` tokens refilled at ``rate`` per second, as API Gateway
    meters a usage plan's API key, and at most ``daily_quota`` requests per UTC day (None: no quota)."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)

    rate: float = Field(gt=0, allow_inf_nan=False)
    burst: int = Field(ge=1)
    daily_quota: int | None = Field(default=None, ge=1)

    def describe(self) -> str:
        quota = f", {self.daily_quota:,}/day" if self.daily_quota is not None else ""
        return f"{self.rate:g}/s burst {self.burst}{quota}"

    @property
    def seconds_per_token(self) -> int:
        """The longest wait for the next token once the bucket is empty, whole seconds."""
        return max(1, math.ceil(1 / self.rate))


PlanMap = Annotated[dict[PlanName, UsagePlan], BeforeValidator(_json_text), Field(min_length=1)]

DEFAULT_USAGE_PLANS: dict[str, UsagePlan] = {
    "standard": UsagePlan(rate=10, burst=20),
    "bulk": UsagePlan(rate=50, burst=100, daily_quota=2_000_000),
    "operations": UsagePlan(rate=20, burst=40),
}
DEFAULT_PLAN = "standard"
OPERATIONS_PLAN = "operations"


class UsagePlans(BaseModel):
    """Every tier, and which one each kind of new key gets."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)

    usage_plans: PlanMap = Field(default_factory=lambda: dict(DEFAULT_USAGE_PLANS))
    default_plan: PlanName = DEFAULT_PLAN
    operations_plan: PlanName = OPERATIONS_PLAN

    @model_validator(mode="after")
    def _named_tiers_exist(self) -> UsagePlans:
        problem = missing_plan(self.usage_plans, self.default_plan, self.operations_plan)
        if problem:
            raise ValueError(problem)
        return self

    @classmethod
    def context_keys(cls) -> list[str]:
        return [field.alias or name for name, field in cls.model_fields.items()]

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> UsagePlans:
        """The tiers among a CDK context's keys (the others are ignored)."""
        return cls.model_validate({key: context[key] for key in cls.context_keys() if key in context})

    def plan(self, name: str) -> UsagePlan:
        return self.usage_plans[name]

    def describe(self) -> str:
        return "; ".join(f"{name} {plan.describe()}" for name, plan in self.usage_plans.items())


def missing_plan(plans: dict[str, UsagePlan], default_plan: str, operations_plan: str) -> str | None:
    """Why ``defaultPlan`` or ``operationsPlan`` names no tier of ``plans``, or None."""
    for key, name in (("defaultPlan", default_plan), ("operationsPlan", operations_plan)):
        if name not in plans:
            return f"{key} {name!r} is not one of the usagePlans ({', '.join(plans)})"
    return None


def load_usage_plans(cdk_json: Path) -> UsagePlans:
    """The tiers of a cdk.json file's context, validated as the stack validates them."""
    context = json.loads(cdk_json.read_text()).get("context", {})
    return UsagePlans.from_context(context)
