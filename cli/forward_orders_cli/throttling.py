"""Per-key rate limits and daily quotas for ``forward-orders serve``, as the deployed usage plans
apply them (docs/local.md, "Rate limits").

API Gateway meters each request under the API key the authorizer returned (``usageIdentifierKey``)
with the token bucket of that key's usage plan: ``burst`` tokens, refilled at ``rate`` per second,
one per request; an empty bucket is THROTTLED (429). A plan with a daily quota refuses a key's
requests beyond it until the UTC day ends (QUOTA_EXCEEDED, 429). A result with no metering key, or
one whose tier does not exist, is INVALID_API_KEY (502), as a key in no usage plan of the stage is.

Here the tier is the one the authorizer names in its context (``plan``, from the key's record;
none: the default tier), since there are no usage plan keys to look it up in; ``--client-rate``
replaces the rate and burst of one client's keys. Retry-After is the honest wait: the seconds until
the bucket holds a token again, rounded up, at least 1; for the quota, the seconds to 00:00 UTC.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from common.usage_plans import SECONDS_PER_DAY, UsagePlan, UsagePlans

Clock = Callable[[], float]
# Float sums of refills (0.1 s at 10/s) land a hair either side of a whole token.
_EPSILON = 1e-9


@dataclass(frozen=True)
class Refusal:
    """Why the gateway refuses a request: one of ``GATEWAY_RESPONSES``, and its Retry-After."""

    response_type: str
    retry_after: int | None = None


@dataclass
class _Bucket:
    tokens: float
    refilled_at: float
    day: int
    used_today: int = 0


class UsageMeter:
    """Every metering key's token bucket and daily count. Thread-safe: the server is threaded."""

    def __init__(
        self,
        plans: UsagePlans,
        client_rates: Mapping[str, UsagePlan] | None = None,
        *,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        self.plans = plans
        self.client_rates = dict(client_rates or {})
        self._clock = clock
        self._wall_clock = wall_clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def tier(self, authorization: Mapping[str, Any]) -> UsagePlan | None:
        """The rate, burst and quota that meter this authorizer result; None: it is in no tier."""
        context = authorization.get("context") or {}
        plan = self.plans.usage_plans.get(str(context.get("plan") or self.plans.default_plan))
        client_id = context.get("client_id")  # none for an operations key
        override = self.client_rates.get(str(client_id)) if client_id is not None else None
        if plan is None or override is None:
            return plan
        return UsagePlan(rate=override.rate, burst=override.burst, daily_quota=plan.daily_quota)

    def admit(self, authorization: Mapping[str, Any]) -> Refusal | None:
        """Count one request of the key this authorizer result meters; None when it may go on."""
        identifier = authorization.get("usageIdentifierKey")
        tier = self.tier(authorization)
        if not isinstance(identifier, str) or not identifier or tier is None:
            return Refusal("INVALID_API_KEY")
        with self._lock:
            now, wall = self._clock(), self._wall_clock()
            day = int(wall // SECONDS_PER_DAY)
            bucket = self._buckets.get(identifier)
            if bucket is None:
                bucket = self._buckets[identifier] = _Bucket(tier.burst, now, day)
            bucket.tokens = min(tier.burst, bucket.tokens + (now - bucket.refilled_at) * tier.rate)
            bucket.refilled_at = now
            if bucket.day != day:
                bucket.day, bucket.used_today = day, 0
            if tier.daily_quota is not None and bucket.used_today >= tier.daily_quota:
                return Refusal("QUOTA_EXCEEDED", max(1, math.ceil((day + 1) * SECONDS_PER_DAY - wall)))
            if bucket.tokens < 1 - _EPSILON:
                return Refusal("THROTTLED", max(1, math.ceil((1 - bucket.tokens) / tier.rate)))
            bucket.tokens -= 1
            bucket.used_today += 1
        return None
