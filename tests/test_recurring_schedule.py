"""Schedule arithmetic as properties (month ends, leap years, time zones), and recurring
invoices catching up after downtime: one invoice per missed period, each exactly once."""
import calendar
import datetime as dt
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import models
from billing import recurring, schedule
from tests import factories
from tests.core_support import opened, race

DATES = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2400, 12, 31))
MONTHLY = ("monthly", "quarterly", "yearly")
MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}
LINES = [{"product": "Retainer", "quantity": 1, "unit_cost": 50000}]


def month_number(date):
    return date.year * 12 + date.month - 1


def last_day(year, month):
    return calendar.monthrange(year, month)[1]


def series(start, frequency, count):
    """The first `count` dates of a schedule, as recurring._claim steps through them."""
    dates = [start]
    while len(dates) < count:
        dates.append(schedule.next_date(dates[-1], frequency, start.day))
    return dates


# -- fixed cases a person checks by hand ------------------------------------------------

def test_month_ends_come_back_to_the_anchor_day():
    assert series(dt.date(2026, 1, 31), "monthly", 5) == [
        dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31),
        dt.date(2026, 4, 30), dt.date(2026, 5, 31)]
    assert series(dt.date(2028, 1, 31), "monthly", 3) == [
        dt.date(2028, 1, 31), dt.date(2028, 2, 29), dt.date(2028, 3, 31)]  # leap year
    assert series(dt.date(2026, 8, 31), "quarterly", 3) == [
        dt.date(2026, 8, 31), dt.date(2026, 11, 30), dt.date(2027, 2, 28)]
    assert series(dt.date(2026, 12, 31), "monthly", 2)[1] == dt.date(2027, 1, 31)


def test_leap_day_yearly_comes_back_on_leap_years():
    assert series(dt.date(2024, 2, 29), "yearly", 5) == [
        dt.date(2024, 2, 29), dt.date(2025, 2, 28), dt.date(2026, 2, 28),
        dt.date(2027, 2, 28), dt.date(2028, 2, 29)]
    # 2100 is not a leap year; 2000 was
    assert schedule.add_months(dt.date(2096, 2, 29), 48, 29) == dt.date(2100, 2, 28)
    assert schedule.add_months(dt.date(1996, 2, 29), 48, 29) == dt.date(2000, 2, 29)


def test_day_based_frequencies_cross_month_and_year_ends():
    assert schedule.next_date(dt.date(2026, 12, 31), "daily") == dt.date(2027, 1, 1)
    assert schedule.next_date(dt.date(2028, 2, 28), "daily") == dt.date(2028, 2, 29)
    assert schedule.next_date(dt.date(2026, 12, 28), "weekly") == dt.date(2027, 1, 4)
    assert schedule.next_date(dt.date(2026, 2, 20), "fortnightly") == dt.date(2026, 3, 6)


def test_unknown_frequency_is_refused_by_name():
    with pytest.raises(ValueError, match=r"^unknown frequency 'hourly'$"):
        schedule.next_date(dt.date(2026, 1, 1), "hourly")
    with pytest.raises(ValueError, match=r"^unknown frequency 'hourly'$"):
        schedule.nth_date(dt.date(2026, 1, 1), "hourly", 2)


# -- properties ----------------------------------------------------------------------

@given(DATES, st.integers(-1200, 1200), st.one_of(st.none(), st.integers(1, 31)))
def test_add_months_lands_in_the_right_month_on_the_clamped_day(date, months, anchor):
    result = schedule.add_months(date, months, anchor)
    assert month_number(result) == month_number(date) + months
    assert result.day == min(anchor or date.day, last_day(result.year, result.month))


@given(DATES, st.sampled_from(sorted(schedule.FREQUENCIES)), st.integers(1, 60))
def test_every_frequency_moves_strictly_forward(start, frequency, count):
    dates = series(start, frequency, count)
    assert all(a < b for a, b in zip(dates, dates[1:], strict=False))  # monotonic, no repeat


@given(DATES, st.sampled_from(MONTHLY), st.integers(1, 120))
def test_month_schedules_never_skip_or_repeat_a_period_and_never_drift(start, frequency,
                                                                         count):
    step = MONTHS[frequency]
    dates = series(start, frequency, count)
    for k, date in enumerate(dates):
        # the k-th date is in the k-th period: none skipped, none twice
        assert month_number(date) == month_number(start) + k * step
        # and on the start's day whenever the month has it (Jan 31 -> Feb 28 -> Mar 31)
        assert date.day == min(start.day, last_day(date.year, date.month))
        # stepping one period at a time equals jumping k periods at once: no drift
        assert date == schedule.add_months(start, k * step, start.day)


@given(DATES, st.sampled_from(["daily", "weekly", "fortnightly"]), st.integers(1, 200))
def test_day_schedules_are_evenly_spaced(start, frequency, count):
    gap = {"daily": 1, "weekly": 7, "fortnightly": 14}[frequency]
    dates = series(start, frequency, count)
    assert [(b - a).days for a, b in zip(dates, dates[1:], strict=False)] == [gap] * (count - 1)


# -- "today" is the company's date ------------------------------------------------------

ZONES = ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/Los_Angeles",
         "Asia/Kolkata", "Australia/Lord_Howe", "Europe/Berlin"]
INSTANTS = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1))


@pytest.mark.parametrize("zone, now, expected", [
    ("UTC", dt.datetime(2026, 11, 26, 11, 0), dt.date(2026, 11, 26)),
    ("Pacific/Kiritimati", dt.datetime(2026, 11, 26, 11, 0), dt.date(2026, 11, 27)),  # +14
    ("Pacific/Kiritimati", dt.datetime(2026, 11, 26, 9, 59), dt.date(2026, 11, 26)),
    ("Pacific/Pago_Pago", dt.datetime(2026, 11, 26, 10, 59), dt.date(2026, 11, 25)),  # -11
    ("America/Los_Angeles", dt.datetime(2026, 3, 8, 7, 59), dt.date(2026, 3, 7)),  # PST
    ("America/Los_Angeles", dt.datetime(2026, 3, 9, 7, 0), dt.date(2026, 3, 9)),  # PDT
    ("Mars/Olympus_Mons", dt.datetime(2026, 11, 26, 23, 0), dt.date(2026, 11, 26)),  # UTC
])
def test_today_is_the_company_date(db, zone, now, expected):
    factories.company(timezone=zone)
    assert schedule.today(now) == expected


@pytest.mark.parametrize("timezone", ["", "Mars/Olympus_Mons", None])
def test_without_a_zone_it_knows_today_is_the_utc_date_wherever_the_machine_is(
        db, monkeypatch, timezone):
    if timezone is None:  # no company set up yet
        models.Company.delete().execute()
    else:
        factories.company(timezone=timezone)
    assert (models.Company.current() is None) == (timezone is None)
    now = dt.datetime(2026, 11, 26, 23, 0)
    for machine in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        monkeypatch.setenv("TZ", machine)
        time.tzset()
        assert schedule.today(now) == dt.date(2026, 11, 26)
    monkeypatch.undo()
    time.tzset()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(now=INSTANTS, zone=st.sampled_from(ZONES))
def test_today_is_within_a_day_of_utc_and_ignores_the_machine_zone(db, monkeypatch, now, zone):
    factories.company(timezone=zone)
    day = schedule.today(now)
    assert abs((day - now.date()).days) <= 1
    for machine in ("Pacific/Kiritimati", "America/Los_Angeles"):
        monkeypatch.setenv("TZ", machine)
        time.tzset()
        assert schedule.today(now) == day
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("zone, issued", [("Pacific/Kiritimati", 1), ("UTC", 0),
                                          ("Pacific/Pago_Pago", 0)])
def test_recurring_invoices_fall_due_on_the_company_date(db, monkeypatch, zone, issued):
    """11:00 UTC on Nov 26 is already Nov 27 in Kiritimati: a schedule due on the 27th is
    issued there, and not yet in UTC or Pago Pago."""
    factories.company(timezone=zone)
    monkeypatch.setattr(models, "utcnow", lambda: dt.datetime(2026, 11, 26, 11, 0))
    recurring.create_recurring(factories.client(), LINES, start_date=dt.date(2026, 11, 27))
    made = recurring.generate_due({})
    assert len(made) == issued
    assert [i.date for i in made] == [dt.date(2026, 11, 27)] * issued


# -- catch-up after downtime ---------------------------------------------------------

def test_three_missed_periods_catch_up_one_invoice_each_exactly_once(db):
    client = factories.client()
    r = recurring.create_recurring(client, LINES, frequency="monthly",
                                   start_date=dt.date(2028, 1, 31))
    # run-due was down from before Jan 31 until Apr 15: three periods were missed
    made = recurring.generate_due({}, today=dt.date(2028, 4, 15))
    assert [i.date for i in made] == [dt.date(2028, 1, 31), dt.date(2028, 2, 29),
                                      dt.date(2028, 3, 31)]
    assert len({i.number for i in made}) == 3
    assert models.RecurringInvoice.get_by_id(r.id).next_send_date == dt.date(2028, 4, 30)
    assert recurring.generate_due({}, today=dt.date(2028, 4, 15)) == []  # run again: none
    assert [i.date for i in recurring.generate_due({}, today=dt.date(2028, 4, 30))] == [
        dt.date(2028, 4, 30)]
    assert models.Invoice.select().count() == 4
    assert models.Client.get_by_id(client.id).balance == 4 * 50000


def test_overlapping_runs_after_downtime_issue_each_missed_invoice_once(app):
    with opened(app):
        recurring.create_recurring(factories.client(), LINES, frequency="monthly",
                                   start_date=dt.date(2026, 8, 31))
    results = race(app, 4, lambda i: recurring.generate_due({}, today=dt.date(2026, 11, 29)))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(len(r) for r in results) == 3
    with opened(app):
        dates = sorted(i.date for i in models.Invoice.select())
    assert dates == [dt.date(2026, 8, 31), dt.date(2026, 9, 30), dt.date(2026, 10, 31)]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31)),
       frequency=st.sampled_from(sorted(schedule.FREQUENCIES)),
       missed=st.integers(0, 6), extra_days=st.integers(0, 400))
def test_catch_up_issues_every_period_up_to_today_once(db, start, frequency, missed,
                                                       extra_days):
    R = models.RecurringInvoice
    R.update(status="paused").where(R.status == "active").execute()  # earlier examples'
    r = recurring.create_recurring(factories.client(), LINES, frequency=frequency,
                                   start_date=start)
    expected = series(start, frequency, missed + 2)
    # today: on the last missed date, or any day before the following one
    today = min(expected[missed] + dt.timedelta(days=extra_days),
                expected[missed + 1] - dt.timedelta(days=1))
    made = recurring.generate_due({}, today=today)
    assert [i.date for i in made] == expected[:missed + 1]
    assert recurring.generate_due({}, today=today) == []
    assert R.get_by_id(r.id).next_send_date == expected[missed + 1]
