"""billing/statements.py's periods: the quick ranges (this month ... all time) on the days
where they turn, the first date of a client's records, and the typed period's limits.
The statement's sums and rows are in tests/test_statement.py."""
import datetime as dt

import pytest

import models
from billing import DomainError, payments, statements
from tests import factories

D = dt.date


@pytest.mark.parametrize("name,today,expected", [
    ("this_month", D(2026, 11, 27), (D(2026, 11, 1), D(2026, 11, 27))),
    ("this_month", D(2026, 11, 1), (D(2026, 11, 1), D(2026, 11, 1))),
    ("last_month", D(2026, 3, 15), (D(2026, 2, 1), D(2026, 2, 28))),
    ("last_month", D(2026, 1, 10), (D(2025, 12, 1), D(2025, 12, 31))),
    ("this_quarter", D(2026, 11, 27), (D(2026, 10, 1), D(2026, 11, 27))),
    ("this_quarter", D(2026, 3, 31), (D(2026, 1, 1), D(2026, 3, 31))),
    ("this_quarter", D(2026, 4, 1), (D(2026, 4, 1), D(2026, 4, 1))),
    ("this_quarter", D(2026, 9, 30), (D(2026, 7, 1), D(2026, 9, 30))),
    ("this_quarter", D(2026, 12, 31), (D(2026, 10, 1), D(2026, 12, 31))),
    ("this_year", D(2026, 11, 27), (D(2026, 1, 1), D(2026, 11, 27))),
    ("last_year", D(2026, 11, 27), (D(2025, 1, 1), D(2025, 12, 31))),
    ("last_year", D(2026, 1, 1), (D(2025, 1, 1), D(2025, 12, 31))),
])
def test_each_quick_range_starts_and_ends_where_a_person_expects(name, today, expected):
    assert statements.quick_range(name, today) == expected


def test_all_time_starts_at_the_first_record_but_never_more_than_five_years_back():
    today = D(2026, 11, 27)
    assert statements.quick_range("all_time", today, D(2024, 5, 6)) == (D(2024, 5, 6), today)
    assert statements.quick_range("all_time", today) == (today, today)  # nothing yet
    limit = today - dt.timedelta(days=statements.MAX_DAYS)
    assert statements.quick_range("all_time", today, D(2015, 1, 1)) == (limit, today)
    assert statements.quick_range("all_time", today, limit) == (limit, today)


def test_an_unknown_range_is_none():
    assert statements.quick_range("next_year", D(2026, 11, 27)) is None
    assert statements.quick_range("", D(2026, 11, 27)) is None


def test_the_first_date_is_the_clients_earliest_invoice_or_payment(db):
    mine, theirs = factories.client(), factories.client()
    assert statements.first_date(mine) is None
    factories.invoice(theirs, date=D(2020, 1, 1))  # another client's records do not count
    factories.invoice(mine, date=D(2026, 3, 1))
    factories.invoice(mine, date=D(2026, 5, 1))
    assert statements.first_date(mine) == D(2026, 3, 1)
    with models.db.atomic():
        payments.record_payment(mine, 1000, "USD", [], method="manual", date=D(2026, 2, 15))
        payments.record_payment(theirs, 1000, "USD", [], method="manual", date=D(2019, 1, 1))
    assert statements.first_date(mine) == D(2026, 2, 15)


def test_a_client_with_only_a_payment_starts_at_it(db):
    mine = factories.client()
    with models.db.atomic():
        payments.record_payment(mine, 1000, "USD", [], method="manual", date=D(2026, 2, 15))
    assert statements.first_date(mine) == D(2026, 2, 15)


def test_an_empty_period_is_this_month_so_far():
    today = D(2026, 11, 27)
    assert statements.parse_period("", "", today) == (D(2026, 11, 1), today)
    assert statements.parse_period("2026-10-05", "", today) == (D(2026, 10, 5), today)
    assert statements.parse_period("", "2026-11-20", today) == (D(2026, 11, 1), D(2026, 11, 20))


def test_a_one_day_and_a_five_year_period_are_allowed():
    assert statements.parse_period("2026-10-05", "2026-10-05") == (D(2026, 10, 5),
                                                                  D(2026, 10, 5))
    start = D(2026, 10, 5) - dt.timedelta(days=statements.MAX_DAYS)
    assert statements.parse_period(start.isoformat(), "2026-10-05") == (start, D(2026, 10, 5))


@pytest.mark.parametrize("start,end,message,field", [
    ("2026-13-01", "2026-10-01", "Enter dates as YYYY-MM-DD.", "start_date"),
    ("2026-10-01", "31/10/2026", "Enter dates as YYYY-MM-DD.", "start_date"),
    ("2026-10-05", "2026-10-04", "The start date must be on or before the end date.",
     "start_date"),
    ((D(2026, 10, 5) - dt.timedelta(days=statements.MAX_DAYS + 1)).isoformat(), "2026-10-05",
     "A statement can cover at most five years.", "end_date"),
])
def test_a_bad_period_is_refused_on_its_field_with_its_reason(start, end, message, field):
    with pytest.raises(DomainError) as refused:
        statements.parse_period(start, end)
    assert (refused.value.message, refused.value.field) == (message, field)
