"""Two client rules that protect the books: a client's currency is fixed once it has
invoices or payments, and one e-mail address is one contact's login."""
import pytest

import models
from billing import DomainError, clients
from billing import payments as payment_service
from tests import factories
from tests.api_support import NEW_CLIENT
from tests.core_support import opened, snapshot


def new_client(api):
    created = api.post("clients", json=NEW_CLIENT)
    assert created.status_code == 201, created.json
    return created.json["data"]


def test_currency_can_change_until_the_client_has_an_invoice(app, api):
    data = new_client(api)
    changed = api.put(f"clients/{data['id']}", json={"currency": "GBP"})
    assert changed.status_code == 200 and changed.json["data"]["currency"] == "GBP"
    with opened(app):
        factories.invoice(models.Client.get(models.Client.public_id == data["id"]),
                          currency="GBP")
        before = snapshot()
    refused = api.put(f"clients/{data['id']}", json={"currency": "USD", "name": "Renamed"})
    assert refused.status_code == 422
    assert refused.json["errors"]["currency"] == [
        "The currency of a client with invoices or payments cannot change."]
    with opened(app):
        assert snapshot() == before
    same = api.put(f"clients/{data['id']}", json={"currency": "GBP", "name": "Renamed"})
    assert same.status_code == 200  # naming the currency it already has is no change


def test_currency_is_fixed_by_a_payment_too(db):
    client = factories.client(currency="USD")
    invoice = factories.invoice(client)
    payment_service.record_manual(factories.staff(), client, "10.00", [invoice.id],
                                  method="cash", locale="en_US")
    models.Invoice.delete_by_id(invoice.id)  # only the payment is left
    before = snapshot()
    with pytest.raises(DomainError, match="cannot change"):
        clients.update_client(client, {"currency": "EUR"})
    assert snapshot() == before


def test_one_e_mail_address_is_one_contacts_login(app, api):
    data = new_client(api)
    with opened(app):
        before_other = snapshot()
    other = api.post("clients", json={"name": "Copycat", "currency": "USD", "contacts": [
        {"first_name": "Bill", "email": "BILL@initech.example"}]})
    assert other.status_code == 422, other.json
    assert other.json["errors"].get("contacts") == [
        "bill@initech.example is already the login of a contact of another client; each "
        "contact needs their own e-mail address."]
    with opened(app):
        assert snapshot() == before_other
    # Nor can a second contact of the same client, or an edit, take the address.
    peter = data["contacts"][1]["id"]
    for contacts in ([{"first_name": "Billy", "email": "bill@initech.example"}],
                     [{"id": peter, "email": "bill@initech.example"}]):
        response = api.put(f"clients/{data['id']}", json={"contacts": contacts})
        assert response.status_code == 422, contacts
        assert response.json["errors"]["contacts"] == [
            "This client already has a contact with the e-mail address bill@initech.example."]
        with opened(app):
            assert snapshot() == before_other
    kept = api.put(f"clients/{data['id']}", json={"contacts": [
        {"id": data["contacts"][0]["id"], "email": "bill@initech.example", "phone": "1"}]})
    assert kept.status_code == 200  # a contact keeping its own address is fine
