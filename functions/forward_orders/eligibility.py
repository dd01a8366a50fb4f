"""Whether a matched item can still be returned at a given moment: ``return_eligibility``.

A pure function of the item's ``return_policy_end_date`` and of ``now`` (the caller's clock, passed
in once per request), so every rule is testable at any instant. The rules, and why ``days_left`` is
counted the way it is, are in docs/tracking.md ("Return eligibility").

Instants are counted as whole microseconds since 0001-01-01T00:00:00Z: an end date near year 1 or
9999 with an offset lies outside what ``datetime`` can hold in UTC, and integers cannot overflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal, cast

from common.api_responses import ReturnEligibility as ReturnEligibilityBody
from forward_orders.models import DATE

Status = Literal["eligible", "expired", "unknown"]
ELIGIBLE: Status = "eligible"
EXPIRED: Status = "expired"
UNKNOWN: Status = "unknown"
STATUSES: tuple[Status, ...] = (ELIGIBLE, EXPIRED, UNKNOWN)

_MICROSECOND = timedelta(microseconds=1)
_DAY = timedelta(days=1) // _MICROSECOND
_MINUTE = timedelta(minutes=1) // _MICROSECOND
_ORIGIN = datetime(1, 1, 1)  # naive: the wall clock of whatever offset is being counted from
_FRACTION_DIGITS = 6  # datetime's resolution; finer digits are dropped


@dataclass(frozen=True)
class ReturnEligibility:
    status: Status
    return_policy_end_date: str | None
    days_left: int | None

    def as_dict(self) -> ReturnEligibilityBody:
        """As a tracking match shows it (``common.api_responses.ReturnEligibility``)."""
        return cast(
            ReturnEligibilityBody,
            {
                "status": self.status,
                "return_policy_end_date": self.return_policy_end_date,
                "days_left": self.days_left,
            },
        )


def return_eligibility(end_date: object, now: datetime) -> ReturnEligibility:
    """The eligibility of an item whose return window ends at ``end_date`` (as stored), at ``now``
    (an aware datetime, any offset).

    The window's last instant: the end of the day (UTC) for a date; the instant itself for a
    date-time, read as UTC when it has no offset. ``eligible`` up to and including that instant,
    ``expired`` after it; ``days_left`` is the whole days (of 24 hours) from ``now`` to it, rounded
    down: 0 on the last day, negative once expired. For a date that is exactly the number of UTC
    calendar days from today to the end date.
    """
    if not isinstance(end_date, str) or not end_date:
        return ReturnEligibility(UNKNOWN, None, None)
    last = last_instant(end_date)
    if last is None:
        # Validation stores only dates it can read; a record written some other way is not a 5xx.
        return ReturnEligibility(UNKNOWN, end_date, None)
    days_left = (last - instant(now)) // _DAY
    return ReturnEligibility(ELIGIBLE if days_left >= 0 else EXPIRED, end_date, days_left)


def instant(moment: datetime) -> int:
    """``moment`` (aware) as microseconds since 0001-01-01T00:00:00Z."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("the clock must give an aware datetime (with an offset), not a naive one")
    return _wall_clock(moment.replace(tzinfo=None)) - offset // _MICROSECOND


def last_instant(end_date: str) -> int | None:
    """The last instant of a return window ending at ``end_date``, or None when it is not one of
    the contract's dates (``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]``)."""
    match = DATE.fullmatch(end_date)
    if match is None:
        return None
    try:
        day = date.fromisoformat(match["date"])
        if match["h"] is None:
            return _wall_clock(datetime.combine(day, time.max))
        fraction = (match["fraction"] or "")[:_FRACTION_DIGITS].ljust(_FRACTION_DIGITS, "0")
        wall = datetime.combine(day, time(int(match["h"]), int(match["m"]), int(match["s"]), int(fraction)))
    except ValueError:
        return None
    offset = 0
    if match["sign"] is not None:
        hours, minutes = int(match["oh"]), int(match["om"])
        if hours > 23 or minutes > 59:
            return None
        offset = (hours * 60 + minutes) * _MINUTE * (-1 if match["sign"] == "-" else 1)
    return _wall_clock(wall) - offset


def _wall_clock(naive: datetime) -> int:
    return (naive - _ORIGIN) // _MICROSECOND
