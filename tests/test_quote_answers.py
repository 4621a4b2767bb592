"""A quote declined, re-sent, viewed, and whether its terms were accepted: each refusal word
for word, what each answer records and who it names (billing.quotes)."""
import datetime as dt

import pytest

import models
from billing import DomainError
from billing import quotes as quote_service
from tests import factories
from tests.core_support import activities, refusal
from tests.quotes_support import quote


@pytest.fixture
def buyer(db):
    factories.company()
    client = factories.client(name="Gamma Co")
    return factories.contact(client, first_name="Dana", last_name="Buyer")


def refused(call, *args, **kwargs):
    """The refusal's (message, field), checked to have changed nothing (core_support)."""
    error = refusal(lambda: call(*args, **kwargs))
    return error.message, error.field


@pytest.mark.parametrize("status, message", [
    ("approved", "Quote {} was already approved."),
    ("converted", "Quote {} was already approved."),
    ("declined", "Quote {} was already declined."),
    ("draft", "Quote {} cannot be declined."),
])
def test_a_quote_that_is_not_on_offer_cannot_be_declined(buyer, status, message):
    q = quote(buyer.client, "sent" if status == "approved" else status)
    if status == "approved":  # claimed, not yet converted
        models.Quote.update(status="approved").where(models.Quote.id == q.id).execute()
    assert refused(quote_service.decline, buyer, q, "no") == (message.format(q.number), None)


def test_another_clients_quote_is_not_found(buyer):
    other = quote(factories.client())
    assert refused(quote_service.decline, buyer, other) == ("That quote was not found.", None)


def test_a_reason_may_be_a_thousand_characters_and_no_more(buyer):
    assert refused(quote_service.decline, buyer, quote(buyer.client), "x" * 1001) == (
        "Keep the reason under 1000 characters.", "reason")
    q = quote(buyer.client)
    quote_service.decline(buyer, q, "x" * 1000)
    assert models.Quote.get_by_id(q.id).declined_reason == "x" * 1000


def test_declining_records_the_reason_the_contact_and_their_address(buyer):
    q = quote(buyer.client)
    declined = quote_service.decline(buyer, q, "  Budget cut  ", "203.0.113.9")
    assert (declined.status, declined.declined_reason) == ("declined", "Budget cut")
    assert activities("quote.declined") == [(q.id, buyer.client_id, buyer.id, None,
                                             "Budget cut")]
    logged = models.Activity.get(models.Activity.action == "quote.declined")
    assert (logged.subject_type, logged.ip) == ("quote", "203.0.113.9")


def test_a_decline_keeps_what_it_can_of_a_long_reason_and_address(buyer):
    q = quote(buyer.client)
    quote_service.decline(buyer, q, "y" * 250, "a" * 50)
    logged = models.Activity.get(models.Activity.action == "quote.declined")
    assert (logged.detail, logged.ip) == ("y" * 200, "a" * 45)
    assert models.Quote.get_by_id(q.id).declined_reason == "y" * 250


def test_a_decline_without_a_reason_or_address_records_none(buyer):
    q = quote(buyer.client)
    quote_service.decline(buyer, q)
    other = quote(buyer.client)
    quote_service.decline(buyer, other, None, None)
    assert [d.declined_reason for d in models.Quote.select().order_by(models.Quote.id)] == [
        "", ""]
    assert [a.ip for a in models.Activity.select().where(
        models.Activity.action == "quote.declined")] == ["", ""]


def test_staff_declining_as_the_contact_are_named_and_told_it_was_staff(buyer, tmp_path):
    staff = factories.staff()
    q = quote(buyer.client)
    config = {"BASE_URL": "http://portal.test", "SMTP_URL": "",
              "OUTBOX_PATH": str(tmp_path / "outbox")}
    quote_service.decline(buyer, q, "Wrong scope", config=config, staff=staff)
    assert activities("quote.declined") == [(q.id, buyer.client_id, None, staff.id,
                                             "Wrong scope")]
    notice = models.EmailMessage.get(
        models.EmailMessage.subject == f"Quote {q.number} declined by Gamma Co")
    assert notice.body_text.startswith(f"Staff declined quote {q.number} ")


def test_the_business_is_told_which_contact_declined(buyer, tmp_path):
    q = quote(buyer.client)
    config = {"BASE_URL": "http://portal.test", "SMTP_URL": "",
              "OUTBOX_PATH": str(tmp_path / "outbox")}
    quote_service.decline(buyer, q, "", config=config)
    notice = models.EmailMessage.get(
        models.EmailMessage.subject == f"Quote {q.number} declined by Gamma Co")
    assert notice.body_text.startswith(f"Dana Buyer <{buyer.email}> declined quote {q.number}")
    assert "Reason: none given" in notice.body_text


@pytest.mark.parametrize("status", ["approved", "converted"])
def test_an_accepted_quote_cannot_be_sent_again(buyer, status):
    q = quote(buyer.client, "sent" if status == "approved" else status)
    models.Quote.update(status=status).where(models.Quote.id == q.id).execute()
    assert refused(quote_service.mark_sent, q) == (
        f"Quote {q.number} was already approved; it cannot be sent again.", None)


def test_sending_a_draft_logs_who_sent_it_and_resending_a_sent_one_logs_nothing(buyer):
    staff = factories.staff()
    draft = quote(buyer.client, "draft")
    quote_service.mark_sent(draft, staff=staff)
    assert models.Quote.get_by_id(draft.id).status == "sent"
    assert activities("quote.marked_sent") == [(draft.id, buyer.client_id, None, staff.id, "")]
    assert models.Activity.get(models.Activity.action == "quote.marked_sent"
                               ).subject_type == "quote"
    quote_service.mark_sent(models.Quote.get_by_id(draft.id), staff=staff)
    assert len(activities("quote.marked_sent")) == 1


def test_terms_count_as_accepted_only_for_the_quote_approved_with_them(buyer):
    with_terms, without = quote(buyer.client), quote(buyer.client)
    quote_service.approve(buyer, with_terms, accepted_terms=True)
    quote_service.approve(buyer, without)
    assert quote_service.terms_accepted(models.Quote.get_by_id(with_terms.id))
    assert not quote_service.terms_accepted(models.Quote.get_by_id(without.id))


def test_viewing_one_quote_marks_only_that_one_viewed(buyer):
    seen, unseen = quote(buyer.client), quote(buyer.client)
    quote_service.mark_viewed(seen, buyer)
    assert models.Quote.get_by_id(seen.id).viewed_at is not None
    assert models.Quote.get_by_id(unseen.id).viewed_at is None


def test_a_quote_valid_until_today_can_still_be_approved(buyer):
    q = quote(buyer.client, valid_until=models.utcnow().date())
    invoice = quote_service.approve(buyer, q)
    assert models.Quote.get_by_id(q.id).invoice_id == invoice.id


def test_an_approval_keeps_what_it_can_of_the_address_and_none_when_there_is_none(buyer):
    first, second = quote(buyer.client), quote(buyer.client)
    quote_service.approve(buyer, first, "b" * 50)
    quote_service.approve(buyer, second, None)
    assert [models.Quote.get_by_id(q.id).approved_ip for q in (first, second)] == [
        "b" * 45, ""]
    logged = models.Activity.select().where(models.Activity.action == "quote.approved")
    assert sorted(a.ip for a in logged) == ["", "b" * 45]
    assert [a.detail for a in logged] == ["", ""]  # no terms were accepted


@pytest.mark.parametrize("status, message", [
    ("approved", "Quote {number} was already approved."),
    ("converted", "Quote {number} was already approved."),
    ("declined", "Quote {number} was declined; ask us to send it again."),
    ("draft", "Quote {number} has not been sent yet."),
    ("expired", "Quote {number} expired on {date}; ask us for a new one."),
    ("on_hold", "Quote {number} cannot be approved."),  # a status another program wrote
])
def test_why_a_quote_cannot_be_approved_word_for_word(buyer, status, message):
    q = quote(buyer.client)
    models.Quote.update(status=status).where(models.Quote.id == q.id).execute()
    q = models.Quote.get_by_id(q.id)
    with pytest.raises(DomainError) as refused_with:
        quote_service.check_approvable(q)
    assert (refused_with.value.message, refused_with.value.field) == (
        message.format(number=q.number, date=q.valid_until.isoformat()), None)


def test_a_sent_quote_is_approvable_until_the_day_given_passes_its_date(buyer):
    q = quote(buyer.client)
    assert quote_service.check_approvable(q, today=q.valid_until) is None
    later = q.valid_until + dt.timedelta(days=1)
    with pytest.raises(DomainError) as refused_with:
        quote_service.check_approvable(q, today=later)
    assert refused_with.value.message == (
        f"Quote {q.number} expired on {q.valid_until.isoformat()}; ask us for a new one.")
