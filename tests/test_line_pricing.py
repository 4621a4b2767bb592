"""Document lines (billing.documents), rule by rule: what a line may hold, each refusal word
for word with the line it names, the rounding at every half, and the tax summary's labels.
tests/test_money.py has the worked examples of a whole document's totals."""
from decimal import Decimal

import pytest

import models
from billing import DomainError, documents
from money import MAX_MINOR
from tests import factories


def refusal(line_dicts, discount=0):
    with pytest.raises(DomainError) as refused:
        documents.preview(line_dicts, discount)
    return refused.value.message, refused.value.field


def priced(**line):
    """(amount, tax_amount) of one line priced alone."""
    lines, *_ = documents.preview([line])
    return lines[0].amount, lines[0].tax_amount


@pytest.mark.parametrize("line, message", [
    ({"quantity": "abc"}, "Line 1: Quantity must be a number."),
    ({"quantity": None}, "Line 1: Quantity must be a number."),
    ({"quantity": "NaN"}, "Line 1: Quantity must be a number."),
    ({"quantity": "Infinity"}, "Line 1: Quantity must be a number."),
    ({"quantity": "1000000000"}, "Line 1: Quantity must be a number."),
    ({"quantity": "-1000000000"}, "Line 1: Quantity must be a number."),
    ({"quantity": "0"}, "Line 1: Each line needs a quantity above zero."),
    ({"quantity": "0.00004"}, "Line 1: Each line needs a quantity above zero."),
    ({"quantity": "-1"}, "Line 1: Each line needs a quantity above zero."),
    ({"unit_cost": "12.5"}, "Line 1: The price must be a whole number of minor units."),
    ({"unit_cost": True}, "Line 1: The price must be a whole number of minor units."),
    ({"unit_cost": "1" * 30 + "x"}, "Line 1: The price must be a whole number of minor units."),
    ({"unit_cost": "9" * 31}, "Line 1: That price is too large."),
    ({"unit_cost": "0" * 30 + "5"}, "Line 1: That price is too large."),  # 31 characters
    ({"unit_cost": "9" * 5000}, "Line 1: That price is too large."),
    ({"unit_cost": "X" + "1" * 30}, "Line 1: The price must be a whole number of minor units."),
    ({"unit_cost": "-" + "9" * 31}, "Line 1: That price is too large."),
    ({"unit_cost": MAX_MINOR + 1}, "Line 1: That price is too large."),
    ({"unit_cost": -MAX_MINOR - 1}, "Line 1: That price is too large."),
    ({"discount_percent": "ten"}, "Line 1: Discount must be a number."),
    ({"tax_rate": "ten"}, "Line 1: Tax rate must be a number."),
    ({"discount_percent": "100.01"},
     "Line 1: Discounts and tax rates are percentages from 0 to 100."),
    ({"discount_percent": "-0.01"},
     "Line 1: Discounts and tax rates are percentages from 0 to 100."),
    ({"tax_rate": "100.01"}, "Line 1: Discounts and tax rates are percentages from 0 to 100."),
    ({"tax_rate": "-0.01"}, "Line 1: Discounts and tax rates are percentages from 0 to 100."),
])
def test_what_a_line_may_not_hold_is_refused_naming_the_line(line, message):
    assert refusal([{"unit_cost": 100, **line}]) == (message, "lines")
    assert refusal([{"unit_cost": 100}, {"unit_cost": 100, **line}]) == (
        message.replace("Line 1:", "Line 2:"), "lines")


def test_a_line_at_every_limit_is_taken():
    lines, *_ = documents.preview([
        {"quantity": "999999999.9999", "unit_cost": 0, "discount_percent": "100",
         "tax_rate": "100"},
        {"quantity": "0.00005", "unit_cost": MAX_MINOR, "discount_percent": "0",
         "tax_rate": "0"},
        {"quantity": " 2 ", "unit_cost": " -" + "0" * 28 + "5 "},  # 30 characters
    ])
    assert [line.quantity for line in lines] == [Decimal("999999999.9999"), Decimal("0.0001"),
                                                 Decimal(2)]
    assert [line.unit_cost for line in lines] == [0, MAX_MINOR, -5]


def test_a_line_defaults_to_one_of_nothing_untaxed():
    lines, subtotal, tax, total = documents.preview([{}])
    line = lines[0]
    assert (line.position, line.product, line.description, line.quantity, line.unit_cost,
            line.discount_percent, line.tax_name, line.tax_rate) == (
        0, "", "", Decimal(1), 0, Decimal(0), "", Decimal(0))
    assert (subtotal, tax, total) == (0, 0, 0)


def test_each_line_keeps_its_position_and_words():
    lines, *_ = documents.preview([{"product": "A", "description": "first"},
                                   {"product": "B", "description": "second", "tax_name": "VAT"}])
    assert [(line.position, line.product, line.description, line.tax_name)
            for line in lines] == [(0, "A", "first", ""), (1, "B", "second", "VAT")]


@pytest.mark.parametrize("quantity, kept", [("1.00005", "1.0001"), ("1.00004", "1.0000"),
                                            ("2.50015", "2.5002")])
def test_a_quantity_keeps_four_places_rounding_half_up(quantity, kept):
    lines, *_ = documents.preview([{"quantity": quantity, "unit_cost": 1}])
    assert str(lines[0].quantity) == kept


@pytest.mark.parametrize("line, expected", [
    ({"quantity": "0.5", "unit_cost": 1}, (1, 0)),                    # 0.5 -> 1
    ({"quantity": "0.4999", "unit_cost": 1}, (0, 0)),
    ({"unit_cost": 1, "tax_rate": "50"}, (1, 1)),                     # tax 0.5 -> 1
    ({"unit_cost": 1, "tax_rate": "49.99"}, (1, 0)),
    ({"unit_cost": 5, "discount_percent": "10"}, (5, 0)),              # 4.5 -> 5
    ({"unit_cost": 5, "discount_percent": "10.01"}, (4, 0)),
    ({"unit_cost": 1000, "discount_percent": "100", "tax_rate": "20"}, (0, 0)),
    ({"quantity": "3", "unit_cost": 3333, "tax_rate": "20"}, (9999, 2000)),  # 1999.8
])
def test_amounts_and_taxes_round_half_up_to_the_minor_unit(line, expected):
    assert priced(**line) == expected


def test_a_documents_total_past_the_largest_amount_is_refused():
    assert refusal([{"unit_cost": MAX_MINOR}, {"unit_cost": 1}]) == (
        "That total is too large for one document: lower the quantity or the price.", "lines")
    assert refusal([{"quantity": "2", "unit_cost": MAX_MINOR}]) == (
        "That total is too large for one document: lower the quantity or the price.", "lines")
    assert refusal([{"unit_cost": -MAX_MINOR}, {"unit_cost": -1}]) == (
        "That total is too large for one document: lower the quantity or the price.", "lines")
    _, subtotal, _, total = documents.preview([{"unit_cost": MAX_MINOR - 1}, {"unit_cost": 1}])
    assert subtotal == total == MAX_MINOR
    assert documents.preview([{"unit_cost": MAX_MINOR}])[1] == MAX_MINOR


def test_the_document_discount_runs_from_zero_to_the_subtotal():
    assert documents.preview([{"unit_cost": 1000}], 1000)[1:] == (1000, 0, 0)
    assert documents.preview([{"unit_cost": 1000}], 0)[1:] == (1000, 0, 1000)
    for discount in (-1, 1001):
        assert refusal([{"unit_cost": 1000}], discount) == (
            "The discount must be between zero and the subtotal.", "discount")


def test_a_discount_share_is_taken_off_before_each_lines_tax():
    lines, subtotal, tax, total = documents.preview(
        [{"unit_cost": 3000, "tax_rate": "10"}, {"unit_cost": 1000, "tax_rate": "0"}], 1000)
    # 10.00 shared 3:1: the taxed line pays tax on 30.00 - 7.50 = 22.50 -> 2.25
    assert [line.tax_amount for line in lines] == [225, 0]
    assert (subtotal, tax, total) == (4000, 225, 3225)


def test_lines_that_cancel_out_are_each_taxed_on_their_own_amount():
    lines, subtotal, tax, total = documents.preview(
        [{"unit_cost": 5, "tax_rate": "10"}, {"unit_cost": -5}])
    assert [line.tax_amount for line in lines] == [1, 0]  # 0.5 rounds up; no share of 0
    assert (subtotal, tax, total) == (0, 1, 1)


def test_the_tax_summary_adds_each_named_rate_and_leaves_out_untaxed_lines():
    lines, *_ = documents.preview([
        {"unit_cost": 1000, "tax_name": "VAT", "tax_rate": "20.000"},
        {"unit_cost": 500, "tax_name": "VAT", "tax_rate": "20"},
        {"unit_cost": 1000, "tax_name": "", "tax_rate": "3.50"},
        {"unit_cost": 1000, "tax_name": "Zero", "tax_rate": "0"},
    ])
    assert documents.tax_summary(lines) == [("VAT 20%", 300), ("3.5%", 35)]


@pytest.mark.parametrize("value, text", [("20.000", "20"), ("3.50", "3.5"), ("100", "100"),
                                         ("0.0001", "0.0001"), (Decimal("2E+1"), "20")])
def test_a_rate_is_shown_without_trailing_zeros_or_exponent(value, text):
    assert documents.plain_number(value) == text


def test_setting_lines_replaces_the_old_ones_and_repricing_keeps_them(db):
    invoice = factories.invoice(factories.client(), status="draft")
    other = factories.invoice(invoice.client, status="draft")
    others_lines = [line.id for line in other.lines]
    documents.set_lines(invoice, [{"description": "New", "unit_cost": 2000,
                                   "tax_rate": "10"}], "invoice")
    invoice.save()
    kept = list(models.LineItem.select().where(models.LineItem.invoice == invoice))
    assert [(line.description, line.amount, line.tax_amount) for line in kept] == [
        ("New", 2000, 200)]
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (2000, 200, 2200)
    invoice.discount = 1000
    documents.reprice(invoice, "invoice")
    again = list(models.LineItem.select().where(models.LineItem.invoice == invoice))
    assert [(line.id, line.amount, line.tax_amount) for line in again] == [
        (kept[0].id, 2000, 100)]
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (2000, 100, 1100)
    assert [line.id for line in other.lines] == others_lines
