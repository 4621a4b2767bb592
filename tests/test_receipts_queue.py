"""billing/receipts.py's queue itself: which payments are receipted, in whose language, with
which link, and what happens outside the app. Delivery through a real SMTP server is in
test_receipts.py."""
import logging

import pytest

import models
from billing import payments as payment_service
from billing import receipts, transaction
from tests import factories
from tests.core_support import opened


def paid(client, cents=1000, status="completed"):
    invoice = factories.invoice(client)
    with transaction():
        return payment_service.record_payment(client, cents, "USD", [(invoice, cents)],
                                              method="cash", status=status)


@pytest.fixture
def payer(db):
    company = factories.company(name="Test Studio", send_receipts=True, locale="fr_FR")
    client = factories.client()
    german = factories.contact(client, first_name="Greta", locale="de_DE", email="g@x.example")
    french = factories.contact(client, first_name="Fleur", locale="", email="f@x.example")
    return company, client, german, french


def queued():
    E = models.EmailMessage
    return {m.to: m for m in E.select().order_by(E.id)}


def test_payments_completed_together_make_one_receipt_per_contact_in_their_language(payer):
    company, client, german, french = payer
    first, second = paid(client), paid(client, 2500)
    messages = receipts.queue([first, None, second],
                              config={"BASE_URL": "https://pay.test.example"})
    assert len(messages) == 2
    mail = queued()
    assert (mail["g@x.example"].subject, mail["f@x.example"].subject) == (
        f"Quittung {first.number}, {second.number} von Test Studio",
        f"Reçu {first.number}, {second.number} de Test Studio")  # the company's language
    body = mail["g@x.example"].body_text
    assert "Greta" in body and "Test Studio" in body
    assert f"https://pay.test.example/client/payments/{first.public_id}" in body
    assert "<" not in body and mail["g@x.example"].body_html.lstrip().startswith("<")
    assert mail["g@x.example"].attachments.count("receipt") == 2


def test_without_a_base_url_the_link_is_the_path(payer):
    company, client, german, french = payer
    payment = paid(client)
    receipts.queue([payment], config={})
    lines = queued()["g@x.example"].body_text.splitlines()
    assert f"/client/payments/{payment.public_id}" in lines


def test_the_apps_own_base_url_is_used_when_none_is_given(payer, app, monkeypatch):
    company, client, german, french = payer
    monkeypatch.setitem(app.config, "BASE_URL", "https://app.test.example")
    payment = paid(client)
    receipts.queue([payment])
    assert (f"https://app.test.example/client/payments/{payment.public_id}"
            in queued()["f@x.example"].body_text)
    assert receipts._config() is app.config


@pytest.mark.parametrize("what", ["nothing", "none", "pending", "turned off", "no company"])
def test_nothing_is_receipted_that_should_not_be(payer, what):
    company, client, german, french = payer
    payments = {"nothing": [], "none": [None], "pending": [paid(client, status="pending")]}.get(
        what, [paid(client)])
    if what == "turned off":
        models.Company.update(send_receipts=False).execute()
    if what == "no company":
        models.Company.delete().execute()
    assert receipts.queue(payments) == []
    assert models.EmailMessage.select().count() == 0


def test_a_payment_completed_outside_the_app_is_logged_not_receipted(app, caplog):
    with opened(app):
        factories.company(send_receipts=True)
        client = factories.client()
        factories.contact(client)
        first, second = paid(client), paid(client)
    models.db.connect(reuse_if_open=True)
    try:
        with caplog.at_level(logging.WARNING, logger="portal.receipts"):
            assert receipts.queue([first, second]) == []
        assert receipts._config() == {}
        assert models.EmailMessage.select().count() == 0
    finally:
        models.db.close()
    assert [r.getMessage() for r in caplog.records if r.name == "portal.receipts"] == [
        f"no receipt for payment {first.id}: completed outside the app"]
