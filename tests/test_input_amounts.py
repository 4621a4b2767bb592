"""Amounts typed by people are read in their locale, and a blank is never the balance."""
from decimal import Decimal

import pytest

import models
from billing import DomainError, allocation
from billing import payments as payment_service
from tests import factories
from tests.api_support import NEW_CLIENT
from tests.conftest import csrf_token
from tests.core_support import login_staff, opened
from tests.payments_support import pay, reload, review, save_card


def _setup(client, auth, world, demo_gateway, locale):
    factories.company(allow_partial_payments=True)
    models.Contact.update(locale=locale).where(models.Contact.email == "a1@alpha.example") \
        .execute()
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway)
    return models.GatewayToken.get(), world["invoices"]["sent"]


@pytest.mark.parametrize("locale,text,paid", [
    ("de_DE", "10,00", 1000), ("de_DE", "12,5", 1250), ("en_US", "10.00", 1000),
    ("fr_FR", "10,00", 1000), ("en_US", "1,0.00", None), ("en_US", "10,00", None),
    ("de_DE", "10.00", None),
])
def test_portal_amount_is_read_in_the_contacts_locale(client, auth, world, demo_gateway, conn,
                                                      locale, text, paid):
    token, sent = _setup(client, auth, world, demo_gateway, locale)
    before = models.Payment.select().count()
    response = pay(client, [sent], f"token:{token.public_id}", amounts={sent: text})
    if paid is None:
        # Ambiguous: "10,00" could be ten or a mistyped thousand. Refused, never 1,000.00.
        assert response.status_code == 422
        # The message speaks the contact's language too (tests/test_i18n_choice.py).
        expected = {"de": "Geben Sie den Betrag als Zahl ein"}.get(
            locale[:2], "Enter the amount as a number")
        assert expected in response.get_data(as_text=True)
        assert models.Payment.select().count() == before
        assert reload(sent).balance == 10000
    else:
        assert response.status_code == 303
        assert reload(sent).balance == 10000 - paid


def test_checkout_form_is_filled_in_the_contacts_locale(client, auth, world, demo_gateway,
                                                        conn):
    token, sent = _setup(client, auth, world, demo_gateway, "de_DE")
    page = review(client, [sent]).get_data(as_text=True)
    assert f'name="amount_{sent.public_id}"' in page and 'value="100,00"' in page
    # Sent back unchanged, the filled-in amount pays the balance, not a hundredth of it.
    assert pay(client, [sent], f"token:{token.public_id}",
               amounts={sent: "100,00"}).status_code == 303
    assert reload(sent).status == "paid"


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_typed_amount_is_refused_not_the_balance(client, auth, world, demo_gateway, conn,
                                                       blank):
    token, sent = _setup(client, auth, world, demo_gateway, "en_US")
    response = pay(client, [sent], f"token:{token.public_id}", amounts={sent: blank})
    assert response.status_code == 422
    assert "Enter an amount" in response.get_data(as_text=True)
    assert reload(sent).balance == 10000 and models.Payment.select().count() == 0


def test_form_choice_says_full_or_due(world, conn):
    """Without a typed amount, the form's choice decides: the deposit or the whole balance."""
    company = factories.company()
    sent = world["invoices"]["sent"]
    models.Invoice.update(partial=3000).where(models.Invoice.id == sent.id).execute()
    due = allocation.plan(world["a"].id, [(sent.public_id, allocation.DUE)], company)
    full = allocation.plan(world["a"].id, [(sent.public_id, allocation.FULL)], company)
    assert (due.total, full.total) == (3000, 10000)
    with pytest.raises(DomainError, match="Enter an amount"):
        allocation.plan(world["a"].id, [(sent.public_id, "")], company)


def test_staff_amounts_are_read_in_the_company_locale(world, conn):
    staff = factories.staff()
    sent = world["invoices"]["sent"]
    payment = payment_service.record_manual(staff, world["a"], "40,00", [sent.id],
                                            method="cash", locale="de_DE")
    assert payment.amount == 4000 and reload(sent).balance == 6000
    with pytest.raises(DomainError, match="as a number"):
        payment_service.record_manual(staff, world["a"], "40,00", [sent.id], method="cash",
                                      locale="en_US")
    assert reload(sent).balance == 6000


def test_staff_quote_form_reads_the_company_locale(app, client):
    with opened(app):
        factories.company(locale="de_DE")
        customer = factories.client(currency="EUR")
        staff = factories.staff()
    login_staff(client, staff.email)
    path = "/admin/quotes/new"
    page = client.get(path).get_data(as_text=True)
    assert 'placeholder="0,00"' in page
    response = client.post(path, data={
        "csrf_token": csrf_token(client, path), "client": str(customer.id),
        "product": ["Logo"], "description": [""], "quantity": ["2,5"],
        "unit_price": ["1.234,56"], "tax_name": ["MwSt"], "tax_rate": ["19,5"],
        "discount": "10,00"})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    with opened(app):
        line = models.LineItem.get()
        assert (line.quantity, line.unit_cost, line.tax_rate) == (
            Decimal("2.5"), 123456, Decimal("19.5"))
        assert models.Quote.get().discount == 1000


@pytest.mark.parametrize("amount,status", [
    ("1250.00", 201), ("10,00", 422), ("1,250.00", 422), ("1.250,00", 422), ("1e3", 422),
    ("NaN", 422), ("10000000000.01", 422)])
def test_api_money_is_a_plain_decimal_whatever_the_locale(api, app, amount, status):
    """JSON money is "1250.00" (DESIGN §7): never read in anyone's locale."""
    with opened(app):
        factories.company(locale="de_DE")
    c = api.post("clients", json=NEW_CLIENT).json["data"]
    response = api.post("payments", json={"client_id": c["id"], "amount": amount,
                                          "method": "bank_transfer"})
    assert response.status_code == status, response.json
    if status == 201:
        assert response.json["data"]["amount"] == "1250.00"
    else:
        assert "amount" in response.json["errors"]


@pytest.mark.parametrize("change", [
    {"name": "Initech\nBcc: all@evil.example"},
    {"contacts": [{"first_name": "Bill",
                   "email": "bill@initech.example\r\nBcc: x@evil.example"}]},
    {"contacts": [{"first_name": "Bi\nll", "email": "bill@initech.example"}]},
])
def test_api_refuses_line_breaks_in_names_and_addresses(api, app, change):
    response = api.post("clients", json={**NEW_CLIENT, **change})
    assert response.status_code == 422, response.json
    with opened(app):
        assert not models.Client.select().exists()
