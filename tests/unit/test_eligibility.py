"""Return eligibility (forward_orders/eligibility.py) at chosen instants: day boundaries in UTC and
in other offsets, date-times with and without an offset, the extremes of the calendar, and
properties over any end date and any clock (docs/tracking.md, "Return eligibility")."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forward_orders.eligibility import (
    ELIGIBLE,
    EXPIRED,
    STATUSES,
    UNKNOWN,
    ReturnEligibility,
    instant,
    last_instant,
    return_eligibility,
)
from forward_orders.models import optional_date


def at(text: str) -> datetime:
    """An aware instant written in ISO 8601 with its offset."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None
    return moment


def verdict(end_date: object, now: str) -> tuple[str, int | None]:
    result = return_eligibility(end_date, at(now))
    return result.status, result.days_left


# -- a date: the whole day, in UTC -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2025-03-03T12:00:00+00:00", (ELIGIBLE, 12)),
        ("2025-03-14T00:00:00+00:00", (ELIGIBLE, 1)),
        ("2025-03-14T23:59:59.999999+00:00", (ELIGIBLE, 1)),
        ("2025-03-15T00:00:00+00:00", (ELIGIBLE, 0)),  # the last day counts from its first instant
        ("2025-03-15T23:59:59.999999+00:00", (ELIGIBLE, 0)),  # ... to its last
        ("2025-03-16T00:00:00+00:00", (EXPIRED, -1)),
        ("2025-03-16T23:59:59+00:00", (EXPIRED, -1)),
        ("2025-03-18T09:30:00+00:00", (EXPIRED, -3)),
        ("2026-03-15T00:00:00+00:00", (EXPIRED, -365)),
    ],
)
def test_a_date_counts_the_whole_day_in_utc(now: str, expected: tuple[str, int]) -> None:
    assert verdict("2025-03-15", now) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 01:00 on the 16th in Berlin is still 23:00 on the 15th in UTC: the last day.
        ("2025-03-16T01:00:00+02:00", (ELIGIBLE, 0)),
        ("2025-03-16T02:00:00+02:00", (EXPIRED, -1)),
        # 20:00 on the 15th in New York is already the 16th in UTC.
        ("2025-03-15T18:59:59-05:00", (ELIGIBLE, 0)),
        ("2025-03-15T19:00:00-05:00", (EXPIRED, -1)),
        ("2025-03-15T05:30:00+05:30", (ELIGIBLE, 0)),  # 00:00 UTC on the 15th
        ("2025-03-15T05:29:59+05:30", (ELIGIBLE, 1)),
    ],
)
def test_the_clocks_offset_does_not_move_the_day_it_is_judged_in_utc(
    now: str, expected: tuple[str, int]
) -> None:
    assert verdict("2025-03-15", now) == expected


def test_the_last_day_of_february_in_a_leap_year_and_across_a_year_end() -> None:
    assert verdict("2024-02-29", "2024-02-28T12:00:00+00:00") == (ELIGIBLE, 1)
    assert verdict("2024-02-29", "2024-03-01T00:00:00+00:00") == (EXPIRED, -1)
    assert verdict("2025-01-01", "2024-12-31T23:59:59+00:00") == (ELIGIBLE, 1)
    assert verdict("2024-12-31", "2025-01-01T00:00:00+00:00") == (EXPIRED, -1)


# -- a date-time: an instant -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # The window ends at 17:00 in New York, 22:00 UTC.
        ("2025-03-15T21:59:59+00:00", (ELIGIBLE, 0)),
        ("2025-03-15T22:00:00+00:00", (ELIGIBLE, 0)),  # the end instant itself is still inside
        ("2025-03-15T22:00:00.000001+00:00", (EXPIRED, -1)),
        ("2025-03-15T17:00:00.000001-05:00", (EXPIRED, -1)),  # the same instant, in New York
        ("2025-03-16T00:30:00+02:00", (EXPIRED, -1)),  # 22:30 UTC on the 15th
        ("2025-03-14T22:00:00+00:00", (ELIGIBLE, 1)),  # exactly one day (24 h) before
        ("2025-03-14T22:00:00.000001+00:00", (ELIGIBLE, 0)),  # a moment less than a day
        ("2025-03-03T10:00:00+00:00", (ELIGIBLE, 12)),
        ("2025-03-18T22:00:00+00:00", (EXPIRED, -3)),  # closed exactly 3 days ago
        ("2025-03-18T23:00:00+00:00", (EXPIRED, -4)),  # more than 3 days ago: rounded down
    ],
)
def test_a_date_time_with_an_offset_is_an_instant(now: str, expected: tuple[str, int]) -> None:
    assert verdict("2025-03-15T17:00:00-05:00", now) == expected


def test_an_instant_written_in_another_offset_is_judged_the_same() -> None:
    now = at("2025-03-15T21:00:00+00:00")
    same_instant = ["2025-03-15T22:00:00Z", "2025-03-15T17:00:00-05:00", "2025-03-16T03:30:00+05:30"]
    results = {return_eligibility(end, now).status for end in same_instant}
    days = {return_eligibility(end, now).days_left for end in same_instant}
    assert (results, days) == ({ELIGIBLE}, {0})


def test_a_date_time_without_an_offset_is_read_as_utc() -> None:
    for now in ("2025-04-01T00:00:00+00:00", "2025-04-01T02:00:00+02:00"):
        assert verdict("2025-04-01T00:00:00", now) == verdict("2025-04-01T00:00:00Z", now) == (ELIGIBLE, 0)
    assert verdict("2025-04-01T00:00:00", "2025-04-01T00:00:00.000001+00:00") == (EXPIRED, -1)


def test_fractions_are_read_to_the_microsecond_and_finer_digits_dropped() -> None:
    assert verdict("2025-04-01T00:00:00.5Z", "2025-04-01T00:00:00.500000+00:00") == (ELIGIBLE, 0)
    assert verdict("2025-04-01T00:00:00.5Z", "2025-04-01T00:00:00.500001+00:00") == (EXPIRED, -1)
    assert verdict("2025-04-01T00:00:00.1234569999Z", "2025-04-01T00:00:00.123456+00:00") == (ELIGIBLE, 0)
    assert verdict("2025-04-01T00:00:00.1234569999Z", "2025-04-01T00:00:00.123457+00:00") == (EXPIRED, -1)


# -- no end date, and dates at the ends of the calendar ---------------------------------------------------


@pytest.mark.parametrize("end_date", [None, "", 20250315, ["2025-03-15"]])
def test_without_an_end_date_the_eligibility_is_unknown(end_date: object) -> None:
    result = return_eligibility(end_date, at("2025-03-15T12:00:00+00:00"))
    assert result == ReturnEligibility(UNKNOWN, None, None)
    assert result.as_dict() == {"status": "unknown", "return_policy_end_date": None, "days_left": None}


@pytest.mark.parametrize("end_date", ["15/03/2025", "2025-02-30", "2025-03-15T24:00:00Z", "2025-03-15 10:00"])
def test_an_unreadable_stored_date_is_unknown_with_the_date_shown_never_an_error(end_date: str) -> None:
    result = return_eligibility(end_date, at("2025-03-15T12:00:00+00:00"))
    assert (result.status, result.return_policy_end_date, result.days_left) == (UNKNOWN, end_date, None)


MID_MARCH = date(2025, 3, 15)


@pytest.mark.parametrize(
    ("end_date", "now", "expected"),
    [
        # Beyond what datetime can hold in UTC: 23:00 UTC on 0000-12-31, 00:59 UTC on 10000-01-01.
        ("0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00+00:00", (EXPIRED, -1)),
        ("9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59+00:00", (ELIGIBLE, 0)),
        ("9999-12-31", "2025-03-15T12:00:00+00:00", (ELIGIBLE, (date(9999, 12, 31) - MID_MARCH).days)),
        ("0001-01-01", "2025-03-15T12:00:00+00:00", (EXPIRED, (date(1, 1, 1) - MID_MARCH).days)),
    ],
)
def test_the_ends_of_the_calendar_with_any_offset_never_overflow(
    end_date: str, now: str, expected: tuple[str, int]
) -> None:
    assert verdict(end_date, now) == expected


def test_the_clock_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        return_eligibility("2025-03-15", datetime(2025, 3, 15, 12))


def test_the_answer_is_exactly_the_three_documented_keys() -> None:
    result = return_eligibility("2025-03-15", at("2025-03-03T12:00:00+00:00")).as_dict()
    assert result == {"status": "eligible", "return_policy_end_date": "2025-03-15", "days_left": 12}


# -- properties --------------------------------------------------------------------------------------------

LATEST_OFFSET_MINUTES = 23 * 60 + 59  # ±23:59, the widest offset the contract's dates allow
OFFSETS = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)),
    st.integers(min_value=-LATEST_OFFSET_MINUTES, max_value=LATEST_OFFSET_MINUTES),
)
CLOCKS = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
).flatmap(lambda moment: OFFSETS.map(moment.astimezone))
DAYS = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1))


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@st.composite
def end_dates(draw: st.DrawFn) -> str:
    """Any date or date-time the contract accepts: with Z, an offset, or none; with or without a fraction."""
    day = draw(DAYS)
    if draw(st.booleans()):
        return day.isoformat()
    moment = draw(st.times())
    text = f"{day.isoformat()}T{moment.strftime('%H:%M:%S')}"
    if draw(st.booleans()):
        text += "." + draw(st.text("0123456789", min_size=1, max_size=9))
    zone = draw(st.sampled_from(["", "Z", "offset"]))
    if zone == "offset":
        minutes = draw(st.integers(min_value=-LATEST_OFFSET_MINUTES, max_value=LATEST_OFFSET_MINUTES))
        zone = _offset_text(timedelta(minutes=minutes))
    return text + zone


@given(end_dates(), CLOCKS)
def test_status_and_days_left_always_agree(end_date: str, now: datetime) -> None:
    assert optional_date(end_date) == end_date  # every generated date is one the contract stores
    result = return_eligibility(end_date, now)
    assert result.status in STATUSES
    assert result.return_policy_end_date == end_date
    assert result.days_left is not None
    assert (result.status == ELIGIBLE) == (result.days_left >= 0)
    assert (result.status == EXPIRED) == (result.days_left < 0)


@given(end_dates(), CLOCKS, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800)))
def test_as_time_passes_days_left_never_grows_and_an_expired_window_never_reopens(
    end_date: str, now: datetime, later_by: timedelta
) -> None:
    earlier = return_eligibility(end_date, now)
    later = return_eligibility(end_date, now + later_by)
    assert earlier.days_left is not None and later.days_left is not None
    assert later.days_left <= earlier.days_left
    assert not (earlier.status == EXPIRED and later.status == ELIGIBLE)
    # A day later, exactly one day fewer.
    assert return_eligibility(end_date, now + timedelta(days=1)).days_left == earlier.days_left - 1


@given(DAYS, CLOCKS)
def test_for_a_date_days_left_is_the_utc_calendar_days_from_today(day: date, now: datetime) -> None:
    today = now.astimezone(UTC).date()
    assert return_eligibility(day.isoformat(), now).days_left == (day - today).days


@given(DAYS, st.times(), OFFSETS, CLOCKS)
def test_a_date_time_is_eligible_exactly_up_to_its_instant_and_days_left_is_the_whole_days_to_it(
    day: date, moment: time, offset: timezone, now: datetime
) -> None:
    end = datetime.combine(day, moment, tzinfo=offset)
    written = end.isoformat()
    result = return_eligibility(written, now)
    assert (result.status == ELIGIBLE) == (now <= end)
    assert result.days_left is not None
    assert timedelta(days=result.days_left) <= end - now < timedelta(days=result.days_left + 1)
    # Z, +00:00 and no offset at all name the same instant when the offset is zero.
    utc = end.astimezone(UTC).replace(tzinfo=None).isoformat()
    assert return_eligibility(utc, now) == ReturnEligibility(result.status, utc, result.days_left)
    assert return_eligibility(utc + "Z", now).days_left == result.days_left


@given(CLOCKS)
def test_instants_count_the_same_moment_the_same_in_every_offset(now: datetime) -> None:
    assert instant(now) == instant(now.astimezone(UTC))
    assert last_instant(now.astimezone(UTC).replace(tzinfo=None).isoformat()) == instant(now)
