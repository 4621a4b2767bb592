"""Proration as properties (billing.plan_changes.proration): bounded by the plan difference
for the days left, zero when nothing changes or no day is left, symmetric, integral."""
import dataclasses
import datetime as dt
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

import money
from billing import plan_changes
from billing.schedule import FREQUENCIES, next_date


@dataclasses.dataclass
class Plan:
    price: int
    currency: str = "USD"


@dataclasses.dataclass
class Sub:
    """What proration reads of a subscription: no database needed."""
    plan: Plan
    quantity: int
    current_period_start: dt.date
    current_period_end: dt.date
    unit_price: int = None

    @property
    def amount(self):
        return (self.plan.price if self.unit_price is None else self.unit_price) * self.quantity

    def in_trial(self, today=None):
        return False


prices = st.integers(0, 10 ** 9)
quantities = st.integers(1, 1000)
starts = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1))
currencies = st.sampled_from(["USD", "EUR", "JPY", "KWD", "GBP"])


@st.composite
def cases(draw):
    start = draw(starts)
    end = next_date(start, draw(st.sampled_from(sorted(FREQUENCIES))))
    today = start + dt.timedelta(days=draw(st.integers(-5, (end - start).days + 5)))
    currency = draw(currencies)
    sub = Sub(Plan(draw(prices), currency), draw(quantities), start, end)
    new = Plan(draw(prices), currency)
    return sub, new, draw(quantities), today


@settings(max_examples=400, deadline=None)
@given(cases())
def test_never_more_than_the_plan_difference_for_the_days_left(case):
    sub, new, quantity, today = case
    result = plan_changes.proration(sub, new, quantity, today)
    exact = Fraction(new.price * quantity - sub.amount) * result.days_left / \
        result.days_in_period
    assert abs(result.difference - exact) <= Fraction(1, 2)
    assert abs(result.difference) <= abs(new.price * quantity - sub.amount)
    assert 0 <= result.days_left <= result.days_in_period
    assert result.new_remainder - result.old_remainder == result.difference


@settings(max_examples=200, deadline=None)
@given(cases())
def test_zero_when_nothing_changes(case):
    sub, _new, _quantity, today = case
    assert plan_changes.proration(sub, sub.plan, sub.quantity, today).difference == 0


@settings(max_examples=400, deadline=None)
@given(cases())
def test_upgrade_then_immediate_downgrade_back_nets_at_most_one_minor_unit(case):
    sub, new, quantity, today = case
    there = plan_changes.proration(sub, new, quantity, today)
    moved = Sub(new, quantity, sub.current_period_start, sub.current_period_end)
    back = plan_changes.proration(moved, sub.plan, sub.quantity, today)
    assert abs(there.difference + back.difference) <= 1


@settings(max_examples=200, deadline=None)
@given(cases())
def test_no_day_left_is_nothing_to_pay(case):
    sub, new, quantity, _today = case
    for today in (sub.current_period_end, sub.current_period_end + dt.timedelta(days=40)):
        result = plan_changes.proration(sub, new, quantity, today)
        assert result.days_left == 0 and result.difference == 0


@settings(max_examples=200, deadline=None)
@given(cases())
def test_zero_decimal_currencies_stay_whole(case):
    sub, new, quantity, today = case
    sub.plan.currency = new.currency = "JPY"
    result = plan_changes.proration(sub, new, quantity, today)
    assert money.exponent("JPY") == 0
    for value in (result.difference, result.old_remainder, result.new_remainder):
        assert type(value) is int
    assert money.decimal_string(result.difference, "JPY").lstrip("-").isdigit()
