"""Reminder rules and the late fee (billing.reminders), rule by rule: what the settings take
and refuse word for word, what the fee comes to and in which currency, which reminder is due
on which day, and exactly what a run writes. tests/test_reminders.py runs the whole tick
through a real SMTP server."""
import datetime as dt
import json

import pytest

import models
from billing import DomainError, reminders
from tests import factories
from tests.core_support import activities
from tests.reminders_support import TODAY, save, shop


@pytest.fixture
def company(db):
    return shop()


def refusal(company, **kwargs):
    with pytest.raises(DomainError) as refused:
        save(company, **kwargs)
    return refused.value.message, refused.value.field


# ---------------------------------------------------------------- stored rules

@pytest.mark.parametrize("stored, expected", [
    ("", [(1, None, False), (2, None, False), (3, None, False)]),
    ("not json", [(1, None, False), (2, None, False), (3, None, False)]),
    ('{"days": 3}', [(1, None, False), (2, None, False), (3, None, False)]),
    ('[{"days": 3, "enabled": true}, "x", {"days": true, "enabled": true}, {"days": 9}]',
     [(1, 3, True), (2, None, False), (3, None, False)]),
    ('[{"days": -2, "enabled": 1}, {"days": 5, "enabled": false}, {"days": 1.5, "enabled": 1}]',
     [(1, -2, True), (2, 5, False), (3, None, False)]),
])
def test_stored_rules_are_read_tolerantly_three_of_them(company, stored, expected):
    company.reminder_rules = stored
    found = reminders.rules(company)
    assert [(r.slot, r.days, r.enabled) for r in found] == expected
    assert [r.step for r in found] == ["reminder1", "reminder2", "reminder3"]
    assert [r.active for r in found] == [e[2] for e in expected]


def test_a_rule_is_active_only_when_switched_on_with_days():
    assert reminders.Rule(1, 0, True).active
    assert not reminders.Rule(1, None, True).active
    assert not reminders.Rule(1, 4, False).active


@pytest.mark.parametrize("kind, value, locale, text", [
    ("fixed", 1250, "en_US", "12.50"), ("fixed", 1250, "de_DE", "12,50"),
    ("percent", 150, "en_US", "1.5"), ("percent", 225, "de_DE", "2,25"),
    ("percent", 1000, "en_US", "10"), ("", 0, "en_US", ""), ("", 500, "en_US", ""),
])
def test_the_fee_reads_back_as_a_person_types_it(company, kind, value, locale, text):
    company.late_fee_kind, company.late_fee_value, company.locale = kind, value, locale
    assert reminders.fee_text(company) == text


def test_a_fixed_fee_reads_back_in_the_companys_currency(company):
    company.late_fee_kind, company.late_fee_value, company.currency = "fixed", 1500, "JPY"
    assert reminders.fee_text(company) == "1500"


# ---------------------------------------------------------------- the settings

def test_good_settings_are_stored_with_who_saved_them(company):
    staff = factories.staff()
    reminders.save(company, rule_inputs=[(" -3 ", True), ("+7", "on"), ("12", False),
                                         ("99", True)],
                   fee_kind=" percent ", fee_value=" 1.5 % ", staff=staff)
    stored = models.Company.get_by_id(company.id)
    assert json.loads(stored.reminder_rules) == [
        {"days": -3, "enabled": True}, {"days": 7, "enabled": True},
        {"days": 12, "enabled": False}]
    assert (stored.late_fee_kind, stored.late_fee_value) == ("percent", 150)
    assert activities("settings.reminders_saved") == [
        (company.id, None, None, staff.id, "late_fee_kind, late_fee_value, reminder_rules")]


@pytest.mark.parametrize("days", ["-365", "365", "0", "+1"])
def test_days_from_a_year_before_to_a_year_after_are_taken(company, days):
    save(company, rules=[(days, True), ("", False), ("", False)])
    assert json.loads(company.reminder_rules)[0]["days"] == int(days)


@pytest.mark.parametrize("days", ["-366", "366", "1.5", "abc", "12345", "1 2", "--1"])
def test_days_outside_a_year_or_not_whole_are_refused(company, days):
    assert refusal(company, rules=[("1", True), (days, False), ("", False)]) == (
        "Reminder 2: enter the days as a whole number from -365 (before the due date) to 365 "
        "(after it).", "reminder2_days")


def test_a_rule_switched_on_needs_its_days_and_a_day_of_its_own(company):
    assert refusal(company, rules=[("", False), ("", False), (None, True)]) == (
        "Reminder 3: enter the days, or switch it off.", "reminder3_days")
    assert refusal(company, rules=[("5", True), ("2", True), ("5", True)]) == (
        "Reminder 3 is on the same day as reminder 1.", "reminder3_days")
    save(company, rules=[("5", True), ("5", False), ("", False)])  # one switched off: fine


@pytest.mark.parametrize("kind, value, expected", [
    ("bogus", "1", ("Choose no late fee, a fixed amount or a percentage.", "late_fee_kind")),
    ("fixed", "  ", ("Enter the late fee, or choose no late fee.", "late_fee_value")),
    ("percent", None, ("Enter the late fee, or choose no late fee.", "late_fee_value")),
    ("fixed", "-5", ("Late fee: The amount cannot be negative.", "late_fee_value")),
    ("percent", "x", ("Enter the late fee percentage as a number, for example 1.5.",
                      "late_fee_value")),
    ("percent", "2X", ("Enter the late fee percentage as a number, for example 1.5.",
                       "late_fee_value")),
    ("percent", "-0.5", ("The late fee cannot be negative.", "late_fee_value")),
    ("percent", "100.01", ("Enter a percentage from 0 to 100, with at most two decimal places.",
                           "late_fee_value")),
    ("percent", "1.234", ("Enter a percentage from 0 to 100, with at most two decimal places.",
                          "late_fee_value")),
])
def test_a_late_fee_that_cannot_work_is_refused_word_for_word(company, kind, value, expected):
    assert refusal(company, kind=kind, value=value) == expected
    assert models.Company.get_by_id(company.id).late_fee_kind == ""


@pytest.mark.parametrize("kind, value, stored", [
    ("", "12", ("", 0)), (None, None, ("", 0)), ("percent", "100", ("percent", 10000)),
    ("percent", "0", ("percent", 0)), ("percent", "0.01", ("percent", 1)),
    ("fixed", "12.5", ("fixed", 1250)),
])
def test_a_late_fee_is_stored_in_hundredths(company, kind, value, stored):
    save(company, kind=kind, value=value)
    assert (company.late_fee_kind, company.late_fee_value) == stored


def test_a_fixed_fee_is_read_in_the_companys_locale_and_currency(company):
    company.locale, company.currency = "de_DE", "JPY"
    save(company, kind="fixed", value="1.500")
    assert company.late_fee_value == 1500
    save(company, kind="percent", value="1,5 %")
    assert (company.late_fee_kind, company.late_fee_value) == ("percent", 150)


# ---------------------------------------------------------------- what the fee comes to

@pytest.mark.parametrize("kind, value, balance, currency, fee", [
    ("percent", 150, 10000, "USD", 150),
    ("percent", 150, 33, "USD", 0),      # 0.495 rounds down
    ("percent", 150, 34, "USD", 1),      # 0.51 rounds up
    ("percent", 5000, 1, "USD", 1),      # exactly a half rounds up
    ("percent", 150, 10000, "EUR", 150),  # a percentage suits any currency
    ("fixed", 500, 10000, "USD", 500),
    ("fixed", 500, 10000, "EUR", 0),     # never converted at a guessed rate
    ("", 500, 10000, "USD", 0),
])
def test_the_fee_an_invoice_would_take(company, kind, value, balance, currency, fee):
    company.late_fee_kind, company.late_fee_value = kind, value
    invoice = models.Invoice(balance=balance, currency=currency)
    assert reminders.late_fee_for(company, invoice) == fee


# ---------------------------------------------------------------- which reminder is due

RULES = [reminders.Rule(1, -3, True), reminders.Rule(2, 1, True), reminders.Rule(3, 10, True)]


@pytest.mark.parametrize("due_in, expected", [
    (4, None),    # three days before is tomorrow
    (3, 1),       # three days before the due date: today
    (1, 1),
    (0, None),    # the due date itself: too late for "before", too early for "after"
    (-1, 2),      # the day after
    (-9, 2),
    (-10, 3),
    (-40, 3),     # the latest due, never all three at once
])
def test_the_latest_rule_due_today_is_the_one_sent(due_in, expected):
    rule = reminders._due_rule(RULES, TODAY + dt.timedelta(days=due_in), TODAY)
    assert (rule.slot if rule else None) == expected


def test_a_before_reminder_is_no_use_once_the_invoice_is_due():
    before_only = [reminders.Rule(1, -3, True)]
    assert reminders._due_rule(before_only, TODAY + dt.timedelta(days=1), TODAY).slot == 1
    assert reminders._due_rule(before_only, TODAY, TODAY) is None
    on_the_day = [reminders.Rule(1, 0, True)]
    assert reminders._due_rule(on_the_day, TODAY - dt.timedelta(days=5), TODAY).slot == 1
