"""Receipts for completed payments, and PDFs on invoice and quote e-mails, through a real
SMTP server (aiosmtpd on loopback)."""
import email
import json
import os

import pytest

import mail
import models
from billing import allocation, checkout, receipts
from billing import invoices as invoice_service
from billing import payments as payment_service
from billing import quotes as quote_service
from tests import factories
from tests.conftest import make_app
from tests.core_support import opened, pdf_text, race
from tests.mail_support import pdfs, text_of
from tests.payments_support import make_gateway
from tests.quotes_support import credit as make_credit
from tests.quotes_support import quote as make_quote


@pytest.fixture
def mailed(tmp_path, smtp):
    """(app, inbox, world): an app that sends by SMTP; a client with two contacts who may
    sign in, one deactivated and one without an address, an open invoice and a saved card."""
    url, inbox = smtp
    app = make_app(tmp_path, SMTP_URL=url)
    with opened(app):
        client = factories.client(name="Receipt Co")
        people = [factories.contact(client, email="r1@receipt.example"),
                  factories.contact(client, email="r2@receipt.example")]
        factories.contact(client, email="gone@receipt.example", is_active=False)
        invoice = factories.invoice(client)
        gateway = make_gateway("demo")
        token = models.GatewayToken.create(client=client, gateway=gateway, token="demo_ok_1",
                                           brand="visa", last4="4242")
    return app, inbox, {"client": client, "contacts": people, "invoice": invoice,
                        "token": token, "gateway": gateway}


def pay_by_card(contact, invoice, token, key="receipt-key-" + "k" * 20):
    return checkout.pay(contact, [(invoice.public_id, None)], models.Company.current(),
                        idempotency_key=key, token=models.GatewayToken.get_by_id(token.id))


def receipts_in(inbox):
    return [(rcpts, m) for rcpts, m in inbox.messages if m["Subject"].startswith("Receipt")]


def test_a_card_payment_sends_one_receipt_per_contact_with_its_pdf(mailed):
    app, inbox, w = mailed
    with opened(app):
        outcome = pay_by_card(w["contacts"][0], w["invoice"], w["token"])
        assert outcome.status == "completed"
        payment = outcome.payment
        # Called again (the webhook after the browser): nothing more is sent.
        checkout.finalize(payment.id)
        assert mail.deliver_due(dict(app.config)) == (0, 0)
    sent = receipts_in(inbox)
    # The deactivated contact gets nothing.
    assert sorted(r for rcpts, _ in sent for r in rcpts) == ["r1@receipt.example",
                                                            "r2@receipt.example"]
    for _, message in sent:
        assert message["Subject"] == f"Receipt {payment.number} from Test Studio"
        assert payment.number in text_of(message)
        assert "http://portal.test/client/payments/" + payment.public_id in text_of(message)
        [(name, data)] = pdfs(message)
        assert name == f"receipt-{payment.number}.pdf"
        text = pdf_text(data)
        assert payment.number in text and "$100.00" in text and w["invoice"].number in text


def test_no_receipt_when_the_business_turned_them_off(mailed):
    app, inbox, w = mailed
    with opened(app):
        factories.company(send_receipts=False)
        assert pay_by_card(w["contacts"][0], w["invoice"], w["token"]).status == "completed"
        assert models.EmailMessage.select().count() == 0
    assert inbox.messages == []


def test_concurrent_finalize_sends_one_receipt(mailed):
    app, inbox, w = mailed
    with opened(app):
        plan = allocation.plan(w["client"].id, [(w["invoice"].public_id, None)],
                               models.Company.current())
        payment = models.Payment.create(
            client=w["client"], contact=w["contacts"][0], status="pending",
            date=models.utcnow().date(), currency="USD", amount=plan.charge,
            plan=plan.to_json(), gateway=w["gateway"], gateway_reference="demo_race",
            idempotency_key="race-key-" + "y" * 20)
    results = race(app, 4, lambda i: checkout.finalize(payment.id, "demo_race").status)
    assert results == ["completed"] * 4, results
    with opened(app):
        rows = list(models.EmailMessage.select())
        assert sorted(r.to for r in rows) == ["r1@receipt.example", "r2@receipt.example"]
        assert {json.loads(r.attachments)[0][1] for r in rows} == {payment.id}
    assert len(receipts_in(inbox)) == 2


def test_a_payment_made_with_credit_only_is_receipted(mailed):
    app, inbox, w = mailed
    with opened(app):
        make_credit(w["client"], total=10000)
        outcome = checkout.pay(w["contacts"][0], [(w["invoice"].public_id, None)],
                               models.Company.current(), idempotency_key="credit-" + "c" * 20,
                               use_credit=True)
        assert outcome.status == "completed" and outcome.payment.method == "credit"
        number = outcome.payment.number
    sent = receipts_in(inbox)
    assert len(sent) == 2
    text = pdf_text(pdfs(sent[0][1])[0][1])
    assert number in text and "$100.00" in text


def test_card_and_credit_together_make_one_e_mail_with_both_receipts(mailed):
    app, inbox, w = mailed
    with opened(app):
        make_credit(w["client"], total=3000)
        outcome = checkout.pay(w["contacts"][0], [(w["invoice"].public_id, None)],
                               models.Company.current(), idempotency_key="mixed-" + "m" * 20,
                               use_credit=True, token=models.GatewayToken.get_by_id(
                                   w["token"].id))
        assert outcome.status == "completed"
        numbers = {p.number for p in models.Payment.select()}
    assert len(numbers) == 2
    sent = receipts_in(inbox)
    assert len(sent) == 2
    texts = " ".join(pdf_text(data) for _, data in pdfs(sent[0][1]))
    assert all(n in texts for n in numbers) and "$70.00" in texts and "$30.00" in texts


def test_staff_recorded_payment_is_receipted_only_when_asked(mailed):
    app, inbox, w = mailed
    with opened(app):
        staff = factories.staff()
        second = factories.invoice(w["client"])
        quiet = payment_service.record_manual(staff, w["client"], "100.00", [w["invoice"].id],
                                              method="bank_transfer", locale="en_US")
        assert models.EmailMessage.select().count() == 0
        asked = payment_service.record_manual(staff, w["client"], "60.00", [second.id],
                                              method="cheque", locale="en_US",
                                              email_receipt=True)
        assert quiet.status == asked.status == "completed"
    sent = receipts_in(inbox)
    assert len(sent) == 2
    text = pdf_text(pdfs(sent[0][1])[0][1])
    assert asked.number in text and "$60.00" in text and "Cheque" in text


def test_the_record_payment_form_offers_and_sends_a_receipt(mailed):
    app, inbox, w = mailed
    from tests.conftest import csrf_token
    from tests.core_support import login_staff
    with opened(app):
        factories.staff("desk@test.example")
    http = app.test_client()
    login_staff(http, "desk@test.example")
    page = http.get(f"/admin/payments/new?client={w['client'].id}")
    assert 'name="email_receipt"' in page.get_data(as_text=True)
    response = http.post("/admin/payments/new", data={
        "csrf_token": csrf_token(http, f"/admin/payments/new?client={w['client'].id}"),
        "key": "form-key-" + "f" * 20, "client": w["client"].id, "amount": "100.00",
        "invoice": w["invoice"].id, f"amount_{w['invoice'].id}": "100.00",
        "method": "bank_transfer", "email_receipt": "1"})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:1500]
    assert len(receipts_in(inbox)) == 2
    with opened(app):
        message_id = models.EmailMessage.select().first().id
    page = http.get(f"/admin/outbox/{message_id}").get_data(as_text=True)
    assert "<dt>Attachments</dt><dd>Receipt (PDF)</dd>" in page


def test_invoice_and_quote_e_mails_carry_their_pdf_when_the_setting_is_on(mailed):
    app, inbox, w = mailed
    config = dict(app.config)
    with opened(app):
        invoice_service.email_invoice(w["invoice"], config)
        assert all(pdfs(m) == [] for _, m in inbox.messages)
        factories.company(attach_pdf_to_emails=True)
        invoice_service.email_invoice(w["invoice"], config)
        quote = make_quote(w["client"])
        quote_service.email_quote(quote, config)
    with_pdf = [m for _, m in inbox.messages if pdfs(m)]
    assert len(with_pdf) == 4
    invoice_mail = [m for m in with_pdf if m["Subject"].startswith("Invoice")][0]
    [(name, data)] = pdfs(invoice_mail)
    assert name == f"invoice-{w['invoice'].number}.pdf"
    assert w["invoice"].number in pdf_text(data) and "$100.00" in pdf_text(data)
    assert "http://portal.test/client/invoice/" in text_of(invoice_mail)
    quote_mail = [m for m in with_pdf if m["Subject"].startswith("Quote")][0]
    [(name, data)] = pdfs(quote_mail)
    assert name == f"quote-{quote.number}.pdf" and quote.number in pdf_text(data)


def test_an_attachment_whose_record_is_gone_fails_the_message_for_good(mailed):
    app, inbox, w = mailed
    with opened(app):
        message = mail.queue("x@receipt.example", "Receipt", "body",
                             attachments=[("receipt", 987654)])
        assert mail.deliver(message, dict(app.config)) is False
        message = models.EmailMessage.get_by_id(message.id)
        assert message.status == "failed" and "DoesNotExist" in message.last_error
    assert inbox.messages == []


def test_a_failed_delivery_is_retried_with_its_attachment(mailed):
    app, inbox, w = mailed
    with opened(app):
        down = {**app.config, "SMTP_URL": "smtp://127.0.0.1:9"}  # nobody listens there
        staff = factories.staff()
        payment = payment_service.record_manual(staff, w["client"], "100.00",
                                                [w["invoice"].id], method="cash",
                                                locale="en_US")
        queued = receipts.queue([payment], down)
        receipts.deliver(queued, down)
        assert {m.status for m in models.EmailMessage.select()} == {"queued"}
        models.EmailMessage.update(next_attempt_at=models.utcnow()).execute()
        assert mail.deliver_due(dict(app.config)) == (2, 0)
    assert len(inbox.messages) == 2
    assert all(len(pdfs(m)) == 1 for _, m in inbox.messages)


def test_the_api_records_a_payment_with_a_receipt_when_asked(app, api):
    with opened(app):
        client = factories.client(name="Api Co")
        factories.contact(client, email="api@receipt.example")
        invoice = factories.invoice(client)
        client_id, invoice_id = client.public_id, invoice.public_id
    response = api.post("payments", json={"client_id": client_id, "amount": "100.00",
                                           "method": "bank_transfer",
                                           "invoice_ids": [invoice_id],
                                           "email_receipt": True})
    assert response.status_code == 201, response.get_data(as_text=True)
    number = response.get_json()["data"]["number"]
    with opened(app):
        [message] = models.EmailMessage.select()
        # No SMTP here: the message went to the outbox folder, its PDF attached.
        assert message.status == "sent" and message.to == "api@receipt.example"
        outbox = app.config["OUTBOX_PATH"]
    [name] = os.listdir(outbox)
    with open(os.path.join(outbox, name), "rb") as f:
        parsed = email.message_from_bytes(f.read())
    [(filename, data)] = pdfs(parsed)
    assert filename == f"receipt-{number}.pdf" and number in pdf_text(data)
    assert api.post("payments", json={"client_id": client_id, "amount": "1.00",
                                      "method": "cash", "email_receipt": "yes"}
                    ).status_code == 422
