"""Staff e-mail a quote and convert one without the client's approval (billing.quotes): who
is written to, what is logged, each refusal word for word, and that one quote's action
touches no other."""
import pytest

import models
from billing import quotes as quote_service
from tests import factories
from tests.core_support import activities, refusal
from tests.quotes_support import quote


@pytest.fixture
def client_(db):
    factories.company()
    return factories.client(name="Gamma Co")


def config(tmp_path):
    return {"BASE_URL": "http://portal.test", "SMTP_URL": "",
            "OUTBOX_PATH": str(tmp_path / "outbox")}


def refused(call, *args, **kwargs):
    """The refusal's message, checked to have changed nothing (core_support)."""
    return refusal(lambda: call(*args, **kwargs)).message


@pytest.mark.parametrize("status", ["approved", "converted"])
def test_an_accepted_quote_cannot_be_emailed(client_, tmp_path, status):
    factories.contact(client_)
    q = quote(client_, "sent" if status == "approved" else status)
    models.Quote.update(status=status).where(models.Quote.id == q.id).execute()
    assert refused(quote_service.email_quote, q, config(tmp_path)) == (
        f"Quote {q.number} was already approved; it cannot be e-mailed.")


def test_a_quote_goes_only_to_active_contacts_with_an_address(client_, tmp_path):
    factories.contact(client_, email="buyer@gamma.example")
    factories.contact(client_, email="gone@gamma.example", is_active=False)
    staff = factories.staff()
    q = quote(client_, "draft")
    messages = quote_service.email_quote(q, config(tmp_path), staff=staff)
    assert [m.to for m in messages] == ["buyer@gamma.example"]
    assert activities("quote.emailed") == [(q.id, client_.id, None, staff.id,
                                            "buyer@gamma.example")]
    assert models.Activity.get(models.Activity.action == "quote.emailed"
                               ).subject_type == "quote"
    # Delivered with the configuration given: to the outbox, after the commit.
    assert [m.status for m in models.EmailMessage.select()] == ["sent"]
    assert len(list((tmp_path / "outbox").iterdir())) == 1


def test_every_address_is_named_in_the_log(client_, tmp_path):
    factories.contact(client_, email="one@gamma.example")
    factories.contact(client_, email="two@gamma.example")
    q = quote(client_, "draft")
    quote_service.email_quote(q, config(tmp_path))
    assert activities("quote.emailed")[0][4] == "one@gamma.example, two@gamma.example"


def test_a_client_nobody_can_be_written_to_is_refused(client_, tmp_path):
    factories.contact(client_, email="gone@gamma.example", is_active=False)
    q = quote(client_, "draft")
    assert refused(quote_service.email_quote, q, config(tmp_path)) == (
        "This client has no contact with an e-mail address.")


@pytest.mark.parametrize("status", ["approved", "expired"])
def test_staff_convert_a_claimed_or_expired_quote(client_, status):
    q = quote(client_, "sent" if status == "approved" else status)
    if status == "approved":
        models.Quote.update(status="approved").where(models.Quote.id == q.id).execute()
    staff = factories.staff()
    invoice = quote_service.convert(models.Quote.get_by_id(q.id), staff=staff)
    converted = models.Quote.get_by_id(q.id)
    assert (converted.status, converted.invoice_id, invoice.total) == (
        "converted", invoice.id, q.total)
    assert activities("quote.converted") == [(q.id, client_.id, None, staff.id,
                                              invoice.number)]


def test_converting_one_quote_leaves_the_others_alone(client_):
    q, other, draft = quote(client_), quote(client_), quote(client_, "draft")
    quote_service.convert(q)
    assert [(x.status, x.invoice_id is None) for x in (
        models.Quote.get_by_id(other.id), models.Quote.get_by_id(draft.id))] == [
        ("sent", True), ("draft", True)]


@pytest.mark.parametrize("status, message", [
    ("converted", "Quote {} was already converted."),
    ("draft", "A draft quote cannot be converted; send it first."),
    ("declined", "A declined quote cannot be converted; send it first."),
])
def test_a_quote_that_cannot_be_converted_says_why(client_, status, message):
    q = quote(client_, status)
    assert refused(quote_service.convert, q) == message.format(q.number)
