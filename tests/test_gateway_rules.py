"""gateways/ itself: a setting's checks and masking, the base gateway's settings and label,
which gateway may run here, the demo gateway's test cards, charges and books, and the manual
gateway's instructions. The gateway form's pages are in test_admin_gateways.py."""
import datetime as dt

import pytest

import gateways
import models
from gateways.base import (
    ChargeResult,
    Gateway,
    GatewayError,
    PaymentDeclined,
    SettingField,
    keep_charges_in,
)
from gateways.demo import DemoGateway
from gateways.manual import ManualGateway
from tests.payments_support import make_gateway


@pytest.mark.parametrize("field, value, message", [
    (SettingField("k", "Secret Key", required=True), "", "Enter the secret key."),
    (SettingField("k", "A Secret", required=True), "", "Enter the a secret."),
    (SettingField("k", "Account ID", required=True), "", "Enter the account ID."),
    (SettingField("k", "Note"), "", None),
    (SettingField("k", "Note", max_length=5), "abcde", None),
    (SettingField("k", "Note", max_length=5), "abcdef", "The note is at most 5 characters."),
    (SettingField("k", "Key", prefixes=("sk_test_", "sk_live_")), "pk_test_1",
     "The key starts with “sk_test_” or “sk_live_”."),
    (SettingField("k", "Key", prefixes=("sk_test_",)), "sk_test_1", None),
    (SettingField("k", "API Address", url=True), "ftp://x", "The API address is an address "
     "starting with https://."),
    (SettingField("k", "Address", url=True), "http://127.0.0.1:1", None),
    (SettingField("k", "Address", url=True), "https://stripe.example", None),
    (SettingField("k", "Key"), "sk test", "The key has no spaces."),
    (SettingField("k", "Key"), "sk\ttest", "The key has no spaces."),
    (SettingField("k", "Instructions", multiline=True), "Pay to\nIBAN 1", None),
])
def test_a_setting_says_what_is_wrong_with_a_value(field, value, message):
    assert field.check(value) == message


def test_a_setting_is_at_most_255_characters_unless_it_says(db):
    assert SettingField("k", "Key").check("a" * 255) is None
    assert SettingField("k", "Key").check("a" * 256) == "The key is at most 255 characters."


@pytest.mark.parametrize("value, shown", [
    (None, ""), ("", ""), ("sk_test_12345678", "sk_test_…5678"),
    ("sk_test_1234567", "•" * 8), ("rk_live_abcdefghijklmnopqrstuvw", "rk_live_…tuvw"),
    ("whsec_abcdefghijklmnop", "whsec_…mnop"), ("averyveryverylong_key_value_9", "averyvery…ue_9"),
])
def test_a_secret_shows_only_its_kind_and_last_four(value, shown):
    assert SettingField("k", "Key", secret=True).masked(value) == shown
    assert SettingField("k", "Key").masked(value) == (value or "")


def test_a_gateways_settings_and_label_come_from_its_row(db):
    config = make_gateway("manual", instructions="IBAN DE00 1234")
    gateway = Gateway(config)
    assert (gateway.settings, gateway.label) == ({"instructions": "IBAN DE00 1234"}, "")
    config.label = "Transfer"
    assert ManualGateway(config).label == "Transfer"
    config.label = ""
    assert ManualGateway(config).label == "Bank transfer or cheque"
    for broken in ("", "{not json", None, "[1, 2]", "\"text\""):  # JSON, not an object
        config.settings = broken
        assert Gateway(config).settings == {}
    assert Gateway(config).validate_settings({"x": 1}) == []
    assert Gateway(config).instructions() == ""
    assert Gateway(config).detach("tok") is None
    for call in ("retrieve_charge", "cancel_charge"):
        with pytest.raises(NotImplementedError):
            getattr(Gateway(config), call)("ref")


def test_a_gateway_failure_says_nothing_was_charged_unless_it_says_more():
    assert GatewayError().message == ("The payment service did not answer. Nothing was "
                                      "charged; please try again in a moment.")
    assert str(GatewayError()) == GatewayError().message
    assert (str(PaymentDeclined("Declined.")), PaymentDeclined("Declined.").message) == (
        "Declined.", "Declined.")
    assert (GatewayError.retryable, PaymentDeclined.retryable) == (True, False)


def test_a_gateway_keeps_its_charges_where_billing_says(db):
    config, installed = make_gateway("demo"), Gateway.charge_book
    own, elsewhere = object(), object()
    assert Gateway(config, charge_book=own).charge_book is own
    try:
        keep_charges_in(elsewhere)
        assert (Gateway(config).charge_book, DemoGateway(config).charge_book) == (
            elsewhere, elsewhere)
    finally:
        keep_charges_in(installed)
    assert installed is not None and Gateway(config).charge_book is installed


def test_the_manual_gateway_shows_the_business_instructions_or_a_plain_default(db):
    assert ManualGateway(make_gateway("manual", instructions="IBAN DE00")).instructions() == \
        "IBAN DE00"
    assert ManualGateway(make_gateway("manual")).instructions() == (
        "Please pay by bank transfer or cheque and quote the invoice number. We record your "
        "payment when it arrives.")
    assert ManualGateway(make_gateway("manual", instructions="")).instructions().startswith(
        "Please pay by bank transfer")


@pytest.mark.parametrize("env, app_env, demo_runs", [
    ("", "development", True), ("production", "development", False),
    (" Production ", "development", False), ("staging", "production", False),
])
def test_the_demo_gateway_never_runs_in_production(db, app, monkeypatch, env, app_env,
                                                   demo_runs):
    monkeypatch.setenv("PORTAL_ENV", env)
    monkeypatch.setitem(app.config, "PORTAL_ENV", app_env)
    demo, manual = make_gateway("demo"), make_gateway("manual")
    assert isinstance(gateways.for_config(demo), DemoGateway) is demo_runs
    assert isinstance(gateways.for_config(manual), ManualGateway)
    assert gateways.for_config(models.GatewayConfig(kind="paypal")) is None
    assert DemoGateway(demo).validate_settings({}, production=True) == [
        "The demo gateway cannot be used when PORTAL_ENV=production."]
    assert DemoGateway(demo).validate_settings({}, production=False) == []
    assert DemoGateway(demo).validate_settings({}) == []


def test_production_is_read_outside_an_app_too(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "PRODUCTION")
    assert gateways.production() is True
    monkeypatch.setenv("PORTAL_ENV", "")
    assert gateways.production() is False


TODAY = dt.date(2026, 11, 27)


def tokenize(number="4242 4242 4242 4242", month="12", year="2030", cvc="123"):
    return DemoGateway.__new__(DemoGateway).tokenize(number, month, year, cvc, today=TODAY)


@pytest.mark.parametrize("number, brand", [
    ("4242424242424242", "visa"), (" 5555 5555 5555 4444 ", "mastercard"),
    ("4000000000000341", "visa"),
])
def test_a_test_card_becomes_a_token_and_what_a_person_recognises(number, brand):
    method = tokenize(number)
    outcome = "chargedeclined" if number.endswith("341") else "ok"
    assert method.token.startswith(f"demo_{outcome}_") and len(method.token) == len(
        f"demo_{outcome}_") + 16
    assert (method.customer_reference, method.method_type, method.brand, method.last4,
            method.exp_month, method.exp_year) == ("demo", "card", brand, number.strip()[-4:],
                                                   12, 2030)
    assert tokenize(number).token != method.token


@pytest.mark.parametrize("month, year, cvc, expected", [
    ("11", "2026", "123", (11, 2026)), ("1", "27", "1234", (1, 2027)),
    ("12", "2100", "123", (12, 2100)), ("12", "99", "123", (12, 2099)),
])
def test_an_expiry_this_month_or_later_is_accepted(month, year, cvc, expected):
    method = tokenize(month=month, year=year, cvc=cvc)
    assert (method.exp_month, method.exp_year) == expected


@pytest.mark.parametrize("kwargs, message", [
    ({"number": "4111111111111111"}, "The demo gateway accepts only test card numbers, for "
     "example 4242 4242 4242 4242."),
    ({"number": None}, "The demo gateway accepts only test card numbers, for example 4242 "
     "4242 4242 4242."),
    ({"month": "xx"}, "Enter the card's expiry month and year."),
    ({"year": None}, "Enter the card's expiry month and year."),
    ({"month": "0"}, "The card's expiry date is not valid."),
    ({"month": "13"}, "The card's expiry date is not valid."),
    ({"month": "10", "year": "2026"}, "The card's expiry date is not valid."),
    ({"month": "12", "year": "2025"}, "The card's expiry date is not valid."),
    ({"year": "2101"}, "The card's expiry date is not valid."),
    ({"year": "100"}, "The card's expiry date is not valid."),  # two digits only mean 20xx
    ({"cvc": "12"}, "Enter the 3-digit security code from the back of the card."),
    ({"cvc": "12345"}, "Enter the 3-digit security code from the back of the card."),
    ({"cvc": "12a"}, "Enter the 3-digit security code from the back of the card."),
    ({"cvc": None}, "Enter the 3-digit security code from the back of the card."),
    ({"number": "4000000000000002"}, "Your card was declined. Try another card."),
])
def test_a_card_the_demo_gateway_refuses_says_why(kwargs, message):
    with pytest.raises(PaymentDeclined) as refused:
        tokenize(**kwargs)
    assert refused.value.message == message


def test_the_demo_gateway_takes_today_in_utc_when_not_told(db):
    today = dt.datetime.now(dt.UTC).date()
    gateway = DemoGateway(make_gateway("demo"))
    assert gateway.tokenize("4242424242424242", str(today.month), str(today.year), "123")
    last_month = today.replace(day=1) - dt.timedelta(days=1)
    with pytest.raises(PaymentDeclined):
        gateway.tokenize("4242424242424242", str(last_month.month), str(last_month.year),
                         "123")


def test_a_card_expiring_this_month_in_utc_is_valid_wherever_the_server_is(monkeypatch):
    """20:00 UTC on 30 November is already 1 December on a server in UTC+14."""
    instant = dt.datetime(2026, 11, 30, 20, 0, tzinfo=dt.UTC)

    class Clock(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return instant.astimezone(tz) if tz else instant.astimezone(
                dt.timezone(dt.timedelta(hours=14))).replace(tzinfo=None)
    monkeypatch.setattr(dt, "datetime", Clock)
    method = DemoGateway.__new__(DemoGateway).tokenize("4242424242424242", "11", "2026", "123")
    assert (method.exp_month, method.exp_year) == (11, 2026)


def test_a_demo_charge_is_booked_once_per_key_and_found_again(db):
    gateway = DemoGateway(make_gateway("demo"))
    card = tokenize()
    first = gateway.charge(card, 2500, "usd", idempotency_key="demo-key-1",
                           metadata={"payment": "pay_public_1"})
    assert (first.status, first.amount, first.currency) == ("succeeded", 2500, "USD")
    assert first.reference.startswith("demo_ch_") and len(first.reference) == 28
    again = gateway.charge(card, 2500, "USD", idempotency_key="demo-key-1")
    assert again == first
    assert gateway.retrieve_charge(first.reference) == first
    assert gateway.find_charge("demo-key-1", {}) == first
    assert gateway.find_charge("demo-key-2", {}) is None
    booked = models.DemoCharge.get(models.DemoCharge.idempotency_key == "demo-key-1")
    assert (booked.payment, booked.amount, booked.currency) == ("pay_public_1", 2500, "USD")
    with pytest.raises(PaymentDeclined) as refused:
        gateway.charge(card, 2600, "USD", idempotency_key="demo-key-1")
    assert refused.value.message == ("This payment form was already used for another amount. "
                                     "Please start again.")
    with pytest.raises(PaymentDeclined):
        gateway.charge(card, 2500, "EUR", idempotency_key="demo-key-1")
    with pytest.raises(PaymentDeclined) as unknown:
        gateway.retrieve_charge("demo_ch_none")
    assert unknown.value.message == "The demo gateway has no such charge."
    assert models.DemoCharge.select().count() == 1
    unlabelled = gateway.charge(card, 100, "USD", idempotency_key="demo-key-3")
    assert models.DemoCharge.get(
        models.DemoCharge.reference == unlabelled.reference).payment == ""


@pytest.mark.parametrize("token, error", [
    ("demo_chargedeclined_1", PaymentDeclined), ("demo_declined_1", PaymentDeclined),
    ("stripe_ok_1", PaymentDeclined), ("demo_error_1", GatewayError),
])
def test_a_demo_card_that_cannot_be_charged_books_nothing(db, token, error):
    gateway = DemoGateway(make_gateway("demo"))
    card = tokenize()
    card.token = token
    with pytest.raises(error) as refused:
        gateway.charge(card, 100, "USD", idempotency_key="demo-key-9")
    if error is PaymentDeclined:
        assert refused.value.message == "Your card was declined. Try another card."
    assert models.DemoCharge.select().count() == 0


def test_a_second_booking_under_a_key_returns_the_first(db):
    from billing.gateway_books import StoredCharges
    books = StoredCharges()
    books.book(idempotency_key="demo-key-other", amount=1, currency="USD",
               reference="demo_ch_other", payment="")
    first = books.book(idempotency_key="demo-key-5", amount=700, currency="USD",
                       reference="demo_ch_first", payment="pay_1")
    # As when two processes book the same key at once: the row that got there first wins.
    second = books.book(idempotency_key="demo-key-5", amount=700, currency="USD",
                        reference="demo_ch_second", payment="pay_1")
    assert first == second == books.by_reference("demo_ch_first")
    assert books.by_reference("demo_ch_second") is None


def test_a_demo_gateway_without_books_says_who_installs_them(db):
    gateway = DemoGateway(make_gateway("demo"))
    gateway.charge_book = None
    with pytest.raises(RuntimeError) as missing:
        gateway.charge(tokenize(), 100, "USD", idempotency_key="demo-key-4")
    assert str(missing.value) == ("The demo gateway has no books: billing installs them "
                                  "(gateways.base.keep_charges_in) when it is imported.")


def test_a_demo_refund_gives_back_what_was_asked(db):
    refund = DemoGateway(make_gateway("demo")).refund("demo_ch_1", 700)
    assert refund["amount"] == 700 and refund["id"].startswith("demo_re_")
    assert len(refund["id"]) == len("demo_re_") + 16
    assert isinstance(ChargeResult("r", "succeeded"), ChargeResult)
