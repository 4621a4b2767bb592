"""Self-registration as a service (billing.registration), rule by rule: what the form takes
under the business's field rules, the account it makes and the e-mails each case sends,
and confirming an address. tests/test_registration_flow.py goes through the pages."""
import datetime as dt
import json

import pytest

import models
from billing import DomainError, FieldErrors, accounts, registration
from tests import factories
from tests.core_support import activities, interleaved, refusal

GOOD = {"client_name": "Acme", "first_name": "Ann", "last_name": "Lee",
        "email": " Ann@Acme.Example ", "password": "long enough", "confirm": "long enough"}


@pytest.fixture
def company(db, tmp_path):
    return factories.company(name="Shop Ltd", email="billing@shop.example", currency="EUR")


@pytest.fixture
def config(tmp_path):
    return {"BASE_URL": "http://portal.test", "SMTP_URL": "",
            "OUTBOX_PATH": str(tmp_path / "outbox")}


def with_rules(company, **rules):
    company.registration_fields = json.dumps(rules)
    return company


def errors(company, form):
    with pytest.raises(FieldErrors) as refused:
        registration.check(company, form)
    return refused.value.errors


def test_the_default_form_takes_a_name_and_ignores_hidden_fields(company):
    given = registration.check(company, {**GOOD, "phone": "555", "address": "1 Road",
                                         "vat_number": "GB1"})
    assert given == {"client_name": "Acme", "first_name": "Ann", "last_name": "Lee",
                     "phone": "", "address": "", "vat_number": "", "email": "ann@acme.example",
                     "password": "long enough"}


def test_every_missing_required_field_is_named_at_once(company):
    with_rules(company, client_name="required", first_name="required", last_name="required",
               phone="required", address="required", vat_number="required")
    assert errors(company, {"email": "ann@acme.example", "client_name": "  "}) == {
        "client_name": "Enter your company or your name.",
        "first_name": "Enter your first name.", "last_name": "Enter your last name.",
        "phone": "Enter your phone number.", "address": "Enter your address.",
        "vat_number": "Enter your VAT or tax number.",
        "password": "Choose a password of at least 8 characters."}


def test_optional_fields_may_be_blank_and_are_kept_trimmed_when_given(company):
    with_rules(company, client_name="optional", phone="optional", address="optional",
               vat_number="optional")
    given = registration.check(company, {**GOOD, "client_name": "", "phone": " 555 ",
                                         "address": " 1 Road\nTown ", "vat_number": " GB1 "})
    assert (given["client_name"], given["phone"], given["address"], given["vat_number"]) == (
        "", "555", "1 Road\nTown", "GB1")


@pytest.mark.parametrize("field, value, message", [
    ("client_name", "x" * 201, "Your company or name can have at most 200 characters."),
    ("first_name", "x" * 101, "First name can have at most 100 characters."),
    ("last_name", "x" * 101, "Last name can have at most 100 characters."),
    ("phone", "5" * 51, "Phone can have at most 50 characters."),
    ("address", "x" * 1001, "Address can have at most 1000 characters."),
    ("vat_number", "x" * 51, "VAT or tax number can have at most 50 characters."),
    ("email", "", "Enter an e-mail address."),
    ("confirm", "not the same", "The two passwords are not the same."),
])
def test_each_field_past_its_limit_is_refused_under_its_name(company, field, value, message):
    with_rules(company, phone="optional", address="optional", vat_number="optional")
    assert errors(company, {**GOOD, field: value}) == {field: message}


def test_every_bad_field_is_named_at_once(company):
    with_rules(company, phone="optional")
    assert errors(company, {**GOOD, "first_name": "x" * 101, "phone": "5" * 51,
                            "email": "not an address", "confirm": "other"}) == {
        "first_name": "First name can have at most 100 characters.",
        "phone": "Phone can have at most 50 characters.",
        "email": "not an address is not a valid e-mail address: An email address must have "
                 "an @-sign.",
        "confirm": "The two passwords are not the same."}


def test_a_new_account_waits_for_its_address_to_be_confirmed(company, config):
    details = registration.check(company, GOOD)
    details.pop("password")
    contact = registration.finish(details, "hash-of-the-password", config)
    client = contact.client
    assert (client.name, client.email, client.currency) == ("Acme", "ann@acme.example", "EUR")
    assert (contact.first_name, contact.last_name, contact.is_primary, contact.email_verified,
            contact.password_hash) == ("Ann", "Lee", True, False, "hash-of-the-password")
    message = models.EmailMessage.get()
    assert (message.to, message.subject) == (
        "ann@acme.example", "Confirm your e-mail address for Shop Ltd portal")
    key = message.body_text.split("http://portal.test/client/register/verify/", 1)[1].split()[0]
    link = registration.find_link(key)
    assert dt.timedelta(hours=23, minutes=59) < link.expires_at - models.utcnow() <= \
        dt.timedelta(hours=24)
    assert activities("contact.registered") == [(contact.id, client.id, contact.id, None, "")]


@pytest.mark.parametrize("first, last, client_name, named", [
    ("Ann", "Lee", "", "Ann Lee"), ("", "Lee", "", "Lee"), ("", "", "", "ann@acme.example"),
    ("", "", "N" * 250, "N" * 200)])
def test_an_account_without_a_company_name_is_named_after_the_person(company, config, first,
                                                                     last, client_name, named):
    details = {"client_name": client_name, "first_name": first, "last_name": last,
               "phone": "", "address": "", "vat_number": "", "email": "ann@acme.example"}
    assert registration.finish(details, "h", config).client.name == named


def registered(config, email="ann@acme.example"):
    details = {"client_name": "Acme", "first_name": "Ann", "last_name": "", "phone": "",
               "address": "", "vat_number": "", "email": email}
    return registration.finish(details, "h", config)


def test_the_owner_of_a_confirmed_address_is_told_and_nothing_is_made(company, config):
    owner = factories.contact(factories.client(name="Mine"), first_name="Ann",
                              email="ann@acme.example")
    clients_before = models.Client.select().count()
    message = registered(config)
    assert models.Client.select().count() == clients_before
    assert (message.to, message.subject) == (
        "ann@acme.example", "Someone tried to register with your address at Shop Ltd")
    assert "http://portal.test/client/login" in message.body_text
    assert "http://portal.test/client/password/reset" in message.body_text
    assert activities("contact.registration_repeated") == [
        (owner.id, owner.client_id, owner.id, None, "")]


def test_an_address_still_unconfirmed_gets_a_link_to_choose_its_password(company, config):
    first = registered(config)
    message = registered(config)
    assert (message.to, message.subject) == ("ann@acme.example", "Your Shop Ltd portal account")
    assert "http://portal.test/client/password/reset/" in message.body_text
    assert models.Contact.select().count() == 1
    assert activities("contact.registration_repeated") == [
        (first.id, first.client_id, first.id, None, "")]


def test_a_closed_account_hears_nothing(company, config):
    factories.contact(factories.client(name="Mine"), email="ann@acme.example", is_active=False)
    assert registered(config) is None
    assert models.EmailMessage.select().count() == 0


def test_a_new_link_only_for_an_account_waiting_for_one(company, config):
    contact = registered(config)
    message = registration.resend(" ANN@acme.example ", config)
    assert message.subject == "Confirm your e-mail address for Shop Ltd portal"
    assert activities("contact.verification_resent") == [
        (contact.id, contact.client_id, contact.id, None, "")]
    assert registration.resend("nobody@acme.example", config) is None
    assert registration.resend(None, config) is None
    models.Contact.update(email_verified=True).execute()
    assert registration.resend("ann@acme.example", config) is None
    models.Contact.update(email_verified=False, is_active=False).execute()
    assert registration.resend("ann@acme.example", config) is None


def keys(contact):
    return [m.body_text.split("/client/register/verify/", 1)[1].split()[0]
            for m in models.EmailMessage.select().where(models.EmailMessage.to == contact.email)
            .order_by(models.EmailMessage.id) if "/client/register/verify/" in m.body_text]


def test_confirming_kills_every_confirmation_link_and_tells_the_business(company, config):
    contact = registered(config)
    registration.resend(contact.email, config)
    first, second = keys(contact)
    confirmed = registration.verify(second, config)
    assert confirmed.id == contact.id and models.Contact.get_by_id(contact.id).email_verified
    for key in (first, second):
        with pytest.raises(DomainError) as refused:
            registration.verify(key, config)
        assert refused.value.message == (
            "This confirmation link has expired or was already used. Ask for a new one.")
    notice = models.EmailMessage.get(models.EmailMessage.to == "billing@shop.example")
    assert notice.subject == "New client registered: Acme"
    assert "Contact: Ann <ann@acme.example>" in notice.body_text
    assert activities("client.registered") == [(contact.client_id, contact.client_id,
                                                contact.id, None, "")]


def test_a_link_used_meanwhile_elsewhere_confirms_nothing_more(company, config):
    """Another click on the same link claims it between this one's look-up and its claim:
    this one is refused in the same words, confirming and telling nobody twice."""
    contact = registered(config)
    (key,) = keys(contact)
    spend = models.PasswordReset.update(used_at=models.utcnow())
    with interleaved('UPDATE "passwordreset"', spend.execute) as fired:
        error = refusal(lambda: registration.verify(key, config))
    assert fired and (error.message, error.field) == (
        "This confirmation link has expired or was already used. Ask for a new one.", None)
    assert not models.Contact.get_by_id(contact.id).email_verified


def test_a_business_without_an_address_gets_no_notice(company, config):
    models.Company.update(email="").execute()
    contact = registered(config)
    registration.verify(keys(contact)[0], config)
    assert models.EmailMessage.select().where(
        models.EmailMessage.subject.startswith("New client")).count() == 0
    assert len(activities("client.registered")) == 1


def test_an_unknown_key_confirms_nothing(company, config):
    with pytest.raises(DomainError):
        registration.verify("no-such-key", config)
    assert registration.find_link("") is None


def test_the_account_keeps_every_detail_typed(company, config):
    details = {"client_name": "Acme", "first_name": "Ann", "last_name": "Lee",
               "phone": "+44 20 1234", "address": "1 Road\nTown", "vat_number": "GB123",
               "email": "ann@acme.example"}
    contact = registration.finish(details, "h", config)
    client = models.Client.get_by_id(contact.client_id)
    assert (client.name, client.address, client.vat_number) == ("Acme", "1 Road\nTown", "GB123")
    assert models.Contact.get_by_id(contact.id).phone == "+44 20 1234"


def delivered(to):
    return [(m.status, m.subject, m.body_text) for m in
            models.EmailMessage.select().where(models.EmailMessage.to == to)
            .order_by(models.EmailMessage.id)]


def test_each_e_mail_is_sent_and_names_the_business_and_the_links_lifetime(company, config):
    contact = registered(config)  # the confirmation link
    registered(config)  # again, still unconfirmed: a link to choose the password
    (status, _, verify), (pending_status, _, pending) = delivered("ann@acme.example")
    assert (status, pending_status) == ("sent", "sent")
    assert ("Thank you for registering with the Shop Ltd client portal. Confirm your e-mail "
            "address here to finish (the link works once, for 24 hours):") in verify
    assert ("If it was you, choose your password here to confirm the address and log in (the "
            "link works once, for 24 hours):") in pending
    assert ("Someone asked to register for the Shop Ltd client portal with your e-mail "
            "address, which already has an account waiting for confirmation.") in pending
    assert verify.rstrip().endswith("Shop Ltd") and pending.rstrip().endswith("Shop Ltd")
    registration.verify(keys(contact)[0], config)
    [(notice_status, _, notice)] = delivered("billing@shop.example")
    assert notice_status == "sent"
    assert notice.startswith("A new client registered on the Shop Ltd client portal")
    models.Contact.update(email_verified=True).execute()
    registered(config)  # a confirmed address: its owner is told
    status, subject, exists = delivered("ann@acme.example")[-1]
    assert (status, subject) == ("sent", "Someone tried to register with your address at "
                                         "Shop Ltd")
    assert ("Someone tried to register for the Shop Ltd client portal with your e-mail "
            "address, which already has an account.") in exists


def test_registration_e_mails_are_in_the_contacts_language_else_the_businesss(company,
                                                                               config):
    models.Company.update(locale="de_DE").execute()
    registered(config)
    assert delivered("ann@acme.example")[0][1] == (
        "Bestätigen Sie Ihre E-Mail-Adresse für das Portal von Shop Ltd")
    models.Company.update(locale="en_US").execute()
    factories.contact(factories.client(name="Mine"), email="bo@acme.example", locale="de")
    registered(config, email="bo@acme.example")
    assert delivered("bo@acme.example")[0][1] == "Registrierungsversuch mit Ihrer Adresse bei " \
        "Shop Ltd"


def test_an_unknown_key_is_refused_word_for_word(company, config):
    with pytest.raises(DomainError) as refused:
        registration.verify("no-such-key", config)
    assert refused.value.message == (
        "This confirmation link has expired or was already used. Ask for a new one.")


def test_confirming_kills_only_this_contacts_confirmation_links(company, config):
    ann, bo = registered(config), registered(config, email="bo@acme.example")
    reset_key = "ann-reset-key"
    models.PasswordReset.create(contact=ann, token_hash=models.hash_token(reset_key),
                                expires_at=models.utcnow() + dt.timedelta(hours=1))
    confirmed = registration.verify(keys(ann)[0], config)
    assert confirmed.email_verified is True
    assert registration.find_link(keys(bo)[0]) is not None
    assert models.Contact.get_by_id(bo.id).email_verified is False
    assert accounts.find_reset(reset_key) is not None  # a password reset is another matter


def test_a_link_followed_after_the_address_was_confirmed_tells_the_business_nothing_new(
        company, config):
    contact = registered(config)
    registration.mark_verified(contact)
    notices = len(delivered("billing@shop.example"))
    assert registration.verify(keys(contact)[0], config).id == contact.id
    assert len(delivered("billing@shop.example")) == notices
    assert len(activities("client.registered")) == 1
