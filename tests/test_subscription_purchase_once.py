"""A plan purchase happens exactly once: a double submit (a new customer's or a returning
contact's), a race of one form and of two forms with one address, a key already used by
another payment; and an existing address is never revealed, with nothing made.

Siblings: tests/test_subscription_purchase.py (the page and the purchases that go through)
and tests/test_subscription_purchase_unpaid.py (bad input, declined cards, a purchase not
yet paid). Shared helpers are tests/subscription_purchase_support.py."""
import re

import pytest

import models
from billing import checkout, subscription_purchase
from billing.accounts import wait_for_queued_resets
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import interleaved, opened, race
from tests.payments_support import save_card
from tests.subscription_purchase_support import (
    CARD,
    NEW,
    NEW_EMAIL,
    counts,
    html,
    logged_in_as,
    make_plan,
    review,
    state,
    submit,
    url,
)

# ------------------------------------------------------------------ exactly once

def test_two_identical_posts_buy_once(app, client, demo_gateway):
    public_id = make_plan(app)
    page = review(client, public_id)
    # A double click: the second request carries the cookie from before the first answered.
    with client.session_transaction() as session:
        before_first = dict(session)
    first = submit(client, public_id, page, **CARD)
    with client.session_transaction() as session:
        session.clear()
        session.update(before_first)
    second = submit(client, public_id, page, **CARD)
    # And once more from the logged-in session (a reload of the form: a fresh CSRF token).
    token = csrf_token(client, "/client/subscriptions")
    third = client.post(url(public_id), data={"csrf_token": token, "step": "capture", **CARD})
    assert first.status_code == second.status_code == third.status_code == 303
    assert first.headers["Location"] == second.headers["Location"] == third.headers["Location"]
    assert counts(app) == {"Client": 1, "Contact": 1, "Subscription": 1, "Invoice": 1,
                           "Payment": 1, "GatewayToken": counts(app)["GatewayToken"],
                           "DemoCharge": 1, "GatewayCustomer": 0}
    assert logged_in_as(client) != ""


def _buy_args(app, public_id, demo_gateway, key, email=NEW_EMAIL):
    import gateways
    plan = models.Plan.get(models.Plan.public_id == public_id)
    gateway = gateways.for_config(models.GatewayConfig.get_by_id(demo_gateway.id))
    details = {"client_name": "Gamma LLC", "first_name": "Gil", "last_name": "Gamma",
               "phone": "", "address": "", "vat_number": "", "email": email}
    return dict(plan=plan, quantity=2, company=models.Company.current(), key=key,
                details=details, password_hash="x", gateway=gateway,
                new_method=gateway.tokenize("4242424242424242", "12", "2035", "123"),
                config=dict(app.config), app=app)


def test_a_race_of_one_form_buys_once(app, demo_gateway):
    public_id = make_plan(app)
    key = "race-key-" + "k" * 20

    def work(_):
        with app.test_request_context():
            args = _buy_args(app, public_id, demo_gateway, key)
            return subscription_purchase.buy(args.pop("plan"), args.pop("quantity"),
                                             args.pop("company"), **args).status
    results = race(app, 3, work)
    assert sorted(map(str, results)) == ["completed", "duplicate", "duplicate"], results
    found = counts(app)
    assert (found["Client"], found["Contact"], found["Subscription"], found["Invoice"],
            found["Payment"], found["DemoCharge"]) == (1, 1, 1, 1, 1, 1)


def test_a_race_of_two_forms_with_one_address_makes_one_account(app, demo_gateway):
    public_id = make_plan(app)

    def work(i):
        with app.test_request_context():
            args = _buy_args(app, public_id, demo_gateway, f"race-key-{i}-" + "k" * 20)
            return subscription_purchase.buy(args.pop("plan"), args.pop("quantity"),
                                             args.pop("company"), **args).status
    results = race(app, 2, work)
    assert sorted(map(str, results)) == ["completed", "exists"], results
    found = counts(app)
    assert (found["Client"], found["Subscription"], found["Payment"]) == (1, 1, 1)


def _buy(app, public_id, demo_gateway, key, email=NEW_EMAIL):
    with app.test_request_context():
        args = _buy_args(app, public_id, demo_gateway, key, email)
        return subscription_purchase.buy(args.pop("plan"), args.pop("quantity"),
                                         args.pop("company"), **args).status


# The races above reach buy()'s IntegrityError branch only when the timing falls that way.
# These run the other request whole, committed, after this one's checks and just before
# its transaction begins (SQLite's writer lock is taken there), every time, on either engine.
BEFORE_WRITING = "BEGIN"


@pytest.mark.parametrize("other_key,answer", [("same", "duplicate"), ("other", "exists")])
def test_a_purchase_overtaken_after_its_checks_makes_nothing_more(app, demo_gateway,
                                                                 other_key, answer):
    """One form submitted twice (the same key: this one is the other's purchase) or two
    forms with one address (this one finds the account made: "exists", and its owner is
    told, once); never a second account, subscription or charge."""
    public_id = make_plan(app)
    key = "overtaken-key-" + "k" * 16
    theirs = key if other_key == "same" else "elsewhere-key-" + "k" * 16
    with opened(app):
        with interleaved(BEFORE_WRITING, elsewhere=app,
                         change=lambda: _buy(app, public_id, demo_gateway, theirs)) as fired:
            assert _buy(app, public_id, demo_gateway, key) == answer
        assert fired
    wait_for_queued_resets()
    found = counts(app)
    assert (found["Client"], found["Contact"], found["Subscription"], found["Invoice"],
            found["Payment"], found["DemoCharge"]) == (1, 1, 1, 1, 1, 1)
    with opened(app):
        told = [m.body_text for m in models.EmailMessage.select().where(
            models.EmailMessage.to == NEW_EMAIL)]
    notices = [text for text in told if "already has an account" in text]
    assert len(notices) == (1 if answer == "exists" else 0)
    # with the portal's own links (its address from the configuration)
    assert all("http://portal.test/client/password/reset/" in text for text in notices)


def test_a_key_another_client_bought_with_meanwhile_is_refused_not_theirs(app, world,
                                                                        demo_gateway):
    """A returning contact's form key, bought with by another client's contact after this
    one's checks (a key never repeats across forms, so this is a forged or replayed form):
    refused as expired, never answered with the other client's purchase."""
    public_id = make_plan(app)
    key = "crossed-key-" + "k" * 18

    def bought_by(contact_email):
        with app.test_request_context():
            args = _buy_args(app, public_id, demo_gateway, key)
            contact = models.Contact.get(models.Contact.email == contact_email)
            args.update(details=None, password_hash="", contact=contact)
            return subscription_purchase.buy(args.pop("plan"), args.pop("quantity"),
                                             args.pop("company"), **args)
    with opened(app):
        with interleaved(BEFORE_WRITING, elsewhere=app,
                         change=lambda: bought_by("b1@beta.example")) as fired:
            with pytest.raises(checkout.DomainError) as refused:
                bought_by("a1@alpha.example")
        assert fired
        assert (refused.value.message, refused.value.field) == (
            "This purchase form has expired. Please start again.", "key")
        mine = models.Subscription.select().join(models.Client).where(
            models.Client.name == world["a"].name)
        assert mine.count() == 0


@pytest.mark.parametrize("other_key,answer", [("same", "duplicate"), ("other", "exists")])
def test_a_purchase_overtaken_before_its_address_check_makes_nothing_more(
        app, demo_gateway, other_key, answer):
    """The other submit commits between this one's look-up of its key and its look-up of
    the address (no transaction is open yet, so on either engine): the same form's is this
    purchase ("duplicate"), another form's made the account ("exists")."""
    public_id = make_plan(app)
    key = "overtaken-key-" + "k" * 16
    theirs = key if other_key == "same" else "elsewhere-key-" + "k" * 16
    with opened(app):
        with interleaved(r'SELECT EXISTS\(SELECT .* FROM "contact"', elsewhere=app,
                         change=lambda: _buy(app, public_id, demo_gateway, theirs)) as fired:
            assert _buy(app, public_id, demo_gateway, key) == answer
        assert fired
    found = counts(app)
    assert (found["Client"], found["Contact"], found["Subscription"], found["Payment"]) == (
        1, 1, 1, 1)


def test_a_key_from_another_payment_is_refused(app, demo_gateway, world):
    public_id = make_plan(app)
    with opened(app):
        models.Payment.create(client=world["b"].id, status="completed", amount=1,
                              currency="USD", date=models.utcnow().date(),
                              idempotency_key="taken-key-" + "k" * 20)
    before = state(app)
    with opened(app):
        args = _buy_args(app, public_id, demo_gateway, "taken-key-" + "k" * 20)
        with pytest.raises(checkout.DomainError, match="expired"):
            subscription_purchase.buy(args.pop("plan"), args.pop("quantity"),
                                      args.pop("company"), **args)
    assert state(app) == before


def test_a_returning_contacts_double_submit_buys_once(app, client, auth, world, demo_gateway):
    public_id = make_plan(app)
    auth.login("a1@alpha.example")
    assert save_card(client, demo_gateway).status_code in (302, 303)
    with opened(app):
        token = models.GatewayToken.get()
    confirm = review(client, public_id, method=f"token:{token.public_id}",
                     **{k: None for k in NEW if k != "quantity"})
    before = counts(app)
    first = submit(client, public_id, confirm, step="pay")
    second = submit(client, public_id, confirm, step="pay")
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    after = counts(app)
    assert {k: after[k] - before[k] for k in after} == {
        "Client": 0, "Contact": 0, "Subscription": 1, "Invoice": 1, "Payment": 1,
        "GatewayToken": 0, "DemoCharge": 1, "GatewayCustomer": 0}
    assert "already submitted" in html(client.get(second.headers["Location"]))


# ------------------------------------------------------------------ no enumeration

def test_an_existing_address_is_not_revealed_and_nothing_is_made(app, client, world,
                                                                   demo_gateway):
    public_id = make_plan(app)
    other = app.test_client()
    known_page = review(client, public_id, email="a1@alpha.example")
    new_page = review(other, public_id)
    # The step after the form is the same for any address: nothing is looked up there.
    strip = re.compile(r'value="[^"]*"|"X-CSRFToken": "[^"]*"')
    assert strip.sub("", html(known_page)) == strip.sub("", html(new_page))
    before = counts(app)
    answer = submit(client, public_id, known_page, **CARD)
    wait_for_queued_resets()
    assert answer.status_code == 200 and "Check your e-mail to finish" in html(answer)
    assert counts(app) == before
    assert logged_in_as(client) == ""
    with opened(app):
        notice = list(models.EmailMessage.select().where(
            models.EmailMessage.to == "a1@alpha.example"))
        assert len(notice) == 1 and "tried to register" in notice[0].body_text
        owner = models.Contact.get(models.Contact.email == "a1@alpha.example")
        assert owner.check_password(factories.PASSWORD)
