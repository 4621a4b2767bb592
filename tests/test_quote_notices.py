"""What the business is told when a quote is answered (billing.quote_mail), word for word:
who answered, which quotes became which invoices, and where to act on it."""
import pytest

import models
from billing import quotes as quote_service
from tests import factories
from tests.quotes_support import png_data_url, quote

CONFIG = {"BASE_URL": "http://portal.test", "SMTP_URL": ""}


@pytest.fixture
def buyer(db):
    factories.company()
    client = factories.client(name="Gamma Co")
    return factories.contact(client, first_name="Dana", last_name="Buyer",
                             email="dana@gamma.example")


def notice(subject):
    sent = models.EmailMessage.get(models.EmailMessage.subject == subject)
    assert sent.to == "billing@test.example"
    return sent.body_text


def test_a_contacts_approval_names_them_the_invoice_their_address_and_signature(
        buyer, tmp_path):
    q = quote(buyer.client)
    invoice = quote_service.approve(buyer, q, "192.0.2.1", png_data_url(),
                                    config=dict(CONFIG, OUTBOX_PATH=str(tmp_path)))
    assert notice(f"Quote {q.number} approved by Gamma Co") == (
        "Dana Buyer <dana@gamma.example> approved a quote for Gamma Co.\n\n"
        f"Quote {q.number} ($1,384.76) became invoice {invoice.number}, marked sent; "
        "approved from 192.0.2.1, signed.\n\n"
        "Back office: http://portal.test/admin/quotes")


def test_staff_approving_several_quotes_get_one_notice_pairing_each_with_its_invoice(
        buyer, tmp_path):
    first, second = quote(buyer.client), quote(buyer.client, lines=[
        {"product": "Audit", "quantity": 1, "unit_cost": 25000}])
    invoices, _ = quote_service.approve_many(None, [first, second],
                                             config=dict(CONFIG, OUTBOX_PATH=str(tmp_path)))
    assert notice("2 quotes approved by Gamma Co") == (
        "Staff approved 2 quotes for Gamma Co.\n\n"
        f"Quote {first.number} ($1,384.76) became invoice {invoices[0].number}, marked sent.\n"
        f"Quote {second.number} ($250.00) became invoice {invoices[1].number}, marked sent.\n"
        "\nBack office: http://portal.test/admin/quotes")
    assert models.EmailMessage.select().count() == 1


def test_a_decline_names_who_declined_the_reason_and_where_to_offer_it_again(buyer, tmp_path):
    q = quote(buyer.client)
    quote_service.decline(buyer, q, "Too dear", config=dict(CONFIG, OUTBOX_PATH=str(tmp_path)))
    assert notice(f"Quote {q.number} declined by Gamma Co") == (
        f"Dana Buyer <dana@gamma.example> declined quote {q.number} ($1,384.76) for Gamma Co."
        "\n\nReason: Too dear\n\n"
        "To offer it again, re-send it from the back office: http://portal.test/admin/quotes")


def test_without_a_base_url_the_notices_point_at_the_path_alone(buyer, tmp_path):
    approved, declined = quote(buyer.client), quote(buyer.client)
    config = {"SMTP_URL": "", "OUTBOX_PATH": str(tmp_path)}
    quote_service.approve(buyer, approved, config=config)
    quote_service.decline(buyer, declined, config=config)
    assert notice(f"Quote {approved.number} approved by Gamma Co").endswith(
        "\nBack office: /admin/quotes")
    assert notice(f"Quote {declined.number} declined by Gamma Co").endswith(
        ": /admin/quotes")


def test_a_business_without_an_address_is_sent_no_notice(buyer, tmp_path):
    models.Company.update(email="").execute()
    config = dict(CONFIG, OUTBOX_PATH=str(tmp_path))
    quote_service.approve(buyer, quote(buyer.client), config=config)
    quote_service.decline(buyer, quote(buyer.client), config=config)
    assert models.EmailMessage.select().count() == 0
