"""Clients and contacts as a service (billing.clients), rule by rule: what each field takes
and refuses word for word with its field, the primary contact, contacts given by id, and
archiving; tests/test_client_rules.py has the currency and one-login rules through the API."""
import pytest

import models
from billing import clients
from tests import factories
from tests.core_support import activities, interleaved, refusal, refused, snapshot


@pytest.mark.parametrize("typed, kept", [("de-de", "de_DE"), (" fr_FR ", "fr_FR"), ("", ""),
                                         (None, ""), ("en", "en"), ("pt-BR", "pt_BR")])
def test_a_locale_is_one_babel_knows_written_its_way(typed, kept):
    assert clients.clean_locale(typed) == kept


@pytest.mark.parametrize("typed", ["zz_QQ", "english", "12"])
def test_an_unknown_locale_is_refused_naming_the_field(typed):
    assert refused(clients.clean_locale, typed, "client_locale") == (
        f"{typed} is not a locale we know: use a code such as en_US or de_DE.", "client_locale")
    assert refused(clients.clean_locale, "de_DE_xxxxx") == (
        "Locale can have at most 10 characters.", "locale")


@pytest.mark.parametrize("data, expected", [
    ({"name": "x" * 201}, ("The client's name can have at most 200 characters.", "name")),
    ({"number": "x" * 33}, ("The client number can have at most 32 characters.", "number")),
    ({"vat_number": "x" * 51}, ("The VAT number can have at most 50 characters.",
                                "vat_number")),
    ({"address": "1 Road\x00"}, ("The billing address cannot contain control characters.",
                                 "address")),
    ({"shipping_address": "x" * 5001},
     ("The shipping address can have at most 5000 characters.", "shipping_address")),
    ({"currency": "usdx"}, ("Currency can have at most 3 characters.", "currency")),
    ({"currency": "ABC"}, ("Currency must be an ISO 4217 code such as USD.", "currency")),
    ({"currency": ""}, ("Currency must be an ISO 4217 code such as USD.", "currency")),
    ({"locale": "zz_QQ"}, ("zz_QQ is not a locale we know: use a code such as en_US or "
                           "de_DE.", "locale")),
])
def test_a_client_field_that_cannot_work_is_refused_word_for_word(db, data, expected):
    assert refused(clients.clean_client, data) == expected


def test_a_clients_fields_are_kept_cleaned_and_only_those_given(db):
    assert clients.clean_client({"name": " Acme ", "number": "C" * 32, "vat_number": "V" * 50,
                                 "email": " Billing@Acme.Example ", "address": " 1 Road\n",
                                 "shipping_address": "", "locale": "de-de",
                                 "currency": " eur "}) == {
        "name": "Acme", "number": "C" * 32, "vat_number": "V" * 50,
        "email": "billing@acme.example", "address": "1 Road", "shipping_address": "",
        "locale": "de_DE", "currency": "EUR"}
    assert clients.clean_client({"email": "  "}) == {"email": ""}
    assert clients.clean_client({"email": None}) == {"email": ""}
    assert clients.clean_client({}) == {}
    assert refused(clients.clean_client, {"email": "not-an-address"})[1] == "email"


def test_a_client_needs_a_name_to_be_made_or_kept(db):
    assert refused(clients.create_client, {"name": "  ", "currency": "USD"}) == (
        "A client needs a name.", "name")
    assert refused(clients.create_client, {"currency": "USD"}) == (
        "A client needs a name.", "name")
    client = clients.create_client({"name": "Acme"})
    before = snapshot()
    assert refused(clients.update_client, client, {"name": " "}) == (
        "A client needs a name.", "name")
    assert snapshot() == before


def test_a_new_clients_first_contact_is_its_primary_and_the_creation_is_logged(db):
    staff = factories.staff()
    client = clients.create_client({"name": "Acme"}, [
        {"first_name": "Ann", "email": "ann@acme.example"},
        {"first_name": "Bob", "email": "bob@acme.example", "password": "long enough"}],
        staff=staff)
    ann, bob = client.contacts.order_by(models.Contact.id)
    assert (ann.is_primary, bob.is_primary) == (True, False)
    assert ann.password_hash == "" and bob.check_password("long enough")
    assert activities("client.created") == [(client.id, client.id, None, staff.id, "")]


def test_a_contacts_password_follows_the_password_rules(db):
    assert refused(clients.create_client, {"name": "Acme"}, [
        {"email": "ann@acme.example", "password": "short"}]) == (
        "Choose a password of at least 8 characters.", "password")
    assert models.Client.select().where(models.Client.name == "Acme").count() == 0


def test_the_apis_contacts_are_refused_under_contacts_with_the_reason(db):
    assert refused(clients.create_client, {"name": "Acme"}, [{"first_name": "No address"}]) == (
        "Each contact needs a valid e-mail address. Enter an e-mail address.", "contacts")
    assert refused(clients.create_client, {"name": "Acme"}, [
        {"email": "ann@acme.example", "phone": "5" * 51}]) == (
        "Phone can have at most 50 characters.", "contacts")


def test_marking_a_contact_primary_takes_it_from_the_other(db):
    staff = factories.staff()
    client = factories.client(name="Acme")
    first = clients.add_contact(client, {"email": "ann@acme.example", "is_primary": True},
                                staff=staff)
    other_client = factories.client(name="Other")
    theirs = clients.add_contact(other_client, {"email": "x@other.example", "is_primary": 1})
    second = clients.add_contact(client, {"email": "bob@acme.example", "is_primary": "1"})
    assert [models.Contact.get_by_id(c.id).is_primary for c in (first, second, theirs)] == [
        False, True, True]
    clients.update_contact(second, {"email": "bob@acme.example", "is_primary": False},
                           staff=staff)
    assert models.Contact.get_by_id(second.id).is_primary is False
    assert activities("contact.created") == [(first.id, client.id, None, staff.id, ""),
                                             (theirs.id, other_client.id, None, None, ""),
                                             (second.id, client.id, None, None, "")]
    assert activities("contact.updated") == [(second.id, client.id, None, staff.id, "")]


def test_a_form_contact_is_refused_under_its_own_fields(db):
    client = factories.client(name="Acme")
    assert refused(clients.add_contact, client, {"email": "bad"})[1] == "email"
    assert refused(clients.add_contact, client, {"email": "a@acme.example",
                                                 "first_name": "x" * 101}) == (
        "First name can have at most 100 characters.", "first_name")
    clients.add_contact(client, {"email": "a@acme.example"})
    assert refused(clients.add_contact, client, {"email": "A@acme.example"}) == (
        "This client already has a contact with the e-mail address a@acme.example.", "email")


def test_an_address_taken_meanwhile_elsewhere_is_refused_at_its_field(db):
    """Another request stores the same address between this one's check and its insert:
    the unique index refuses the insert, and the person reads why at the address's field."""
    client, other = factories.client(name="Acme"), factories.client(name="Other")

    def taken_elsewhere():
        models.Contact.create(client=other, email="ann@acme.example")
    for call, field in ((lambda: clients.add_contact(client, {"email": "ann@acme.example"}),
                         "email"),
                        (lambda: clients.create_client({"name": "Acme 2"},
                                                       [{"email": "ann@acme.example"}]),
                         "contacts")):
        with interleaved('INSERT INTO "contact"', taken_elsewhere) as fired:
            error = refusal(call)
        assert fired and (error.message, error.field) == (
            "ann@acme.example is already a contact's login.", field)


def test_contacts_given_by_id_must_be_the_clients_own(db):
    client = factories.client(name="Acme")
    other = factories.client(name="Other")
    theirs = factories.contact(other, email="x@other.example")
    mine = factories.contact(client, email="m@acme.example")
    before = snapshot()
    assert refused(clients.update_client, client, {}, [
        {"id": theirs.public_id, "email": "x@other.example"}]) == (
        "A contact id does not belong to this client.", "contacts")
    assert snapshot() == before
    clients.update_client(client, {}, [{"id": mine.public_id,
                                        "email": "m@acme.example", "phone": "123"}])
    assert models.Contact.get_by_id(mine.id).phone == "123"
    assert client.contacts.count() == 1


def test_the_api_switches_a_contact_off_and_on_as_the_back_office_does(db):
    staff = factories.staff()
    client = factories.client(name="Acme")
    ann = factories.contact(client, email="ann@acme.example")
    clients.update_client(client, {}, [{"id": ann.public_id, "email": "ann@acme.example",
                                        "is_active": False}], staff=staff)
    assert models.Contact.get_by_id(ann.id).is_active is False
    assert activities("contact.deactivated") == [(ann.id, client.id, None, staff.id, "")]
    clients.update_client(client, {}, [{"id": ann.public_id, "email": "ann@acme.example",
                                        "is_active": False}])
    assert len(activities("contact.deactivated")) == 1  # already off: nothing to do
    clients.update_client(client, {}, [{"id": ann.public_id, "email": "ann@acme.example",
                                        "is_active": 1}], staff=staff)
    assert models.Contact.get_by_id(ann.id).is_active is True
    assert activities("contact.reactivated") == [(ann.id, client.id, None, staff.id, "")]
    added = clients.create_client({"name": "New"}, [{"email": "off@new.example",
                                                     "is_active": False}], staff=staff)
    off = added.contacts[0]
    assert off.is_active is False
    assert activities("contact.deactivated")[-1] == (off.id, added.id, None, staff.id, "")


def test_an_update_is_logged_and_keeps_the_currency_it_already_has(db):
    staff = factories.staff()
    client = factories.client(name="Acme", currency="USD")
    factories.invoice(client)
    clients.update_client(client, {"currency": "usd", "name": "Acme Ltd"}, staff=staff)
    assert models.Client.get_by_id(client.id).name == "Acme Ltd"
    assert activities("client.updated") == [(client.id, client.id, None, staff.id, "")]


def test_archiving_and_unarchiving_are_logged_once_each(db):
    staff = factories.staff()
    client = factories.client(name="Acme")
    assert clients.archive_client(client, staff).archived_at is not None
    assert clients.archive_client(client, staff).archived_at is not None
    assert activities("client.archived") == [(client.id, client.id, None, staff.id, "")]
    assert clients.unarchive_client(client, staff).archived_at is None
    assert clients.unarchive_client(client, staff).archived_at is None
    assert activities("client.unarchived") == [(client.id, client.id, None, staff.id, "")]
