"""A plan's public purchase page: anyone sees the plan; a new customer or a logged-in
contact buys and pays the first invoice (demo gateway and Stripe on localstripe) or starts
a trial with a saved card; the switches and limits around it (rate limit, password logins
off, staff viewing as a contact, a free plan).

Siblings: tests/test_subscription_purchase_unpaid.py (bad input, declined cards, a purchase
not yet paid) and tests/test_subscription_purchase_once.py (a double submit or a race buys
once; an existing address is never revealed). Shared helpers are
tests/subscription_purchase_support.py."""
import pytest

import models
from billing import subscriptions
from billing.accounts import wait_for_queued_resets
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import login_staff, opened
from tests.payments_support import SECRET_RE, confirm_in_browser, make_gateway, save_card
from tests.subscription_purchase_support import (
    CARD,
    NEW,
    NEW_EMAIL,
    buy_new,
    counts,
    html,
    logged_in_as,
    make_plan,
    review,
    state,
    submit,
    the_new_contact,
    url,
)

# ------------------------------------------------------------------ the page

def test_the_page_shows_the_plan_to_anyone(app, client):
    public_id = make_plan(app, trial_days="14", max_quantity="10")
    page = client.get(url(public_id))
    text = html(page)
    assert page.status_code == 200
    assert "<title>Buy Pro · " in text
    for shown in ("Buy Pro", "Everything", "$29.00", "monthly", "14 days", "$10.00",
                  "1 to 10", 'name="email"', 'name="password"', 'name="quantity"'):
        assert shown in text, shown
    assert 'for="buy-client_name"' in text and 'id="buy-client_name"' in text
    assert text.count("<h1") == 1


@pytest.mark.parametrize("how", ["unknown", "archived", "malformed"])
def test_an_unknown_or_archived_plan_is_404_and_changes_nothing(app, client, how):
    public_id = make_plan(app)
    if how == "archived":
        with opened(app):
            subscriptions.set_archived(models.Plan.get(models.Plan.public_id == public_id),
                                       True)
    elif how == "unknown":
        public_id = public_id[:-1] + ("A" if public_id[-1] != "A" else "B")
    else:
        public_id = "..%2F" + "x" * 40
    before = state(app)
    page = client.get(url(public_id))
    assert page.status_code == 404
    if how != "malformed":
        assert "This plan is not offered" in html(page)
    token = csrf_token(client, "/client/login")
    posted = client.post(url(public_id), data={"csrf_token": token, **NEW})
    assert posted.status_code == 404
    assert state(app) == before


def test_staff_copy_the_link_from_the_back_office(app, client):
    public_id = make_plan(app)
    with opened(app):
        factories.staff(email="boss@test.example")
        plan_id = models.Plan.get(models.Plan.public_id == public_id).id
    login_staff(client, "boss@test.example")
    link = f"http://portal.test/client/subscriptions/{public_id}/purchase"
    assert link in html(client.get("/admin/subscriptions"))
    assert link in html(client.get(f"/admin/subscriptions/{plan_id}/edit"))


# ------------------------------------------------------------------ new customers

def test_new_customer_pays_set_up_fee_and_first_period_with_the_demo_gateway(
        app, client, demo_gateway):
    public_id = make_plan(app)
    page, done = buy_new(client, public_id)
    assert "$68.00" in html(page)  # 2 x 29.00 + 10.00 set-up fee, shown before paying
    assert done.status_code == 303
    with opened(app):
        contact = the_new_contact()
        client_ = contact.client
        subscription = models.Subscription.get()
        invoice = models.Invoice.get()
        payment = models.Payment.get()
        assert (client_.name, client_.currency, contact.is_primary) == ("Gamma LLC", "USD",
                                                                       True)
        assert contact.check_password("gamma-password")
        assert (subscription.client_id, subscription.contact_id, subscription.status,
                subscription.quantity) == (client_.id, contact.id, "active", 2)
        assert (invoice.subscription_id, invoice.status, invoice.total) == (
            subscription.id, "paid", 6800)
        assert (payment.status, payment.amount, payment.client_id) == ("completed", 6800,
                                                                       client_.id)
        assert counts(app)["Client"] == 1
    assert done.headers["Location"].endswith(f"/client/subscriptions/{subscription.public_id}")
    assert logged_in_as(client) == str(contact.id)
    shown = client.get(done.headers["Location"])
    assert shown.status_code == 200 and "Your subscription is active" in html(shown)
    wait_for_queued_resets()
    with opened(app):  # the address is confirmed by e-mail before a later password login
        mails = models.EmailMessage.select().where(models.EmailMessage.to == NEW_EMAIL)
        assert any("/client/register/verify/" in m.body_text for m in mails)


def test_the_session_is_rotated_as_at_login(app, client, demo_gateway):
    public_id = make_plan(app)
    client.get(url(public_id))
    with client.session_transaction() as session:
        session["left_over"] = "from before"
    _, done = buy_new(client, public_id)
    assert done.status_code == 303
    with client.session_transaction() as session:
        assert "left_over" not in session and session.get("contact_since")


def test_new_customer_trial_saves_a_card_and_charges_nothing(app, client, demo_gateway):
    public_id = make_plan(app, trial_days="14")
    page, done = buy_new(client, public_id)
    assert "Nothing is charged today" in html(page) and "$0.00" in html(page)
    assert done.status_code == 303
    with opened(app):
        subscription = models.Subscription.get()
        token = models.GatewayToken.get()
        assert subscription.status == "active" and subscription.trial_ends_on
        assert subscription.payment_method_id == token.id
        assert token.client_id == the_new_contact().client_id and token.last4 == "4242"
        assert not models.Invoice.select().exists() and not models.Payment.select().exists()
        assert not models.DemoCharge.select().exists()
    assert "Your free trial has started" in html(client.get(done.headers["Location"]))


def test_a_trial_without_a_gateway_that_keeps_cards_needs_no_card(app, client):
    public_id = make_plan(app, trial_days="7", setup_fee="")
    page = review(client, public_id)
    assert page.status_code == 200 and "Start the free trial" in html(page)
    assert 'name="card_number"' not in html(page)
    done = submit(client, public_id, page, step="pay")
    assert done.status_code == 303
    with opened(app):
        subscription = models.Subscription.get()
        assert subscription.trial_ends_on and subscription.payment_method_id is None
        assert not models.Invoice.select().exists()


def test_new_customer_pays_with_stripe(app, client, localstripe, stripe_gateway, conn):
    public_id = make_plan(app)
    page = review(client, public_id)
    assert page.status_code == 200 and localstripe in page.headers["Content-Security-Policy"]
    seti, confirmed = confirm_in_browser(localstripe, SECRET_RE.search(html(page)).group(1))
    assert confirmed.status_code == 200
    done = submit(client, public_id, page, setup_intent=seti)
    assert done.status_code == 303, html(done)
    subscription = models.Subscription.get()
    payment = models.Payment.get()
    contact = the_new_contact()
    assert subscription.status == "active" and subscription.client_id == contact.client_id
    assert (payment.status, payment.amount) == ("completed", 6800)
    assert payment.gateway_reference.startswith("pi_")
    customer = models.GatewayCustomer.get()
    assert customer.client_id == contact.client_id and customer.reference.startswith("cus_")


def test_new_customer_trial_with_stripe_keeps_the_card(app, client, localstripe,
                                                       stripe_gateway, conn):
    public_id = make_plan(app, trial_days="30")
    page = review(client, public_id)
    seti, _ = confirm_in_browser(localstripe, SECRET_RE.search(html(page)).group(1))
    done = submit(client, public_id, page, setup_intent=seti)
    assert done.status_code == 303, html(done)
    subscription = models.Subscription.get()
    token = models.GatewayToken.get()
    assert token.token.startswith("pm_") and subscription.payment_method_id == token.id
    assert not models.Payment.select().exists()


# ------------------------------------------------------------------ returning contacts

def test_returning_contact_buys_with_the_saved_card_in_one_confirmation(
        app, client, auth, world, demo_gateway):
    public_id = make_plan(app)
    auth.login("a1@alpha.example")
    assert save_card(client, demo_gateway).status_code in (302, 303)
    with opened(app):
        token = models.GatewayToken.get()
        charges = models.DemoCharge.select().count()
    page = client.get(url(public_id))
    assert "Visa •••• 4242" in html(page) and 'name="email"' not in html(page)
    confirm = review(client, public_id, method=f"token:{token.public_id}", quantity="3",
                     **{k: None for k in NEW if k != "quantity"})
    assert confirm.status_code == 200
    assert "Pay $97.00" in html(confirm)  # the total first: 3 x 29.00 + 10.00
    with opened(app):
        assert models.DemoCharge.select().count() == charges  # nothing charged yet
    done = submit(client, public_id, confirm, step="pay")
    assert done.status_code == 303
    with opened(app):
        subscription = models.Subscription.get()
        payment = models.Payment.get(models.Payment.amount == 9700)
        assert subscription.client_id == world["a"].id and subscription.status == "active"
        assert subscription.payment_method_id == token.id
        assert payment.status == "completed" and payment.client_id == world["a"].id
        assert models.Client.select().count() == 2  # no new client


def test_returning_contact_buys_with_a_new_card(app, client, auth, world, demo_gateway):
    public_id = make_plan(app)
    auth.login("a1@alpha.example")
    page = review(client, public_id, method=f"new:{demo_gateway.id}",
                  **{k: None for k in NEW if k != "quantity"})
    assert page.status_code == 200 and 'name="card_number"' in html(page)
    done = submit(client, public_id, page, save="1", **CARD)
    assert done.status_code == 303
    with opened(app):
        subscription = models.Subscription.get()
        assert subscription.status == "active" and subscription.client_id == world["a"].id
        assert subscription.payment_method_id == models.GatewayToken.get().id


def test_currency_mismatch_is_refused(app, client, auth, world, demo_gateway):
    public_id = make_plan(app, currency="EUR")
    auth.login("a1@alpha.example")
    assert "priced in EUR" in html(client.get(url(public_id)))
    before = state(app)
    refused = review(client, public_id, **{k: None for k in NEW if k != "quantity"})
    assert refused.status_code == 422
    assert "priced in EUR and your account is billed in USD" in html(refused)
    assert state(app) == before


def test_a_new_customer_is_billed_in_the_plans_currency(app, client, demo_gateway):
    public_id = make_plan(app, currency="EUR")
    _, done = buy_new(client, public_id)
    assert done.status_code == 303
    with opened(app):
        assert the_new_contact().client.currency == "EUR"
        assert models.Payment.get().currency == "EUR"


# ------------------------------------------------------------------ limits and switches

def test_new_customer_purchases_are_rate_limited_like_registration(tmp_path):
    from tests.conftest import make_app
    app = make_app(tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    public_id = make_plan(app)
    with opened(app):
        import portal
        make_gateway("demo")
        portal.limiter.reset()
    client = app.test_client()
    codes = [review(client, public_id).status_code for _ in range(4)]
    with opened(app):
        portal.limiter.reset()
    assert codes == [200, 200, 200, 429]


def test_with_password_logins_off_no_account_is_opened(app, client, demo_gateway):
    public_id = make_plan(app)
    with opened(app):
        factories.company(portal_login_enabled=False)
    page = client.get(url(public_id))
    assert page.status_code == 200 and "New accounts cannot be opened here" in html(page)
    assert 'name="password"' not in html(page)
    before = state(app)
    refused = review(client, public_id)
    assert refused.status_code == 422
    assert state(app) == before


def test_staff_viewing_as_the_contact_are_recorded_as_the_buyer(app, client, world,
                                                                demo_gateway):
    public_id = make_plan(app)
    with opened(app):
        factories.staff(email="boss@test.example")
    login_staff(client, "boss@test.example")
    token = csrf_token(client, f"/admin/clients/{world['a'].id}")
    opened_as = client.post(f"/admin/contacts/{world['a1'].id}/impersonate",
                            data={"csrf_token": token})
    assert opened_as.status_code in (302, 303), opened_as.status_code
    page = review(client, public_id, method=f"new:{demo_gateway.id}",
                  **{k: None for k in NEW if k != "quantity"})
    done = submit(client, public_id, page, **CARD)
    assert done.status_code == 303
    with opened(app):
        logged = models.Activity.get(models.Activity.action == "subscription.purchased")
        assert logged.staff_id is not None
        assert models.Subscription.get().client_id == world["a"].id


def test_a_free_plan_asks_for_no_card(app, client, demo_gateway):
    public_id = make_plan(app, price="0", setup_fee="")
    page = review(client, public_id)
    assert page.status_code == 200 and 'name="card_number"' not in html(page)
    done = submit(client, public_id, page, step="pay")
    assert done.status_code == 303
    with opened(app):
        subscription = models.Subscription.get()
        assert subscription.status == "active" and subscription.payment_method_id is None
        assert not models.Invoice.select().exists() and not models.Payment.select().exists()
