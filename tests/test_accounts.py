"""Contact logins as a service (billing.accounts), rule by rule: who may log in and what a
failed login says, password rules at their edges, single-use links and their lifetimes, the
profile a contact edits, and closing, reopening and inviting an account."""
import datetime as dt
import functools
import logging
import threading
import time

import pytest
from werkzeug.security import generate_password_hash

import models
from billing import accounts
from tests import factories
from tests.core_support import QueryCounter, activities, interleaved, refusal, refused

CONFIG = {"BASE_URL": "http://portal.test", "SMTP_URL": ""}
BAD_LOGIN = "That e-mail address and password don't match an account."


@pytest.fixture
def dana(db, tmp_path, monkeypatch):
    factories.company(name="Shop Ltd")
    monkeypatch.setitem(CONFIG, "OUTBOX_PATH", str(tmp_path / "outbox"))
    client = factories.client(name="Gamma Co")
    return factories.contact(client, first_name="Dana", email="dana@gamma.example")



def fresh(contact):
    return models.Contact.get_by_id(contact.id)


# ---------------------------------------------------------------- logging in

def test_a_login_matches_the_address_however_typed_and_records_when(dana):
    assert fresh(dana).last_login_at is None
    found = accounts.authenticate("  DANA@Gamma.Example ", factories.PASSWORD)
    assert found.id == dana.id and fresh(dana).last_login_at is not None


@pytest.mark.parametrize("close", ["unknown", "wrong", "inactive", "archived", "no password",
                                   "nothing typed"])
def test_every_failed_login_says_the_same(dana, close):
    email, password = "dana@gamma.example", factories.PASSWORD
    if close == "unknown":
        email = "nobody@gamma.example"
    elif close == "wrong":
        password = factories.PASSWORD + "x"
    elif close == "inactive":
        models.Contact.update(is_active=False).execute()
    elif close == "archived":
        models.Client.update(archived_at=models.utcnow()).execute()
    elif close == "no password":
        models.Contact.update(password_hash="").execute()
    else:
        email = password = None
    assert refused(accounts.authenticate, email, password) == (BAD_LOGIN, None)
    assert fresh(dana).last_login_at is None


def test_only_someone_with_the_password_learns_the_address_waits_for_confirmation(dana):
    models.Contact.update(email_verified=False).execute()
    assert refused(accounts.authenticate, "dana@gamma.example", "wrong password") == (
        BAD_LOGIN, None)
    assert refused(accounts.authenticate, "dana@gamma.example", factories.PASSWORD) == (
        "Confirm your e-mail address first: follow the link in the e-mail we sent when you "
        "registered, or ask for a new one below.", "unverified")
    assert fresh(dana).last_login_at is None


# ---------------------------------------------------------------- passwords

@pytest.mark.parametrize("password, confirm, expected", [
    ("", "", ("Choose a password of at least 8 characters.", "password")),
    (None, None, ("Choose a password of at least 8 characters.", "password")),
    ("x" * 7, "x" * 7, ("Choose a password of at least 8 characters.", "password")),
    ("x" * 201, "x" * 201, ("That password is too long.", "password")),
    ("x" * 8, "x" * 9, ("The two passwords are not the same.", "confirm")),
])
def test_a_password_is_eight_to_two_hundred_characters_typed_twice(password, confirm, expected):
    assert refused(accounts.validate_password, password, confirm) == expected


@pytest.mark.parametrize("length", [8, 200])
def test_a_password_at_either_edge_is_taken(length):
    assert accounts.validate_password("p" * length, "p" * length) is None


# ---------------------------------------------------------------- reset links

def key_of(message):
    return message.body_text.split("/client/password/reset/", 1)[1].split()[0]


def test_a_reset_link_lives_an_hour_and_is_logged(dana):
    before = models.utcnow()
    message = accounts.request_password_reset(" Dana@gamma.example ", CONFIG)
    assert message.to == "dana@gamma.example"
    reset = accounts.find_reset(key_of(message))
    assert (reset.contact_id, reset.purpose) == (dana.id, "password")
    assert dt.timedelta(minutes=60) <= reset.expires_at - before < dt.timedelta(minutes=61)
    assert activities("contact.password_reset_requested") == [
        (dana.id, dana.client_id, dana.id, None, "")]


def test_no_link_for_an_unknown_or_closed_account(dana):
    assert accounts.request_password_reset("nobody@gamma.example", CONFIG) is None
    assert accounts.request_password_reset(None, CONFIG) is None
    models.Contact.update(is_active=False).execute()
    assert accounts.request_password_reset("dana@gamma.example", CONFIG) is None
    assert models.PasswordReset.select().count() == 0


def test_a_link_is_found_only_by_its_key_for_its_purpose_while_it_lives(dana):
    key = key_of(accounts.request_password_reset("dana@gamma.example", CONFIG))
    assert accounts.find_reset(key).contact_id == dana.id
    assert accounts.find_reset(key, purpose="verify") is None
    for wrong in ("", None, key[:-1], key + "x" * (101 - len(key))):
        assert accounts.find_reset(wrong) is None
    models.PasswordReset.update(expires_at=models.utcnow() - dt.timedelta(seconds=1)).execute()
    assert accounts.find_reset(key) is None


def test_a_link_mailed_before_the_account_closed_is_dead(dana):
    key = key_of(accounts.request_password_reset("dana@gamma.example", CONFIG))
    models.Client.update(archived_at=models.utcnow()).execute()
    assert accounts.find_reset(key) is None


def test_a_reset_sets_the_password_kills_every_other_link_and_confirms_the_address(dana):
    models.Contact.update(email_verified=False).execute()
    first = key_of(accounts.request_password_reset("dana@gamma.example", CONFIG))
    second = key_of(accounts.request_password_reset("dana@gamma.example", CONFIG))
    other = factories.contact(dana.client, email="pat@gamma.example")
    others = key_of(accounts.request_password_reset("pat@gamma.example", CONFIG))
    old_session = fresh(dana).session_token
    changed = accounts.reset_password(first, "new password", "new password")
    assert changed.id == dana.id
    after = fresh(dana)
    assert after.check_password("new password") and after.email_verified
    # At werkzeug's own work factor: only the test factories use a small one.
    assert after.password_hash.startswith("scrypt:32768:8:1$")
    assert after.session_token != old_session
    assert accounts.find_reset(second) is None
    assert accounts.find_reset(others).contact_id == other.id
    assert activities("contact.password_reset") == [(dana.id, dana.client_id, dana.id, None,
                                                     "")]
    assert refused(accounts.reset_password, first, "another one", "another one") == (
        "This reset link has expired or was already used. Ask for a new one.", None)


def test_a_link_used_meanwhile_elsewhere_is_refused_and_sets_no_password(dana):
    """Another request spends the same link between this one's look-up and its claim (a
    double submit): the claim finds it used and says so; the password stays."""
    key = key_of(accounts.request_password_reset("dana@gamma.example", CONFIG))
    spend = models.PasswordReset.update(used_at=models.utcnow())
    with interleaved('UPDATE "passwordreset"', spend.execute) as fired:
        error = refusal(lambda: accounts.reset_password(key, "new password", "new password"))
    assert fired and (error.message, error.field) == (
        "This reset link was already used. Ask for a new one.", None)
    assert not fresh(dana).check_password("new password")


def test_a_bad_password_is_refused_before_the_link_is_spent(dana):
    key = key_of(accounts.request_password_reset("dana@gamma.example", CONFIG))
    assert refused(accounts.reset_password, key, "short", "short") == (
        "Choose a password of at least 8 characters.", "password")
    assert accounts.find_reset(key) is not None


# ---------------------------------------------------------------- the profile

def profile(contact, **fields):
    return accounts.update_profile(contact, **{"first_name": "Dana", "last_name": "Buyer",
                                               "phone": "", **fields})


def test_the_profile_keeps_trimmed_names_and_the_language_chosen(dana):
    profile(dana, first_name="  Dana ", last_name=" Buyer ", phone=" 555 ", locale="de")
    kept = fresh(dana)
    assert (kept.first_name, kept.last_name, kept.phone, kept.locale) == (
        "Dana", "Buyer", "555", "de")
    profile(dana)  # no locale given: the choice stays
    assert fresh(dana).locale == "de"
    profile(dana, locale="")  # automatic again
    assert fresh(dana).locale == ""


@pytest.mark.parametrize("fields, expected", [
    ({"locale": "xx"}, ("Choose a language from the list.", "locale")),
    ({"first_name": "  "}, ("Enter your first name.", "first_name")),
    ({"first_name": "x" * 101}, ("First name can have at most 100 characters.", "first_name")),
    ({"last_name": "x" * 101}, ("Last name can have at most 100 characters.", "last_name")),
    ({"phone": "5" * 51}, ("Phone can have at most 50 characters.", "phone")),
    ({"new_password": "new password", "confirm": "new password",
      "current_password": "not it"}, ("Your current password is not right.",
                                      "current_password")),
    ({"new_password": "short", "confirm": "short", "current_password": factories.PASSWORD},
     ("Choose a password of at least 8 characters.", "password")),
    ({"billing": {"address": "1 Road"}},
     ("Your billing details can only be changed by us: reply to one of our e-mails.",
      "address")),
])
def test_a_profile_that_cannot_be_saved_changes_nothing(dana, fields, expected):
    before = fresh(dana)
    assert refused(profile, dana, **{"last_name": "Changed", **fields}) == expected
    after = fresh(dana)
    assert (after.last_name, after.password_hash) == (before.last_name, before.password_hash)


def test_names_at_their_limits_are_taken(dana):
    profile(dana, first_name="f" * 100, last_name="l" * 100, phone="5" * 50)
    kept = fresh(dana)
    assert (len(kept.first_name), len(kept.last_name), len(kept.phone)) == (100, 100, 50)


def test_a_new_password_needs_the_current_one_and_ends_other_sessions(dana):
    old_session = fresh(dana).session_token
    profile(dana, current_password=factories.PASSWORD, new_password="brand new pw",
            confirm="brand new pw")
    kept = fresh(dana)
    assert kept.check_password("brand new pw") and kept.session_token != old_session


def test_a_current_password_of_two_hundred_characters_is_checked_whole(dana):
    longest = "p" * 200
    models.Contact.update(password_hash=generate_password_hash(longest)).execute()
    assert refused(profile, fresh(dana), current_password=longest + "p",
                   new_password="brand new pw", confirm="brand new pw") == (
        "Your current password is not right.", "current_password")
    profile(fresh(dana), current_password=longest, new_password="brand new pw",
            confirm="brand new pw")
    assert fresh(dana).check_password("brand new pw")


def test_billing_details_are_saved_when_the_business_allows_it(dana):
    models.Company.update(contacts_edit_billing_details=True).execute()
    profile(dana, billing={"address": "1 Road\nTown", "shipping_address": "2 Lane",
                           "vat_number": " GB123 "})
    client = models.Client.get_by_id(dana.client_id)
    assert (client.address, client.shipping_address, client.vat_number) == (
        "1 Road\nTown", "2 Lane", "GB123")
    assert activities("client.details_changed") == [(dana.client_id, dana.client_id, dana.id,
                                                     None, "")]
    assert refused(profile, dana, billing={"address": "x" * 1001}) == (
        "Billing address can have at most 1000 characters.", "address")
    assert refused(profile, dana, billing={"shipping_address": "x" * 1001}) == (
        "Shipping address can have at most 1000 characters.", "shipping_address")
    assert refused(profile, dana, billing={"vat_number": "x" * 51}) == (
        "VAT number can have at most 50 characters.", "vat_number")
    profile(dana, billing={})  # what is not given is blank
    client = models.Client.get_by_id(dana.client_id)
    assert (client.address, client.shipping_address, client.vat_number) == ("", "", "")


# ---------------------------------------------------------------- closing and inviting

def test_revoking_kills_links_and_sessions_and_says_how_many(dana):
    staff = factories.staff()
    invoice = factories.invoice(dana.client, status="sent")
    models.Invitation.issue(dana, 30, invoice=invoice)
    accounts.request_password_reset("dana@gamma.example", CONFIG)
    old_session = fresh(dana).session_token
    assert accounts.revoke_links(dana, staff) == 2
    assert fresh(dana).session_token != old_session
    assert activities("contact.links_revoked") == [(dana.id, dana.client_id, None, staff.id,
                                                    "2 links")]
    assert accounts.revoke_links(dana, log=False) == 0
    assert len(activities("contact.links_revoked")) == 1


def test_deactivating_closes_the_account_and_reactivating_reopens_it_without_old_links(dana):
    staff = factories.staff()
    key = key_of(accounts.request_password_reset("dana@gamma.example", CONFIG))
    closed = factories.contact(dana.client, email="closed@gamma.example", is_active=False)
    assert accounts.deactivate_contact(dana, staff).is_active is False
    assert fresh(dana).is_active is False and accounts.find_reset(key) is None
    assert activities("contact.deactivated") == [(dana.id, dana.client_id, None, staff.id, "")]
    assert activities("contact.links_revoked") == []
    assert accounts.reactivate_contact(dana, staff).is_active is True
    assert fresh(dana).is_active is True and accounts.find_reset(key) is None
    assert fresh(closed).is_active is False  # only the one reopened
    assert activities("contact.reactivated") == [(dana.id, dana.client_id, None, staff.id, "")]


@pytest.mark.parametrize("ttl_days, lives", [(14, 14), (0, 1), (None, 1), (-5, 1)])
def test_an_invitation_lives_as_long_as_the_companys_links(dana, ttl_days, lives):
    models.Company.update(invitation_ttl_days=ttl_days or 0).execute()
    staff = factories.staff()
    before = models.utcnow()
    message = accounts.invite_contact(dana, CONFIG, staff)
    assert f"for {lives} days" in message.body_text
    assert models.EmailMessage.get_by_id(message.id).status == "sent"
    reset = accounts.find_reset(key_of(message))
    assert dt.timedelta(days=lives) <= reset.expires_at - before < dt.timedelta(days=lives,
                                                                               minutes=1)
    assert activities("contact.invited") == [(dana.id, dana.client_id, None, staff.id, "")]


def test_a_closed_account_is_not_invited(dana):
    models.Contact.update(is_active=False).execute()
    assert refused(accounts.invite_contact, fresh(dana), CONFIG) == (
        "Reactivate this contact before inviting them.", None)
    models.Contact.update(is_active=True).execute()
    models.Client.update(archived_at=models.utcnow()).execute()
    assert refused(accounts.invite_contact, fresh(dana), CONFIG) == (
        "This client is archived: unarchive it before inviting a contact.", None)
    assert models.PasswordReset.select().count() == 0


# ---------------------------------------------------------------- the account worker

def account_workers():
    return [t for t in threading.enumerate() if t.name == "account-mail"]


def test_one_background_worker_runs_account_jobs_as_soon_as_they_are_due(app, monkeypatch):
    monkeypatch.setattr(accounts, "WORKER_DELAY", 0.0)
    ran = []
    started = time.monotonic()
    for n in range(3):
        accounts.queue_account_work(app, ran.append, n)
    accounts.wait_for_queued_resets()
    assert ran == [0, 1, 2]
    # Each job waits only until it is due (here: at once), not a second more.
    assert time.monotonic() - started < 0.9
    assert [t.daemon for t in account_workers()] == [True]


def test_waiting_for_a_stuck_account_job_fails_instead_of_hanging(app, monkeypatch):
    monkeypatch.setattr(accounts, "WORKER_DELAY", 0.0)
    started, release = threading.Event(), threading.Event()
    accounts.queue_account_work(app, lambda: (started.set(), release.wait(10)))
    assert started.wait(10)
    began = time.monotonic()
    with pytest.raises(TimeoutError, match="still unhandled after 0.2 s"):
        accounts.wait_for_queued_resets(timeout=0.2)
    assert 0.2 <= time.monotonic() - began < 2
    release.set()
    accounts.wait_for_queued_resets(timeout=10)  # returns once the job is done


def test_a_failed_account_job_is_logged_by_name_and_the_worker_goes_on(app, caplog):
    def broken_job():
        raise RuntimeError("boom")

    ran = []
    with caplog.at_level(logging.ERROR, logger="billing.accounts"):
        accounts.queue_account_work(app, broken_job)
        accounts.queue_account_work(app, functools.partial(ran.append, "after"))
        accounts.queue_account_work(app, functools.partial(int, "x"))
        accounts.wait_for_queued_resets()
    assert ran == ["after"]
    failed = [r for r in caplog.records if r.name == "billing.accounts"]
    assert [r.getMessage() for r in failed] == [
        "An account job (broken_job) failed.",
        "An account job (functools.partial(<class 'int'>, 'x')) failed."]
    assert [r.exc_info[0] for r in failed] == [RuntimeError, ValueError]


def test_a_login_records_only_that_persons_time_and_brings_their_client_along(dana):
    other = factories.contact(dana.client, email="erin@gamma.example")
    with QueryCounter() as counter:
        found = accounts.authenticate("dana@gamma.example", factories.PASSWORD)
        assert found.client.name == "Gamma Co"
    # The contact with their client (whether they may sign in asks it) and the login time.
    assert counter.count == 2, counter.statements
    assert fresh(other).last_login_at is None


def test_a_link_key_is_43_characters_and_a_key_up_to_100_is_looked_up(dana):
    key = key_of(accounts.request_password_reset("dana@gamma.example", CONFIG))
    assert len(key) == 43  # 32 random bytes
    # Keys of another length are only refused unread past 100 characters.
    for length, found in ((100, True), (101, False)):
        long_key = "k" * length
        models.PasswordReset.create(contact=dana, token_hash=models.hash_token(long_key),
                                    expires_at=models.utcnow() + dt.timedelta(hours=1))
        assert (accounts.find_reset(long_key) is not None) is found


def test_an_account_job_waits_until_the_asking_request_has_answered(app):
    ran = []
    queued = time.monotonic()
    accounts.queue_account_work(app, lambda: ran.append(time.monotonic()))
    accounts.wait_for_queued_resets()
    assert ran[0] - queued >= accounts.WORKER_DELAY


def test_a_forked_child_starts_with_a_queue_and_worker_of_its_own(app, monkeypatch):
    for name in ("_resets", "_worker_lock", "_worker"):
        monkeypatch.setattr(accounts, name, getattr(accounts, name))  # restored afterwards
    parents = accounts._resets, accounts._worker_lock
    accounts._forget_parents_worker()
    assert accounts._worker is None
    assert accounts._resets is not parents[0] and accounts._resets.unfinished_tasks == 0
    assert accounts._worker_lock is not parents[1] and not accounts._worker_lock.locked()
