"""Products as a service (billing.products), rule by rule: what a product may hold, word for
word refusals, one active product per name, and what it lends to a document line."""
from decimal import Decimal

import pytest

import models
from billing import products as product_service
from money import MAX_MINOR
from tests import factories
from tests.core_support import activities, refused


@pytest.fixture
def staff(db):
    return factories.staff()


@pytest.mark.parametrize("fields, expected", [
    ({"name": "  "}, ("Enter the product's name.", "name")),
    ({"name": "x" * 101}, ("Name can have at most 100 characters.", "name")),
    ({"description": "x" * 2001}, ("Description can have at most 2000 characters.",
                                   "description")),
    ({"price": -1}, ("The price must be zero or more.", "price")),
    ({"price": MAX_MINOR + 1}, ("The price must be zero or more.", "price")),
    ({"price": True}, ("The price must be zero or more.", "price")),
    ({"price": "10"}, ("The price must be zero or more.", "price")),
    ({"price": 10.5}, ("The price must be zero or more.", "price")),
    ({"tax_name": "x" * 51}, ("Tax name can have at most 50 characters.", "tax_name")),
    ({"tax_rate": "x"}, ("The tax rate must be a number.", "tax_rate")),
    ({"tax_rate": None}, ("The tax rate must be a number.", "tax_rate")),
    ({"tax_rate": "NaN"}, ("The tax rate is a percentage from 0 to 100.", "tax_rate")),
    ({"tax_rate": "Infinity"}, ("The tax rate is a percentage from 0 to 100.", "tax_rate")),
    ({"tax_rate": "100.01"}, ("The tax rate is a percentage from 0 to 100.", "tax_rate")),
    ({"tax_rate": "-0.01"}, ("The tax rate is a percentage from 0 to 100.", "tax_rate")),
])
def test_what_a_product_may_not_hold_is_refused_word_for_word(staff, fields, expected):
    good = {"name": "Hosting", "description": "", "price": 2500, "tax_name": "VAT",
            "tax_rate": "20"}
    assert refused(product_service.create_product, **{**good, **fields}) == expected
    assert models.Product.select().count() == 0


def test_a_product_at_every_limit_is_kept_as_typed_and_logged(staff):
    product = product_service.create_product(
        "  " + "n" * 100 + " ", "d" * 2000, MAX_MINOR, "t" * 50, "100", staff=staff)
    kept = models.Product.get_by_id(product.id)
    assert (kept.name, kept.description, kept.price, kept.tax_name, kept.tax_rate) == (
        "n" * 100, "d" * 2000, MAX_MINOR, "t" * 50, Decimal("100"))
    free = product_service.create_product("Free")
    assert (free.price, free.tax_rate, free.description, free.tax_name) == (0, 0, "", "")
    assert activities("product.created") == [(product.id, None, None, staff.id, ""),
                                             (free.id, None, None, None, "")]


def test_only_one_active_product_may_have_a_name(staff):
    hosting = product_service.create_product("Hosting", price=2500)
    assert refused(product_service.create_product, "Hosting") == (
        "There is already a product called Hosting.", "name")
    other = product_service.create_product("Support", price=100)
    assert refused(product_service.update_product, other, "Hosting") == (
        "There is already a product called Hosting.", "name")
    renamed = product_service.update_product(hosting, "Hosting", "Monthly", 3000, "VAT", "20",
                                             staff=staff)
    assert (renamed.description, renamed.price, renamed.tax_name, renamed.tax_rate) == (
        "Monthly", 3000, "VAT", 20)
    bare = product_service.update_product(other, "Support")
    assert (bare.description, bare.price, bare.tax_name, bare.tax_rate) == ("", 0, "", 0)
    assert activities("product.updated") == [(hosting.id, None, None, staff.id, ""),
                                             (other.id, None, None, None, "")]

    archived = product_service.set_archived(hosting, True, staff=staff)
    assert archived.archived_at is not None
    assert models.Product.get_by_id(other.id).archived_at is None
    again = product_service.create_product("Hosting", price=999)
    assert refused(product_service.set_archived, archived, False) == (
        "There is already a product called Hosting.", "name")
    assert models.Product.get_by_id(hosting.id).archived_at is not None
    product_service.set_archived(again, True)
    restored = product_service.set_archived(archived, False, staff=staff)
    assert restored.archived_at is None
    assert [a[0] for a in activities("product.archived")] == [hosting.id, again.id]
    assert activities("product.restored") == [(hosting.id, None, None, staff.id, "")]


def test_a_line_finds_the_active_product_by_its_name_as_typed(staff):
    hosting = product_service.create_product("Hosting", price=2500)
    assert product_service.find("  Hosting ").id == hosting.id
    assert product_service.find("") is None and product_service.find(None) is None
    assert product_service.find("hosting ltd") is None
    product_service.set_archived(hosting, True)
    assert product_service.find("Hosting") is None


def test_a_product_fills_only_what_the_line_left_blank(staff):
    factories.company(currency="USD")
    product_service.create_product("Hosting", "Managed hosting", 2500, "VAT", "20")
    blank = {"product": "Hosting", "description": "", "unit_cost": None, "tax_name": "",
             "tax_rate": None, "quantity": 2}
    assert product_service.fill_line(blank, "USD") == {
        "product": "Hosting", "description": "Managed hosting", "unit_cost": 2500,
        "tax_name": "VAT", "tax_rate": Decimal("20"), "quantity": 2}
    assert blank["description"] == ""  # the line given is not changed
    typed = {"product": "Hosting", "description": "Mine", "unit_cost": 0, "tax_name": "",
             "tax_rate": "0"}
    assert product_service.fill_line(typed, "USD") == typed
    named_tax = {"product": "Hosting", "tax_name": "GST"}
    assert product_service.fill_line(named_tax, "USD") == {
        "product": "Hosting", "tax_name": "GST", "description": "Managed hosting",
        "unit_cost": 2500}


def test_a_product_lends_only_its_words_to_a_line_in_another_currency(staff):
    factories.company(currency="USD")
    product_service.create_product("Hosting", "Managed hosting", 2500, "VAT", "20")
    filled = product_service.fill_line({"product": "Hosting", "unit_cost": None}, "EUR")
    assert filled == {"product": "Hosting", "unit_cost": None,
                      "description": "Managed hosting", "tax_name": "VAT",
                      "tax_rate": Decimal("20")}


def test_a_line_naming_no_product_is_returned_as_it_is(staff):
    line = {"product": "Nothing by that name", "unit_cost": None}
    assert product_service.fill_line(line, "USD") is line
    assert product_service.fill_line({"product": ""}, "USD") == {"product": ""}
