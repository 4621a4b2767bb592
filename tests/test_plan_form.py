"""The plan form's checks (billing.subscriptions.clean_plan), word for word: staff read these
messages beside the fields they name, so each must say which field and what to type."""
import pytest

from billing import FieldErrors
from billing import subscriptions as service
from tests.factories import PLAN_FORM as GOOD

FREQUENCIES = ("daily, weekly, fortnightly, four_weekly, monthly, bimonthly, quarterly, "
               "semiannually, yearly")


def errors_of(**changes):
    with pytest.raises(FieldErrors) as refused:
        service.clean_plan({**GOOD, **changes}, "en_US")
    return refused.value.errors


def cleaned(**changes):
    return service.clean_plan({**GOOD, **changes}, "en_US")


def test_every_refused_field_says_what_to_type():
    assert errors_of(name="", description="a\x00b", currency="usd1", frequency="hourly",
                     trial_days="X5", min_quantity="0", max_quantity="1.5",
                     cancellation="never", plan_group="g" * 51) == {
        "name": "Enter the plan's name.",
        "description": "Description cannot contain control characters.",
        "currency": "Currency must be an ISO 4217 code such as USD.",
        "frequency": f"Choose how often the plan bills: {FREQUENCIES}.",
        "trial_days": "Free trial days must be a whole number.",
        "min_quantity": "Minimum quantity must be from 1 to 1000000.",
        "max_quantity": "Maximum quantity must be a whole number.",
        "cancellation": "Choose whether and when clients may cancel.",
        "plan_group": "Plan group can have at most 50 characters.",
    }


def test_text_limits_name_their_field():
    assert errors_of(name="n" * 101, description="d" * 2001) == {
        "name": "Name can have at most 100 characters.",
        "description": "Description can have at most 2000 characters."}
    assert cleaned(name="n" * 100, description="d" * 2000)["description"] == "d" * 2000


def test_amounts_name_their_field():
    assert errors_of(price="abc", setup_fee="1.005") == {
        "price": "Price: Enter the amount as a number, for example 1,250.00.",
        "setup_fee": "Setup fee: USD amounts have at most 2 decimal places."}


def test_an_unknown_currency_is_the_only_complaint_about_the_money():
    assert errors_of(currency="XYZ") == {
        "currency": "Currency must be an ISO 4217 code such as USD."}
    assert errors_of(currency=None, price="abc", setup_fee="1.005") == {
        "currency": "Currency must be an ISO 4217 code such as USD."}


@pytest.mark.parametrize("typed, message", [
    ("3651", "Free trial days must be from 0 to 3650."),
    ("-1", "Free trial days must be from 0 to 3650."),
    ("1000000000000", "Free trial days must be a whole number."),  # 13 digits: not read
    ("100000000000", "Free trial days must be from 0 to 3650."),   # 12 digits: read
])
def test_trial_days_out_of_range(typed, message):
    assert errors_of(trial_days=typed) == {"trial_days": message}


def test_the_limits_themselves_are_allowed():
    plan = cleaned(trial_days="3650", min_quantity="1000000", max_quantity="1000000")
    assert (plan["trial_days"], plan["min_quantity"], plan["max_quantity"]) == (
        3650, 1000000, 1000000)
    assert cleaned(min_quantity="1", max_quantity="1")["max_quantity"] == 1
    assert cleaned(min_quantity="3", max_quantity="3")["max_quantity"] == 3


def test_a_maximum_below_the_minimum_is_refused():
    assert errors_of(min_quantity="3", max_quantity="2") == {
        "max_quantity": "The maximum quantity cannot be less than the minimum."}


@pytest.mark.parametrize("typed, meant", [
    ("1", True), ("true", True), ("on", True), ("yes", True), (" Yes ", True), ("TRUE", True),
    ("0", False), ("off", False), ("", False), ("no", False), (True, True), (None, False),
])
def test_the_yes_no_boxes_read_what_a_form_sends(typed, meant):
    plan = cleaned(allow_pause=typed, allow_plan_changes=typed)
    assert (plan["allow_pause"], plan["allow_plan_changes"]) == (meant, meant)


def test_a_plans_own_limits_are_quantities_it_sells(db):
    plan = service.create_plan({**GOOD, "min_quantity": "2", "max_quantity": "5"}, "en_US")
    assert [service.check_quantity(plan, n) for n in (2, 5)] == [2, 5]
