"""The e-mails the business sends (billing.notifications), built one by one: who each goes to,
its subject in the reader's language, the link it carries, and what rides along."""
import datetime as dt
import json

import pytest

import models
from billing import notifications
from tests import factories

CONFIG = {"BASE_URL": "https://portal.example"}


@pytest.fixture
def people(db):
    company = factories.company(name="Shop Ltd", email="billing@shop.example")
    client = factories.client(name="Gamma Co")
    return company, client, factories.contact(client, first_name="Dana", last_name="Buyer",
                                              email="dana@gamma.example")


def invitation_key(message, kind):
    return message.body_text.split(f"https://portal.example/client/{kind}/", 1)[1].split()[0]


def test_the_e_mails_go_to_contacts_with_an_address_who_may_sign_in(people):
    _, client, dana = people
    factories.contact(client, email="gone@gamma.example", is_active=False)
    second = factories.contact(client, email="pat@gamma.example")
    assert [c.id for c in notifications.recipients(client)] == [dana.id, second.id]


def test_an_invoice_e_mail_carries_a_personal_link_and_no_logo_or_pdf_unless_set(people):
    _, client, dana = people
    invoice = factories.invoice(client, status="sent")
    message = notifications.invoice_email(invoice, dana, CONFIG)
    assert (message.to, message.subject) == (
        "dana@gamma.example", f"Invoice {invoice.number} from Shop Ltd")
    key = invitation_key(message, "invoice")
    assert models.Invitation.find(key).invoice_id == invoice.id
    assert "Hello Dana," in message.body_text and invoice.number in message.body_html
    assert "<img" not in message.body_html and message.attachments == ""


def test_a_quote_e_mail_shows_the_logo_from_the_public_address_and_attaches_the_pdf(people):
    company, client, dana = people
    models.Company.update(logo_file="logo-1.png", attach_pdf_to_emails=True).execute()
    quote = models.Quote.create(client=client, number="Q-0009", date=dt.date(2026, 11, 1),
                                status="sent", total=1000, currency="USD")
    message = notifications.invitation_email("quote", quote, dana, CONFIG)
    assert message.subject == "Quote Q-0009 from Shop Ltd"
    assert models.Invitation.find(invitation_key(message, "quote")).quote_id == quote.id
    assert 'src="https://portal.example/client/logo?v=logo-1.png"' in message.body_html
    assert json.loads(message.attachments) == [["quote", quote.id]]


def test_a_reminder_shares_the_link_with_its_own_template_and_subject(people):
    _, client, dana = people
    invoice = factories.invoice(client, status="sent")
    message = notifications.invitation_email(
        "invoice", invoice, dana, CONFIG, template="email/invoice_reminder",
        subject="Reminder", days_left=-3, late_fee=0)
    assert message.subject == "Reminder"
    assert f"Invoice {invoice.number} from Shop Ltd was due on" in message.body_text
    assert models.Invitation.find(invitation_key(message, "invoice")).invoice_id == invoice.id


def test_each_e_mail_is_written_in_the_contacts_language(people):
    _, client, dana = people
    models.Contact.update(locale="de").where(models.Contact.id == dana.id).execute()
    dana = models.Contact.get_by_id(dana.id)
    invoice = factories.invoice(client, status="sent")
    assert notifications.invoice_email(invoice, dana, CONFIG).subject == (
        f"Rechnung {invoice.number} von Shop Ltd")
    reset = notifications.password_reset_email(dana, "k" * 43, CONFIG, 60)
    assert reset.subject == "Setzen Sie Ihr Passwort für das Portal von Shop Ltd zurück"
    invited = notifications.contact_invitation_email(dana, "k" * 43, CONFIG, 7)
    assert invited.subject == "Ihr Zugang zum Kundenportal von Shop Ltd"


@pytest.mark.parametrize("build, lifetime, subject, says", [
    (notifications.password_reset_email, 45, "Reset your Shop Ltd portal password",
     "for 45 minutes"),
    (notifications.contact_invitation_email, 14, "Your Shop Ltd client portal login",
     "for 14 days"),
])
def test_a_password_link_carries_its_key_and_lifetime(people, build, lifetime, subject, says):
    _, _, dana = people
    message = build(dana, "KEY123", CONFIG, lifetime)
    assert (message.to, message.subject) == ("dana@gamma.example", subject)
    assert "https://portal.example/client/password/reset/KEY123" in message.body_text
    assert says in message.body_text and "Hello Dana," in message.body_text


def test_an_invitation_names_the_login(people):
    _, _, dana = people
    message = notifications.contact_invitation_email(dana, "KEY456", CONFIG, 14)
    assert "Your login is this e-mail address: dana@gamma.example" in message.body_text


def schedule(client, contact, **fields):
    fields = {"amount": 5000, "currency": "USD", "frequency": "quarterly",
              "failed_attempts": 2, **fields}
    return models.PrepaymentSchedule.create(client=client, contact=contact, **fields)


def test_a_failed_pre_payment_tells_the_contact_and_the_business(people):
    _, client, dana = people
    sent = notifications.prepayment_failed_emails(schedule(client, dana), "Card declined",
                                                  paused=False)
    assert [(m.to, m.subject) for m in sent] == [
        ("dana@gamma.example", "Your pre-payment to Shop Ltd failed"),
        ("billing@shop.example", "Pre-payment failed: Gamma Co")]
    to_contact, to_business = (m.body_text for m in sent)
    assert to_contact.startswith("Hello Dana,")
    assert "$50.00 (every three months) to Shop Ltd" in to_contact
    assert "Reason: Card declined" in to_contact and "try again" in to_contact
    assert "$50.00 (every three months) from Gamma Co" in to_business
    assert "Attempts for this period: 2" in to_business
    assert "It will be tried again" in to_business


def test_a_paused_pre_payment_says_so_and_a_missing_contact_or_address_hears_nothing(people):
    company, client, _ = people
    sent = notifications.prepayment_failed_emails(schedule(client, None), "", paused=True)
    assert [m.to for m in sent] == ["billing@shop.example"]
    assert "Reason: The payment failed." in sent[0].body_text
    assert "The schedule is now paused." in sent[0].body_text
    silent = factories.contact(client, email="")
    models.Company.update(email="").execute()
    assert notifications.prepayment_failed_emails(schedule(client, silent), "x", True) == []


def test_an_unknown_frequency_is_left_out_rather_than_a_crash(people):
    _, client, dana = people
    sent = notifications.prepayment_failed_emails(
        schedule(client, dana, frequency="hourly"), "x", paused=True)
    assert "$50.00 () to Shop Ltd" in sent[0].body_text
    assert "The schedule is paused" in sent[0].body_text


def subscription(client, **fields):
    plan = factories.plan("Pro", 2900)
    return models.Subscription.create(client=client, plan=plan, started_at=dt.date(2026, 1, 1),
                                      ends_on=dt.date(2026, 12, 31), **fields)


def test_the_business_hears_of_a_cancellation_and_of_one_withdrawn(people):
    _, client, _ = people
    sub = subscription(client, cancel_at_period_end=True)
    cancelled = notifications.subscription_cancellation_email(sub, "Too dear", "Maybe later")
    assert (cancelled.to, cancelled.subject) == (
        "billing@shop.example", "Subscription cancelled: Gamma Co, Pro")
    assert cancelled.body_text.startswith("Gamma Co cancelled their Pro subscription.")
    assert "Reason: Too dear\nComment:\nMaybe later" in cancelled.body_text
    assert f"Subscription: {sub.public_id}" in cancelled.body_text
    withdrawn = notifications.subscription_cancellation_email(sub, undone=True)
    assert withdrawn.subject == "Cancellation withdrawn: Gamma Co, Pro"
    assert withdrawn.body_text.startswith(
        "Gamma Co withdrew the cancellation of their Pro subscription.")


def test_no_cancellation_notice_without_a_business_address(people):
    _, client, _ = people
    models.Company.update(email="").execute()
    assert notifications.subscription_cancellation_email(subscription(client)) is None
    assert models.EmailMessage.select().count() == 0


def test_without_a_base_url_the_links_are_paths_on_the_portal(people):
    _, client, dana = people
    models.Company.update(logo_file="logo-1.png").execute()
    message = notifications.invoice_email(factories.invoice(client, status="sent"), dana, {})
    assert "\n/client/invoice/" in message.body_text
    assert 'src="/client/logo?v=logo-1.png"' in message.body_html


def test_a_failed_pre_payment_is_written_to_the_contact_in_their_language(people):
    _, client, dana = people
    models.Contact.update(locale="de").where(models.Contact.id == dana.id).execute()
    sent = notifications.prepayment_failed_emails(
        schedule(client, models.Contact.get_by_id(dana.id)), "x", paused=False)
    assert [m.subject for m in sent] == ["Ihre Vorauszahlung an Shop Ltd ist fehlgeschlagen",
                                         "Pre-payment failed: Gamma Co"]


def test_a_cancellation_without_a_reason_or_comment_says_so_plainly(people):
    _, client, _ = people
    body = notifications.subscription_cancellation_email(subscription(client)).body_text
    assert "Reason: \n" in body and "Comment:" not in body


def test_a_contact_without_a_language_reads_the_businesss(people):
    _, client, dana = people
    models.Company.update(locale="de_DE").execute()
    assert notifications.invoice_email(factories.invoice(client, status="sent"), dana,
                                       CONFIG).subject.startswith("Rechnung ")
    assert notifications.password_reset_email(dana, "K", CONFIG, 60).subject == (
        "Setzen Sie Ihr Passwort für das Portal von Shop Ltd zurück")
    assert notifications.contact_invitation_email(dana, "K", CONFIG, 7).subject == (
        "Ihr Zugang zum Kundenportal von Shop Ltd")
    sent = notifications.prepayment_failed_emails(schedule(client, dana), "x", paused=False)
    assert sent[0].subject == "Ihre Vorauszahlung an Shop Ltd ist fehlgeschlagen"
