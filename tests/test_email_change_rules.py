"""billing.email_change, driven directly: the two e-mails a request writes (their words,
language and link), which links a new request or a confirmation retires, and what confirming
writes (the portal's side is in tests/test_profile_details.py)."""
import re

import pytest
from flask import current_app

import i18n
import models
from billing import DomainError, accounts, email_change
from tests import factories

OLD, NEW = "ann@alpha.example", "ann.new@alpha.example"


@pytest.fixture
def ann(db):
    current_app.config["BASE_URL"] = "https://portal.studio.example"
    factories.company(name="Studio Nord")
    alpha = factories.client(name="Alpha")
    return factories.contact(alpha, email=OLD, first_name="Ann", email_verified=False)


def config():
    return current_app.config


def key_in(message):
    return re.search(r"/client/profile/email/(\S+)", message.body_text).group(1)


def last_mail_to(address):
    return models.EmailMessage.select().where(models.EmailMessage.to == address).order_by(
        models.EmailMessage.id.desc()).first()


def links(contact):
    PR = models.PasswordReset
    return list(PR.select().where(PR.contact == contact.id).order_by(PR.id))


def dead_link_refused(key):
    with pytest.raises(DomainError) as caught:
        email_change.confirm(key, config())
    assert caught.value.message == email_change.LINK_DEAD
    return caught.value


def test_a_request_mails_a_notice_to_the_old_address_and_a_link_to_the_new(ann):
    notice, link = email_change.request_change(ann, NEW, factories.PASSWORD, config())
    assert (notice.to, notice.subject) == (
        OLD, "Your Studio Nord portal e-mail address is being changed")
    assert NEW in notice.body_text and "/client/" not in notice.body_text
    assert (link.to, link.subject) == (NEW, "Confirm your new e-mail address for Studio Nord "
                                            "portal")
    assert link.body_text.startswith("Hello Ann,")
    assert f"https://portal.studio.example/client/profile/email/{key_in(link)}" in \
        link.body_text
    assert "for 24 hours" in link.body_text and "Studio Nord client portal" in link.body_text


def test_the_mails_are_in_the_persons_language(ann):
    models.Contact.update(locale="de").where(models.Contact.id == ann.id).execute()
    ann = models.Contact.get_by_id(ann.id)
    notice, link = email_change.request_change(ann, NEW, factories.PASSWORD, config())
    assert notice.subject == "Ihre E-Mail-Adresse im Portal von Studio Nord wird geändert"
    assert link.subject == "Bestätigen Sie Ihre neue E-Mail-Adresse für das Portal von " \
                           "Studio Nord"
    email_change.confirm(key_in(link), config())
    done = last_mail_to(OLD)
    assert done.subject == "Ihre E-Mail-Adresse im Portal von Studio Nord wurde geändert"


def test_a_new_request_retires_only_this_persons_earlier_address_links(ann):
    bob = factories.contact(ann.client, email="bob@alpha.example")
    _, bobs = email_change.request_change(bob, "bob.new@alpha.example", factories.PASSWORD,
                                          config())
    _, first = email_change.request_change(ann, NEW, factories.PASSWORD, config())
    accounts.request_password_reset(OLD, config())
    _, second = email_change.request_change(ann, "ann.2@alpha.example", factories.PASSWORD,
                                            config())
    dead_link_refused(key_in(first))
    # Ann's password link and Bob's own request are somebody else's business.
    assert [link.used_at is None for link in links(bob)] == [True]
    assert [(link.purpose, link.used_at is None) for link in links(ann)] == [
        ("email", False), ("password", True), ("email", True)]
    assert email_change.confirm(key_in(second), config()).email == "ann.2@alpha.example"
    assert email_change.confirm(key_in(bobs), config()).email == "bob.new@alpha.example"


def test_confirming_makes_the_new_address_the_verified_login_and_tells_the_old_one(ann):
    other = factories.contact(factories.client(), email="zed@zeta.example")
    _, others = email_change.request_change(other, "zed.new@zeta.example",
                                            factories.PASSWORD, config())
    _, link = email_change.request_change(ann, NEW, factories.PASSWORD, config())
    changed = email_change.confirm(key_in(link), config())
    stored = models.Contact.get_by_id(ann.id)
    assert (changed.email, stored.email, stored.pending_email, stored.email_verified) == (
        NEW, NEW, "", True)
    # The link is used now, and only it: the other person's link still works.
    used, = links(ann)
    assert used.used_at is not None
    assert [link.used_at for link in links(other)] == [None]
    done = last_mail_to(OLD)
    assert done.subject == "Your Studio Nord portal e-mail address was changed"
    assert done.body_text.startswith("Hello Ann,")
    assert f"now logs in with {NEW} instead of this address" in done.body_text
    entry = models.Activity.get(models.Activity.action == "contact.email_changed")
    assert (entry.subject_type, entry.subject_id, entry.client_id, entry.contact_id,
            entry.detail) == ("contact", ann.id, ann.client_id, ann.id, f"{OLD} -> {NEW}")
    dead_link_refused(key_in(link))
    assert email_change.confirm(key_in(others), config()).email == "zed.new@zeta.example"


def test_a_link_whose_request_was_withdrawn_changes_nothing(ann):
    _, link = email_change.request_change(ann, NEW, factories.PASSWORD, config())
    models.Contact.update(pending_email="").where(models.Contact.id == ann.id).execute()
    dead_link_refused(key_in(link))
    assert models.Contact.get_by_id(ann.id).email == OLD
    assert not models.Activity.select().where(
        models.Activity.action == "contact.email_changed").exists()


@pytest.mark.parametrize("new, password, message, field", [
    ("nope", factories.PASSWORD, "nope is not a valid e-mail address: An email address must "
                                 "have an @-sign.", "new_email"),
    (NEW, "wrong", "Your current password is not right.", "email_password"),
    (" ", factories.PASSWORD, "Enter your new e-mail address.", "new_email"),
    (OLD.upper(), factories.PASSWORD, "That is already your e-mail address.", "new_email"),
])
def test_a_refused_request_names_its_field_and_writes_nothing(ann, new, password, message,
                                                              field):
    with pytest.raises(DomainError) as caught:
        email_change.request_change(ann, new, password, config())
    assert (caught.value.message, caught.value.field) == (message, field)
    assert links(ann) == [] and not models.EmailMessage.select().exists()


def test_a_request_is_logged_and_a_taken_address_is_never_kept_as_pending(ann):
    factories.contact(factories.client(), email="taken@zeta.example")
    sent = email_change.request_change(ann, "taken@zeta.example", factories.PASSWORD, config())
    assert [m.to for m in sent] == [OLD]
    assert models.Contact.get_by_id(ann.id).pending_email == ""
    email_change.request_change(ann, NEW, factories.PASSWORD, config())
    assert models.Contact.get_by_id(ann.id).pending_email == NEW
    logged = models.Activity.select().where(
        models.Activity.action == "contact.email_change_requested").order_by(models.Activity.id)
    assert [(e.subject_type, e.subject_id, e.client_id, e.contact_id, e.detail, e.actor)
            for e in logged] == [
        ("contact", ann.id, ann.client_id, ann.id, "taken@zeta.example", "contact"),
        ("contact", ann.id, ann.client_id, ann.id, NEW, "contact")]


def test_a_too_long_new_address_is_named_by_its_label(ann):
    too_long = "a" * 250 + "@alpha.example"
    with pytest.raises(DomainError) as caught:
        email_change.request_change(ann, too_long, factories.PASSWORD, config())
    assert (caught.value.message, caught.value.field) == (
        "New e-mail address can have at most 254 characters.", "new_email")
    with i18n.using("de"), pytest.raises(DomainError) as caught:
        email_change.request_change(ann, too_long, factories.PASSWORD, config())
    assert caught.value.message == "Neue E-Mail-Adresse darf höchstens 254 Zeichen lang sein."


def test_the_password_is_read_to_its_first_200_characters_as_at_login(ann):
    ann.set_password("p" * 200)
    ann.save()
    email_change.request_change(ann, NEW, "p" * 200 + "typed on", config())
    assert models.Contact.get_by_id(ann.id).pending_email == NEW


def test_each_mail_goes_out_at_once_and_the_link_is_logged_for_the_person(ann):
    notice, link = email_change.request_change(ann, NEW, factories.PASSWORD, config())
    # The contact handed in shows the pending address too (the page renders it as it is).
    assert ann.pending_email == NEW
    sent = models.EmailMessage.select().where(models.EmailMessage.status == "sent")
    assert sorted(m.id for m in sent) == sorted([notice.id, link.id])
    logged = models.Activity.get(models.Activity.action == "contact.email_change_link")
    assert (logged.subject_type, logged.subject_id, logged.client_id, logged.contact_id) == (
        "contact", ann.id, ann.client_id, ann.id)
    email_change.confirm(key_in(link), config())
    done = last_mail_to(OLD)
    assert done.subject == "Your Studio Nord portal e-mail address was changed"
    assert done.status == "sent"


def test_with_no_choice_of_their_own_the_mails_are_in_the_companys_language(ann):
    factories.company(locale="fr")
    notice, link = email_change.request_change(ann, NEW, factories.PASSWORD, config())
    assert notice.body_text.startswith("Bonjour Ann,")
    assert link.body_text.startswith("Bonjour Ann,")
