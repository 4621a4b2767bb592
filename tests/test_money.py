"""Money: parsing and formatting per currency exponent, and document totals."""
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

import i18n
import models
from billing import DomainError
from billing.documents import price_lines, set_lines, tax_summary
from money import (
    MAX_MINOR,
    MAX_TEXT,
    PLAIN,
    MoneyError,
    decimal_string,
    format_money,
    input_string,
    locale_for,
    parse,
    parse_number,
)
from tests import factories
from tests.core_support import opened


@pytest.mark.parametrize("text,currency,locale,minor", [
    ("125.00", "USD", "en_US", 12500), ("125", "USD", "en_US", 12500),
    ("0.5", "USD", "en_US", 50), (".5", "USD", "en_US", 50),
    ("1,250.75", "USD", "en_US", 125075), (" 9.99 ", "EUR", "en_US", 999),
    ("1000", "JPY", "en_US", 1000), ("1,000", "JPY", "en_US", 1000),
    ("1.234", "KWD", "en_US", 1234), ("0", "USD", "en_US", 0),
    ("1,234.56", "USD", "en_US", 123456), ("1,234.56", "USD", "en_GB", 123456),
    # German: comma for decimals, dot for thousands.
    ("10,00", "EUR", "de_DE", 1000), ("10", "EUR", "de_DE", 1000),
    ("1.234,56", "EUR", "de_DE", 123456), ("1234,56", "EUR", "de_DE", 123456),
    (",5", "EUR", "de_DE", 50), ("1.000", "JPY", "de_DE", 1000),
    ("1.000", "EUR", "de", 100000), ("1.234,56", "EUR", "de", 123456),
    # French groups with a narrow no-break space; a typed plain space means the same.
    ("1 234,56", "EUR", "fr_FR", 123456), ("1\u202f234,56", "EUR", "fr_FR", 123456),
    ("10,00", "EUR", "fr_FR", 1000),
    ("1,000", "JPY", "ja_JP", 1000), ("500", "JPY", "ja_JP", 500),
    # The machine format (JSON API): digits and a dot, never grouped.
    ("1250.00", "USD", PLAIN, 125000), ("1000", "JPY", PLAIN, 1000), ("0.05", "USD", PLAIN, 5),
])
def test_parse(text, currency, locale, minor):
    assert parse(text, currency, locale) == minor


@pytest.mark.parametrize("text,currency,locale,message", [
    # Ten or a mistyped thousand? Refused where the comma groups thousands, never 1,000.00.
    ("10,00", "USD", "en_US", "Enter the amount as a number, for example 1,250.00."),
    ("1.234,56", "USD", "en_US", "Enter the amount as a number"),
    ("1,2,3", "USD", "en_US", "Enter the amount as a number"),
    ("1,234.56", "EUR", "de_DE", "Enter the amount as a number, for example 1.250,00."),
    ("10.00", "EUR", "de_DE", "Enter the amount as a number"),
    (".5", "EUR", "de_DE", "Enter the amount as a number"),
    # A German "one thousand" typed where the dot is the decimal point: 1.000 is not 1.00.
    ("1.000", "USD", "en_US", "USD amounts have at most 2 decimal places."),
    ("12.340", "USD", "en_US", "USD amounts have at most 2 decimal places."),
    ("1,000", "USD", "de_DE", "USD amounts have at most 2 decimal places."),
    ("12.345", "USD", "en_US", "USD amounts have at most 2 decimal places."),
    ("10.5", "JPY", "en_US", "JPY amounts have no decimal places."),
    ("10,5", "JPY", "de_DE", "JPY amounts have no decimal places."),
    ("-5", "USD", "en_US", "The amount cannot be negative."),
    ("-5", "EUR", "de_DE", "The amount cannot be negative."),
    ("abc", "USD", "en_US", "Enter the amount as a number"),
    ("1e3", "USD", "en_US", "Enter the amount as a number"),
    ("NaN", "USD", "en_US", "Enter the amount as a number"),
    ("NaN", "EUR", "de_DE", "Enter the amount as a number"),
    ("Infinity", "USD", "en_US", "Enter the amount as a number"),
    ("-Infinity", "USD", "en_US", "Enter the amount as a number"),
    ("0x10", "USD", "en_US", "Enter the amount as a number"),
    ("1.2.3", "USD", "en_US", "Enter the amount as a number"),
    ("", "USD", "en_US", "Enter an amount"),
    ("   ", "EUR", "de_DE", "Enter an amount, for example 1.250,00."),
    (None, "USD", "en_US", "Enter an amount"),
    ("99999999999999999999", "USD", "en_US", "too large"),
    ("10000000000.01", "USD", "en_US", "too large"),
    ("1000000000001", "JPY", "ja_JP", "too large"),
    ("1" * 40, "USD", "en_US", "too large"),
    ("1" * 400, "USD", "en_US", "too large"),
    ("1." + "0" * 40, "USD", "en_US", "Enter the amount as a number"),
    ("1,250.00", "USD", PLAIN, "Enter the amount as a number, for example 1250.00."),
    ("10,00", "EUR", PLAIN, "Enter the amount as a number"),
    ("1e3", "USD", PLAIN, "Enter the amount as a number"),
    ("NaN", "USD", PLAIN, "Enter the amount as a number"),
    ("12.345", "USD", PLAIN, "USD amounts have at most 2 decimal places."),
])
def test_parse_refuses(text, currency, locale, message):
    with pytest.raises(MoneyError, match=re.escape(message)):
        parse(text, currency, locale)


def test_parse_caps_at_max_minor():
    assert parse("10000000000.00", "USD", "en_US") == MAX_MINOR
    assert MAX_MINOR * 1000 < 2 ** 63  # a thousand of them still fit a BIGINT


def test_parse_negative_when_allowed():
    assert parse("-12.50", "USD", "en_US", allow_negative=True) == -1250
    assert parse("-12,50", "EUR", "de_DE", allow_negative=True) == -1250


@pytest.mark.parametrize("minor,currency,locale,text", [
    (125075, "EUR", "de_DE", "1250,75"), (125075, "USD", "en_US", "1250.75"),
    (1000, "JPY", "ja_JP", "1000"), (5, "USD", PLAIN, "0.05"),
])
def test_input_string_reads_back(minor, currency, locale, text):
    """What a form field is filled with parses back to the same amount in that locale."""
    assert input_string(minor, currency, locale) == text
    assert parse(text, currency, locale) == minor


@pytest.mark.parametrize("minor,currency,locale,text", [
    (125075, "USD", "en_US", "$1,250.75"), (1000, "JPY", "en_US", "¥1,000"),
    (1000, "JPY", "ja_JP", "￥1,000"), (125075, "EUR", "de_DE", "1.250,75\xa0€"),
    (5, "USD", "en_US", "$0.05"), (-1250, "USD", "en_US", "-$12.50"),
])
def test_format(minor, currency, locale, text):
    assert format_money(minor, currency, locale) == text


def test_decimal_string():
    assert decimal_string(125000, "USD") == "1250.00"
    assert decimal_string(1000, "JPY") == "1000"
    assert decimal_string(5, "USD") == "0.05"


@given(st.integers(min_value=0, max_value=10 ** 12), st.sampled_from(["USD", "JPY", "KWD"]))
def test_decimal_string_round_trips(minor, currency):
    assert parse(decimal_string(minor, currency), currency, PLAIN) == minor


@given(st.integers(min_value=0, max_value=10 ** 12), st.sampled_from(["USD", "JPY", "KWD"]),
       st.sampled_from(["en_US", "de_DE", "fr_FR", "ja_JP", "de_CH", "en_IN"]))
def test_input_string_round_trips(minor, currency, locale):
    assert parse(input_string(minor, currency, locale), currency, locale) == minor


def line(**kw):
    return models.LineItem(**{"quantity": Decimal(1), "unit_cost": 0,
                              "discount_percent": Decimal(0), "tax_rate": Decimal(0), **kw})


def test_line_discount_and_tax():
    lines = [line(quantity=Decimal(3), unit_cost=3333, discount_percent=Decimal("10"),
                  tax_name="VAT", tax_rate=Decimal("20"))]
    # 3 x 33.33 = 99.99, less 10% = 89.991 -> 89.99; VAT 20% = 17.998 -> 18.00
    assert price_lines(lines) == (8999, 1800, 10799)
    assert (lines[0].amount, lines[0].tax_amount) == (8999, 1800)


def test_document_discount_is_shared_before_tax():
    lines = [line(unit_cost=10000, tax_name="VAT", tax_rate=Decimal("20")),
             line(unit_cost=5000)]
    # Discount 30.00 over 150.00: the taxed line carries 20.00 of it; VAT on 80.00.
    assert price_lines(lines, discount=3000) == (15000, 1600, 13600)


def test_tax_is_rounded_per_line():
    lines = [line(unit_cost=1, tax_name="T", tax_rate=Decimal("50")) for _ in range(3)]
    # Each 0.01 at 50% is 0.005 -> 0.01 per line (half up), so three lines carry 0.03.
    assert price_lines(lines) == (3, 3, 6)
    assert tax_summary(lines) == [("T 50%", 3)]


def test_zero_decimal_currency_totals():
    lines = [line(quantity=Decimal("3.5"), unit_cost=1200, tax_name="JCT", tax_rate=Decimal("10"))]
    assert price_lines(lines) == (4200, 420, 4620)


@pytest.mark.parametrize("discount", [-1, 10001])
def test_discount_outside_subtotal_refused(discount):
    with pytest.raises(DomainError, match="discount"):
        price_lines([line(unit_cost=10000)], discount=discount)


@pytest.mark.parametrize("bad", [
    {"quantity": "abc"}, {"quantity": "0"}, {"quantity": "NaN"}, {"unit_cost": "12.5"},
    {"tax_rate": "101"}, {"discount_percent": "-1"}, {"quantity": "1e12"},
])
def test_set_lines_refuses_bad_numbers(app, bad):
    with opened(app):
        invoice = factories.invoice(factories.client(), status="draft")
        before = [(li.quantity, li.unit_cost) for li in invoice.lines]
        with pytest.raises(DomainError):
            set_lines(invoice, [{"product": "X", "unit_cost": 100, **bad}], "invoice")
        assert [(li.quantity, li.unit_cost) for li in invoice.lines] == before


def test_set_lines_prices_the_stored_quantity(app):
    with opened(app):
        invoice = factories.invoice(factories.client(), status="draft")
        lines = set_lines(invoice, [{"quantity": "1.00005", "unit_cost": 100000}], "invoice")
        stored = models.LineItem.get_by_id(lines[0].id)
        assert stored.quantity == Decimal("1.0001") and stored.amount == 100010


def test_parse_without_locale_reads_and_explains_in_english():
    assert parse("1,250.50", "USD", None) == 125050
    with pytest.raises(MoneyError, match=re.escape("for example 1,250.00.")):
        parse("", "USD", None)
    with pytest.raises(MoneyError, match=re.escape("for example 1,250.00.")):
        parse("ten", "USD", "")


@pytest.mark.parametrize("text,locale,value", [
    ("1,5", "de_DE", Decimal("1.5")), ("1.5", "en_US", Decimal("1.5")),
    ("1.5", None, Decimal("1.5")), ("1,234.5", "", Decimal("1234.5")),
    ("1.5", PLAIN, Decimal("1.5")), ("-2.25", PLAIN, Decimal("-2.25")),
    (" 7 ", PLAIN, Decimal("7")),
    # MAX_TEXT characters is still a number; one more is not.
    ("1" * MAX_TEXT, "en_US", Decimal("1" * MAX_TEXT)),
    ("1" * MAX_TEXT, PLAIN, Decimal("1" * MAX_TEXT)),
    ("1" * (MAX_TEXT + 1), "en_US", None), ("1" * (MAX_TEXT + 1), PLAIN, None),
    ("", "en_US", None), ("   ", PLAIN, None), (None, "en_US", None), (None, PLAIN, None),
    ("abc", "en_US", None), ("abc", PLAIN, None), ("1,5", PLAIN, None), ("1e3", PLAIN, None),
])
def test_parse_number(text, locale, value):
    assert parse_number(text, locale) == value


def test_locale_for_prefers_contact_then_client_then_company():
    company = SimpleNamespace(locale="fr_FR")
    client = SimpleNamespace(locale="de_DE")
    assert locale_for(SimpleNamespace(locale="en_GB", client=client), company) == "en_GB"
    assert locale_for(SimpleNamespace(locale="", client=client), company) == "de_DE"
    assert locale_for(SimpleNamespace(locale="", client=SimpleNamespace(locale="")),
                      company) == "fr_FR"
    assert locale_for(None, company) == "fr_FR"
    # Nothing chosen anywhere (and no request to ask): the portal's default language.
    assert locale_for(SimpleNamespace(), SimpleNamespace()) == i18n.DEFAULT == "en"
    assert locale_for(None, SimpleNamespace(locale="")) == "en"
    assert locale_for() == "en"


@pytest.mark.parametrize("text,currency,locale,message", [
    ("1" * (MAX_TEXT + 1), "USD", "en_US", "That amount is too large."),
    (str(MAX_MINOR + 1), "JPY", PLAIN, "That amount is too large."),
    ("-1", "USD", "en_US", "The amount cannot be negative."),
    ("abc", "EUR", "de_DE", "Enter the amount as a number, for example 1.250,00."),
    ("1" * (MAX_TEXT + 1) + "x", "EUR", "de_DE",
     "Enter the amount as a number, for example 1.250,00."),
])
def test_parse_refusal_messages_exactly(text, currency, locale, message):
    with pytest.raises(MoneyError) as caught:
        parse(text, currency, locale)
    assert str(caught.value) == message


def test_parse_reads_an_amount_of_exactly_max_text_characters():
    text = "0" * (MAX_TEXT - 5) + "12.50"
    assert len(text) == MAX_TEXT and parse(text, "USD", "en_US") == 1250


@pytest.mark.parametrize("minor,currency,locale,text", [
    (1000, "JPY", "en_US", "1000"), (123456, "USD", None, "1234.56"),
    (123456, "USD", "", "1234.56"), (5, "KWD", "de_DE", "0,005"),
])
def test_input_string_exactly(minor, currency, locale, text):
    assert input_string(minor, currency, locale) == text
