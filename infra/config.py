"""The stack's settings: CDK context keys (``cdk.json``, or ``-c key=value`` on the command line).

Every key is optional; a missing one takes the default below. Values given with ``-c`` arrive as
strings, so numbers and booleans are parsed from text too, and ``alarmEmails`` also accepts a
comma-separated string. A misspelt key is an error rather than a silently ignored setting.

The request limits and storage settings default to the API function's own defaults
(``forward_orders.settings``), so the deployed environment and a bare local run agree unless someone
chooses otherwise. The per-client tiers (``usagePlans``, ``defaultPlan``, ``operationsPlan``) are
``common.usage_plans``' model, which ``forward-orders serve`` and ``keys`` read from cdk.json too.
docs/deployment.md documents every key.
"""

from __future__ import annotations

import inspect
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, model_validator
from pydantic.alias_generators import to_camel

from common.dynamodb_client import dynamodb_client
from common.usage_plans import UsagePlans
from forward_orders.settings import Limits, Settings

# API Gateway ends every REST integration after 29 seconds, whatever the Lambda timeout says.
API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS = 29

# The longest one storage call can take once started: the client's connect plus read timeout
# (common/dynamodb_client.py). The API function's storage adapter starts no call after the request
# deadline, so its worst case is the deadline plus one such call; the Lambda timeout must leave room.
_client_defaults = inspect.signature(dynamodb_client).parameters
STORAGE_CALL_WORST_CASE_SECONDS: float = (
    _client_defaults["connect_timeout"].default + _client_defaults["read_timeout"].default
)

# The order events function (infra/events.py): its size and its stream mapping's batches. Fixed
# here, not context keys, and free of CDK imports so that the cost model (bench/cost.py) reads
# what the stack deploys.
ORDER_EVENTS_MEMORY_MB = 256
# A batch of 100 records is at most ten PutEvents calls of a few tens of milliseconds; the function
# stops starting calls when one more might not finish (order_events/event_bus.py).
ORDER_EVENTS_TIMEOUT_SECONDS = 60
ORDER_EVENTS_BATCH_SIZE = 100
# No SnapStart for it: a stream consumer's rare cold start delays events by a second or two and
# costs less than a restore, while a snapshot is billed every second its version exists.
ORDER_EVENTS_SNAP_START = False

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


def _email_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _optional_int(value: Any) -> Any:
    # "-c apiReservedConcurrency=" or "=null" on the command line means "not set".
    if isinstance(value, str) and value.strip().lower() in ("", "null", "none"):
        return None
    return value


OptionalCount = Annotated[Annotated[int, Field(ge=0)] | None, BeforeValidator(_optional_int)]
EmailList = Annotated[list[str], BeforeValidator(_email_list)]


_CONFIG = ConfigDict(
    frozen=True,
    alias_generator=to_camel,
    populate_by_name=True,
    extra="forbid",
    str_strip_whitespace=True,
)


def _api_function_settings() -> type[BaseModel]:
    """A context key for each of the API function's limits and storage settings (``maxBodyBytes``
    for ``max_body_bytes``), with the function's own types, defaults and constraints: the function's
    settings models are the one definition, this only renames them."""
    fields: dict[str, Any] = {}
    for model in (Limits, Settings):
        for name, field in model.model_fields.items():
            if name in API_SETTINGS_SET_BY_THE_STACK or _is_model(field.annotation):
                continue
            fields[name] = (field.annotation, field)
    return create_model("ApiFunctionSettings", __config__=_CONFIG, **fields)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


# Set by the stack from what it creates, not by configuration.
API_SETTINGS_SET_BY_THE_STACK = frozenset({"orders_table_name"})


class ServiceConfig(_api_function_settings(), UsagePlans):  # type: ignore[misc]  # a base made at run time
    """What can differ between deployments of the stack. Besides the fields below, the per-client
    tiers (``common.usage_plans``' fields, the one definition of them) and every limit and storage
    setting of the API function (``forward_orders.settings``) are keys of their own."""

    model_config = _CONFIG

    # -- names ----------------------------------------------------------------------------------
    stack_name: str = Field(default="ForwardOrders", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
    service_name: str = Field(default="forward-orders", pattern=r"^[a-z][a-z0-9-]{0,39}$")
    metrics_namespace: str = Field(default="ForwardOrders", pattern=r"^[A-Za-z0-9._/#:-]{1,255}$")
    stage_name: str = Field(default="v1", pattern=r"^[A-Za-z0-9_]{1,128}$")

    # -- API Gateway ----------------------------------------------------------------------------
    throttling_rate_limit: float = Field(default=100.0, gt=0)
    throttling_burst_limit: int = Field(default=200, ge=0)
    authorizer_cache_ttl_seconds: int = Field(default=0, ge=0, le=3600)
    create_api_gateway_cloud_watch_role: bool = True
    # X-Ray: the stage's sampling rule (API Gateway samples; the authorizer and the API function
    # follow its decision): this many traces a second, then this share of the rest.
    tracing_reservoir_per_second: int = Field(default=0, ge=0, le=1000)
    tracing_sampling_rate: float = Field(default=0.05, ge=0, le=1)

    # -- Lambda ---------------------------------------------------------------------------------
    # 1,769 MB is one full vCPU: the function is CPU-bound on one thread (docs/performance.md).
    api_memory_mb: int = Field(default=1769, ge=128, le=10240)
    api_timeout_seconds: int = Field(default=25, ge=1, le=API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS)
    authorizer_memory_mb: int = Field(default=512, ge=128, le=10240)
    authorizer_timeout_seconds: int = Field(default=5, ge=1, le=API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS)
    snap_start: bool = True
    api_reserved_concurrency: OptionalCount = None
    authorizer_reserved_concurrency: OptionalCount = None
    api_provisioned_concurrency: int = Field(default=0, ge=0)
    authorizer_provisioned_concurrency: int = Field(default=0, ge=0)
    log_retention_days: int = 30
    application_log_level: Literal["DEBUG", "INFO", "WARN", "ERROR"] = "INFO"
    # Lambda's own lines: INFO writes a START and a REPORT line per invocation; WARN only problems.
    system_log_level: Literal["DEBUG", "INFO", "WARN"] = "WARN"
    # How long the stream's mapping may wait to fill a batch of order events (0: at once).
    order_events_batching_window_seconds: int = Field(default=0, ge=0, le=300)
    # The orders table's billing: on demand, or provisioned capacity that auto scaling keeps at this
    # utilisation between the bounds (the indexes inherit the table's).
    orders_table_billing: Literal["onDemand", "provisioned"] = "onDemand"
    orders_table_min_write_capacity: int = Field(default=5, ge=1)
    orders_table_max_write_capacity: int = Field(default=1000, ge=1)
    orders_table_min_read_capacity: int = Field(default=5, ge=1)
    orders_table_max_read_capacity: int = Field(default=500, ge=1)
    orders_table_target_utilization_percent: int = Field(default=70, ge=20, le=90)

    # -- monitoring -----------------------------------------------------------------------------
    alarm_emails: EmailList = Field(default_factory=list)
    server_error_rate_alarm_percent: float = Field(default=1.0, gt=0, le=100)
    latency_p99_alarm_ms: int = Field(default=5000, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> ServiceConfig:
        # The field bounds together, as the function validates them (Limits refuses bounds that
        # would allow a record or an event over DynamoDB's or EventBridge's limits).
        Limits.model_validate({name: getattr(self, name) for name in Limits.model_fields})
        worst_case = self.request_deadline_seconds + STORAGE_CALL_WORST_CASE_SECONDS
        if self.api_timeout_seconds <= worst_case:
            raise ValueError(
                f"apiTimeoutSeconds ({self.api_timeout_seconds}) must exceed requestDeadlineSeconds plus "
                f"one storage call's worst case ({worst_case:g} s), or the Lambda is killed mid-write"
            )
        if self.snap_start and (self.api_provisioned_concurrency or self.authorizer_provisioned_concurrency):
            raise ValueError(
                "SnapStart and provisioned concurrency exclude each other: set snapStart to false"
            )
        for kind in ("write", "read"):
            if getattr(self, f"orders_table_min_{kind}_capacity") > getattr(
                self, f"orders_table_max_{kind}_capacity"
            ):
                raise ValueError(
                    f"ordersTableMin{kind.title()}Capacity is above ordersTableMax{kind.title()}Capacity"
                )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(f"logRetentionDays must be one of {', '.join(map(str, LOG_RETENTION_DAYS))}")
        for name, plan in self.usage_plans.items():
            if plan.rate > self.throttling_rate_limit or plan.burst > self.throttling_burst_limit:
                raise ValueError(
                    f"usagePlans.{name} ({plan.describe()}) is above the stage's throttle "
                    f"({self.throttling_rate_limit:g}/s burst {self.throttling_burst_limit}), which "
                    "bounds every client's requests: raise throttlingRateLimit/throttlingBurstLimit or "
                    "lower the tier"
                )
        for email in self.alarm_emails:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
                raise ValueError(f"alarmEmails: {email!r} is not an email address")
        return self

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> ServiceConfig:
        """The settings found in a CDK context (``node.get_all_context()``).

        CDK's own keys (feature flags "@aws-cdk/...", "aws:cdk:..." switches, cached lookups) all
        contain "@", ":" or "-"; every other key must be one of ours, which is how typos surface.
        """
        ours = {key: value for key, value in context.items() if re.fullmatch(r"[a-z][A-Za-z0-9]*", key)}
        return cls.model_validate(ours)

    @property
    def tiers(self) -> UsagePlans:
        """The tiers alone, as ``forward-orders serve`` and ``keys`` load them."""
        return UsagePlans.model_validate(self.model_dump(include=set(UsagePlans.model_fields)))

    def api_environment(self) -> dict[str, str]:
        """The API function's limit and storage variables, named by ``forward_orders.settings``
        itself, so a variable renamed there cannot be silently ignored here."""
        variables = Settings.variables()
        for name in API_SETTINGS_SET_BY_THE_STACK:
            del variables[name]
        environment = {}
        for field, variable in variables.items():
            value = getattr(self, field)
            environment[variable] = f"{value:g}" if isinstance(value, float) else str(value)
        return environment
