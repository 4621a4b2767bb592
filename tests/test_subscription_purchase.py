"""A plan's public purchase page: a new customer or a logged-in contact buys, pays the
first invoice (demo gateway and Stripe on localstripe) or starts a trial with a saved card;
bad input is refused with nothing changed; a double submit or a race buys once; a declined
card leaves no active subscription; an existing address is never revealed."""
import re

import pytest

import models
from billing import checkout, subscription_purchase, subscriptions
from billing.accounts import wait_for_queued_resets
from tests import factories
from tests.conftest import CSRF_RE, csrf_token
from tests.core_support import login_staff, opened, race, snapshot
from tests.factories import PLAN_FORM as GOOD
from tests.payments_support import SECRET_RE, confirm_in_browser, make_gateway, save_card

NEW_EMAIL = "gil@gamma.example"
NEW = {"client_name": "Gamma LLC", "first_name": "Gil", "last_name": "Gamma",
       "email": NEW_EMAIL, "password": "gamma-password", "confirm": "gamma-password",
       "quantity": "2"}
CARD = {"card_number": "4242424242424242", "exp_month": "12", "exp_year": "2035",
        "cvc": "123"}
MADE = ("Client", "Contact", "Subscription", "Invoice", "Payment", "GatewayToken",
        "DemoCharge", "GatewayCustomer")


def make_plan(app, **changes):
    with opened(app):
        plan = subscriptions.create_plan({**GOOD, "trial_days": "0", "setup_fee": "10.00",
                                          **changes}, "en_US")
        return plan.public_id


def url(public_id):
    return f"/client/subscriptions/{public_id}/purchase"


def html(response):
    return response.get_data(as_text=True)


TOKEN_RE = re.compile(r'"X-CSRFToken": "([^"]+)"')


def review(client, public_id, **changes):
    token = TOKEN_RE.search(html(client.get(url(public_id)))).group(1)
    data = {"csrf_token": token, "step": "review", **NEW, **changes}
    return client.post(url(public_id), data={k: v for k, v in data.items() if v is not None})


def submit(client, public_id, page, step="capture", **fields):
    """The next step's form, as the page just shown posts it."""
    token = CSRF_RE.search(html(page)).group(1)
    return client.post(url(public_id), data={"csrf_token": token, "step": step, **fields})


def buy_new(client, public_id, card=None, **changes):
    page = review(client, public_id, **changes)
    assert page.status_code == 200, html(page)
    return page, submit(client, public_id, page, **(CARD if card is None else card))


def state(app):
    with opened(app):
        return snapshot()


def counts(app):
    with opened(app):
        return {name: getattr(models, name).select().count() for name in MADE}


def the_new_contact():
    return models.Contact.get(models.Contact.email == NEW_EMAIL)


def logged_in_as(client):
    with client.session_transaction() as session:
        return session.get("_user_id", "").partition(":")[0]


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


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("changes, field, message", [
    ({"quantity": "0"}, "quantity", "The quantity must be at least 1."),
    ({"quantity": "11"}, "quantity", "The quantity can be at most 10."),
    ({"quantity": "two"}, "quantity", "The quantity must be a whole number."),
    ({"quantity": ""}, "quantity", "Enter the quantity."),
    ({"email": "not-an-address"}, "email", "valid e-mail address"),
    ({"password": "short", "confirm": "short"}, "password", "at least 8 characters"),
    ({"confirm": "gamma-password-2"}, "confirm", "not the same"),
    ({"client_name": ""}, "client_name", "Enter your company or your name."),
])
def test_bad_input_is_refused_and_changes_nothing(app, client, demo_gateway, changes, field,
                                                 message):
    public_id = make_plan(app)
    before = state(app)
    refused = review(client, public_id, **changes)
    text = html(refused)
    assert refused.status_code == 422
    assert re.search(rf'id="err-{field}">[^<]*{re.escape(message)}', text), text
    assert re.search(rf'name="{field}"[^>]*aria-invalid="true" aria-describedby="err-{field}"',
                     text)
    assert state(app) == before


def test_a_declined_card_at_capture_changes_nothing(app, client, demo_gateway):
    public_id = make_plan(app)
    before = state(app)
    page, refused = buy_new(client, public_id, card={**CARD,
                                                     "card_number": "4000000000000002"})
    assert refused.status_code == 422 and "declined" in html(refused)
    assert state(app) == before
    assert logged_in_as(client) == ""


def test_a_charge_declined_leaves_no_active_subscription_until_paid(app, client,
                                                                    demo_gateway):
    """The rule: no subscription until paid. The account is whole; the subscription waits,
    incomplete, and starts when its first invoice is paid through the normal checkout."""
    public_id = make_plan(app)
    _, done = buy_new(client, public_id, card={**CARD, "card_number": "4000000000000341"})
    assert done.status_code == 303
    with opened(app):
        subscription = models.Subscription.get()
        invoice = models.Invoice.get()
        assert subscription.status == "incomplete" and not subscription.billing_continues
        assert invoice.status == "sent" and invoice.balance == 6800
        assert [p.status for p in models.Payment.select()] == ["failed"]
        assert counts(app)["Client"] == 1
    shown = html(client.get(done.headers["Location"]))
    assert "declined" in shown and "Awaiting payment" in shown
    # Paying the open invoice the usual way (the page links to it) starts the subscription.
    link = re.search(r'href="(/client/invoices/payment\?invoices=[^"]+)"', shown).group(1)
    review_page = client.get(link.replace("&amp;", "&"))
    assert review_page.status_code == 200 and "$68.00" in html(review_page)
    from tests.payments_support import pay
    paid = pay(client, [invoice], f"new:{demo_gateway.id}")
    capture = submit_checkout_card(client, paid, invoice)
    assert capture.status_code == 303
    with opened(app):
        assert models.Subscription.get().status == "active"
        assert models.Invoice.get().status == "paid"


def test_staff_recording_the_first_invoice_paid_starts_the_subscription(app, client,
                                                                         demo_gateway):
    """Paid another way (a bank transfer staff mark paid): the subscription starts just the
    same, and run-due does not lapse it afterwards."""
    from billing import invoices, subscription_purchase
    public_id = make_plan(app)
    buy_new(client, public_id, card={**CARD, "card_number": "4000000000000341"})
    with opened(app):
        assert models.Subscription.get().status == "incomplete"
        invoices.mark_paid(models.Invoice.get())
        assert models.Subscription.get().status == "active"
        later = models.utcnow() + subscription_purchase.EXPIRE_AFTER * 2
        subscription_purchase.expire_incomplete(now=later)
        assert models.Subscription.get().status == "active"
        assert models.Invoice.get().status == "paid"


def submit_checkout_card(client, page, invoice):
    key = re.search(r'name="key" value="([^"]+)"', html(page)).group(1)
    return client.post("/client/invoices/payment", data={
        "csrf_token": CSRF_RE.search(html(page)).group(1), "step": "capture", "key": key,
        "method": re.search(r'name="method" value="(new:\d+)"', html(page)).group(1),
        "invoices": invoice.public_id, **CARD})


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


def test_a_returning_contacts_declined_card_leaves_the_subscription_waiting(
        app, client, auth, world, demo_gateway):
    public_id = make_plan(app)
    auth.login("a1@alpha.example")
    page = review(client, public_id, method=f"new:{demo_gateway.id}",
                  **{k: None for k in NEW if k != "quantity"})
    done = submit(client, public_id, page, **{**CARD, "card_number": "4000000000000341"})
    assert done.status_code == 303
    with opened(app):
        subscription = models.Subscription.get()
        assert subscription.client_id == world["a"].id
        assert subscription.status == "incomplete" and subscription.payment_method_id is None
        assert models.Payment.get(models.Payment.client == world["a"].id,
                                  models.Payment.status == "failed")
    assert "Awaiting payment" in html(client.get(done.headers["Location"]))


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


def test_an_unpaid_purchase_lapses_after_a_day_unless_a_payment_is_in_flight(
        app, client, demo_gateway):
    import datetime as dt

    from billing import scheduler
    public_id = make_plan(app)
    _, done = buy_new(client, public_id, card={**CARD, "card_number": "4000000000000341"})
    assert done.status_code == 303
    with opened(app):
        assert subscription_purchase.expire_incomplete() == 0  # not yet a day old
        later = models.utcnow() + dt.timedelta(hours=24)
        invoice = models.Invoice.get()
        pending = models.Payment.create(
            client=invoice.client_id, status="pending", amount=invoice.balance, currency="USD",
            date=later.date(), idempotency_key="in-flight-" + "k" * 20,
            plan=f'{{"lines": [[{invoice.id}, {invoice.balance}]], "credit": 0}}')
        assert subscription_purchase.expire_incomplete(later) == 0  # its payment may land
        pending.delete_instance()
        assert subscription_purchase.expire_incomplete(later) == 1
        assert subscription_purchase.expire_incomplete(later) == 0  # once
        assert models.Subscription.get().status == "ended"
        assert models.Invoice.get().status == "cancelled"
        assert models.Client.get_by_id(invoice.client_id).balance == 0
    assert "subscription purchases: 0 left unpaid lapsed" in scheduler.run_due(app)


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


def test_a_3ds_purchase_starts_when_run_due_finds_the_money(app, world, conn, localstripe,
                                                            stripe_gateway):
    """No subscription until paid, whoever reports the money: here run-due's reconciliation
    of a payment the customer confirmed with their bank and never came back from."""
    import requests

    from gateways.stripe_gateway import StripeGateway
    from tests.payments_support import minutes_pass, run_due, stripe_card
    public_id = make_plan(app)
    _, card = stripe_card(localstripe, "4000002500003155")
    plan = models.Plan.get(models.Plan.public_id == public_id)
    result = subscription_purchase.buy(
        plan, 1, models.Company.current(), key="buy-3ds-" + "a" * 24, contact=world["a1"],
        gateway=StripeGateway(stripe_gateway), new_method=card, save_method=True)
    assert result.status == "requires_action"
    assert models.Subscription.get().status == "incomplete"
    payment = models.Payment.get(models.Payment.status == "pending")
    response = requests.post(
        f"{localstripe}/v1/payment_intents/{payment.gateway_reference}/_authenticate",
        json={"key": "pk_test_portal", "client_secret": result.outcome.client_secret,
              "success": True}, timeout=10)
    assert response.status_code == 200, response.text
    minutes_pass(payment)
    assert "pending payments: 1 completed" in run_due(app)
    subscription = models.Subscription.get()
    assert subscription.status == "active"
    assert subscription.payment_method_id == models.GatewayToken.get().id  # for renewals
    assert models.Invoice.get(models.Invoice.subscription == subscription.id).status == "paid"
