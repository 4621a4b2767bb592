"""Schedule arithmetic as properties: month ends, leap years, every frequency (issue 11)."""
import calendar
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing import schedule

MONTHS = {"monthly": 1, "bimonthly": 2, "quarterly": 3, "semiannually": 6, "yearly": 12}
DAYS = {"daily": 1, "weekly": 7, "fortnightly": 14, "four_weekly": 28}
dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2200, 12, 31))


def test_every_frequency_the_form_offers_has_arithmetic():
    assert set(schedule.FREQUENCIES) == set(MONTHS) | set(DAYS)
    with pytest.raises(ValueError):
        schedule.next_date(dt.date(2026, 1, 1), "hourly")


@settings(max_examples=300, deadline=None)
@given(start=dates, frequency=st.sampled_from(sorted(MONTHS)), n=st.integers(0, 60))
def test_month_steps_keep_the_start_day_clamped_to_the_month_end(start, frequency, n):
    date = schedule.nth_date(start, frequency, n)
    months = (date.year - start.year) * 12 + date.month - start.month
    assert months == MONTHS[frequency] * n
    assert date.day == min(start.day, calendar.monthrange(date.year, date.month)[1])


@settings(max_examples=300, deadline=None)
@given(start=dates, frequency=st.sampled_from(sorted(schedule.FREQUENCIES)),
       n=st.integers(1, 40))
def test_stepping_one_period_at_a_time_never_drifts(start, frequency, n):
    """run-due moves a schedule one period per charge (with the start day as anchor): after n
    steps it is where n periods from the start say, so Jan 31 -> Feb 28 -> Mar 31."""
    date = start
    for _ in range(n):
        following = schedule.next_date(date, frequency, start.day)
        assert following > date
        date = following
    assert date == schedule.nth_date(start, frequency, n)


@settings(max_examples=200, deadline=None)
@given(start=dates, frequency=st.sampled_from(sorted(DAYS)), n=st.integers(0, 400))
def test_day_steps_are_exact(start, frequency, n):
    assert (schedule.nth_date(start, frequency, n) - start).days == DAYS[frequency] * n


@given(year=st.integers(2024, 2200))
def test_leap_day_yearly_falls_on_feb_28_then_back_on_the_29th(year):
    date = schedule.nth_date(dt.date(2024, 2, 29), "yearly", year - 2024)
    assert (date.year, date.month) == (year, 2)
    assert date.day == (29 if calendar.isleap(year) else 28)


def test_month_end_examples():
    assert schedule.nth_date(dt.date(2026, 1, 31), "monthly", 1) == dt.date(2026, 2, 28)
    assert schedule.nth_date(dt.date(2026, 1, 31), "monthly", 2) == dt.date(2026, 3, 31)
    assert schedule.next_date(dt.date(2026, 2, 28), "monthly", 31) == dt.date(2026, 3, 31)
    assert schedule.nth_date(dt.date(2027, 8, 31), "semiannually", 1) == dt.date(2028, 2, 29)
    assert schedule.nth_date(dt.date(2026, 12, 31), "bimonthly", 1) == dt.date(2027, 2, 28)
    assert schedule.next_date(dt.date(2026, 1, 1), "four_weekly") == dt.date(2026, 1, 29)
