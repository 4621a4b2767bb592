"""Auto-bill for recurring invoices (issue 11, part 4): run-due charges each invoice once
through checkout.pay (demo gateway and localstripe) as the mode and the contact's choice
say; bounded retries and e-mails to both sides; a run that died, overlapping runs, missed
invoices and charges the gateway settles later.

Who decides (the mode through the services and the staff editor, the contact's choice on
the Recurring tab) is tests/test_autobill_choice.py; shared helpers are
tests/autobill_support.py."""
import datetime as dt

import pytest
from flask import current_app

import models
import portal
from billing import autobill, payment_methods, recurring, scheduler
from tests import factories
from tests.autobill_support import DAY, LINES, NOON, customer, holding_payment, template, tick
from tests.core_support import opened, race
from tests.mail_support import mails
from tests.payments_support import demo_card, reload


def test_always_charges_the_default_method_once(db, demo_gateway):
    client, primary = customer()
    demo_card(client, demo_gateway, last4="1111")  # first saved: the default
    demo_card(client, demo_gateway, last4="4444")
    template(client)
    (invoice,), done = tick()
    assert done == {"paid": 1}
    invoice = reload(invoice)
    assert (invoice.status, invoice.balance) == ("paid", 0)
    payment = models.Payment.get()
    assert (payment.status, payment.amount, payment.contact_id, payment.method_label) == (
        "completed", 55000, primary.id, "Visa •••• 1111")
    assert payment.idempotency_key == f"autobill-{invoice.public_id}"
    assert models.DemoCharge.select().count() == 1
    assert models.AutoBill.get().status == "paid"
    # later runs charge nothing more; the invoice was still e-mailed to both contacts
    assert tick(NOON + dt.timedelta(hours=1)) == ([], {})
    assert models.DemoCharge.select().count() == 1
    assert mails("Invoice") == ["ap@acme.example", "ops@acme.example"]
    assert mails("did not go through") == [] and mails("failed") == []


@pytest.mark.parametrize("mode, choice, charged", [
    ("off", "", False), ("off", "yes", False),
    ("always", "", True), ("always", "no", True),
    ("optin", "", False), ("optin", "yes", True), ("optin", "no", False),
    ("optout", "", True), ("optout", "no", False), ("optout", "yes", True),
])
def test_modes_and_the_contacts_choice(db, demo_gateway, mode, choice, charged):
    client, _ = customer()
    demo_card(client, demo_gateway)
    template(client, mode, choice)
    (invoice,), done = tick()
    assert (reload(invoice).status == "paid") is charged
    assert models.AutoBill.select().exists() is charged
    assert models.DemoCharge.select().count() == int(charged)


def test_the_payer_is_the_primary_contact_else_the_first_one_made(db):
    client = factories.client()
    first, second, third = (factories.contact(client) for _ in range(3))
    # The first one's address changed and back after the others were made: PostgreSQL
    # then stores it last, and only the id keeps it first.
    factories.moved(first, email="moved@test.example")
    factories.moved(first, email=first.email)
    assert autobill.payer(client) == first
    factories.moved(third, is_primary=True)
    assert autobill.payer(client) == third


def test_no_saved_method_leaves_the_invoice_sent_unpaid(db, demo_gateway):
    client, _ = customer()
    template(client)
    (invoice,), done = tick()
    assert done == {"unpaid": 1}
    assert (reload(invoice).status, reload(invoice).balance) == ("sent", 55000)
    assert not models.Payment.select().exists()
    assert mails("Invoice") == ["ap@acme.example", "ops@acme.example"]
    assert mails("did not go through") == []
    assert tick(NOON + dt.timedelta(days=2)) == ([], {})  # not asked again


def test_a_removed_or_unusable_default_is_not_charged(db, demo_gateway):
    client, _ = customer()
    token = demo_card(client, demo_gateway)
    payment_methods.forget(token)
    template(client)
    assert tick()[1] == {"unpaid": 1}
    assert not models.DemoCharge.select().exists()


def test_closed_account_is_not_charged(db, demo_gateway):
    client, _ = customer()
    demo_card(client, demo_gateway)
    template(client)
    models.Contact.update(is_active=False).where(models.Contact.client == client.id).execute()
    assert tick()[1] == {"unpaid": 1}
    assert not models.DemoCharge.select().exists()


def test_declined_card_is_retried_a_bounded_number_of_times_and_both_sides_told(
        db, demo_gateway):
    client, _ = customer()
    demo_card(client, demo_gateway, "chargedeclined", "0341")
    template(client)
    (invoice,), done = tick()
    assert done == {"retry": 1}
    row = models.AutoBill.get()
    assert (row.status, row.attempts, row.next_attempt_at) == (
        "retry", 1, NOON + autobill.RETRY_AFTER)
    assert "declined" in row.last_error
    assert mails("did not go through") == ["ap@acme.example"]
    assert mails("failed") == ["billing@test.example"]
    told = models.EmailMessage.get(models.EmailMessage.to == "ap@acme.example",
                                   models.EmailMessage.subject.contains("did not go through"))
    assert invoice.number in told.body_text and "try again" in told.body_text
    assert f"/client/invoices/{invoice.public_id}" in told.body_text
    # not again in the same day, however often run-due runs
    assert autobill.charge_due(current_app.config, now=NOON + dt.timedelta(hours=23)) == {}
    assert autobill.charge_due(current_app.config, now=NOON + dt.timedelta(days=1)) == {"retry": 1}
    assert autobill.charge_due(current_app.config, now=NOON + dt.timedelta(days=2)) == {"failed": 1}
    for later in (3, 4, 30):
        assert autobill.charge_due(current_app.config, now=NOON + dt.timedelta(days=later)) == {}
    row = reload(row)
    assert (row.status, row.attempts) == ("failed", autobill.MAX_ATTEMPTS)
    keys = sorted(p.idempotency_key for p in models.Payment.select())
    base = f"autobill-{invoice.public_id}"
    assert keys == [base, f"{base}-2", f"{base}-3"]
    assert {p.status for p in models.Payment.select()} == {"failed"}
    assert (reload(invoice).status, reload(invoice).balance) == ("sent", 55000)
    assert len(mails("did not go through")) == len(mails("failed")) == 3
    final = models.EmailMessage.select().where(
        models.EmailMessage.to == "ap@acme.example").order_by(models.EmailMessage.id.desc()
                                                              ).first()
    assert "will not try again" in final.body_text


def test_a_new_default_card_is_used_on_the_next_attempt(db, demo_gateway):
    client, _ = customer()
    demo_card(client, demo_gateway, "chargedeclined", "0341")
    good = demo_card(client, demo_gateway)
    template(client)
    (invoice,), done = tick()
    assert done == {"retry": 1}
    payment_methods.make_default(good)
    assert autobill.charge_due(current_app.config, now=NOON + dt.timedelta(days=1)) == {"paid": 1}
    assert reload(invoice).status == "paid"
    assert models.DemoCharge.select().count() == 1


def test_invoice_paid_by_hand_before_a_retry_is_not_charged_again(db, demo_gateway):
    client, _ = customer()
    demo_card(client, demo_gateway, "chargedeclined")
    template(client)
    (invoice,), _ = tick()
    models.Invoice.update(status="paid", balance=0).where(
        models.Invoice.id == invoice.id).execute()
    later = NOON + dt.timedelta(days=1)
    assert autobill.charge_due(current_app.config, now=later) == {"skipped": 1}
    assert models.Payment.select().count() == 1


def test_a_run_that_died_mid_attempt_is_resumed_with_the_same_key(db, demo_gateway):
    """The charge went through but the run died before recording it: the next run resumes
    the same attempt, and checkout.pay's key finds the payment instead of charging again."""
    from billing import allocation, checkout
    client, primary = customer()
    token = demo_card(client, demo_gateway)
    template(client)
    (invoice,) = recurring.generate_due(current_app.config, today=DAY)
    # The run claimed the attempt, the charge went through, then the run died.
    checkout.pay(primary, [(invoice.public_id, allocation.FULL)], models.Company.current(),
                 idempotency_key=f"autobill-{invoice.public_id}", token=token)
    models.AutoBill.update(status="charging", attempts=1,
                           claimed_at=NOON - dt.timedelta(hours=1)).execute()
    assert autobill.charge_due(current_app.config, now=NOON) == {"paid": 1}
    assert models.DemoCharge.select().count() == models.Payment.select().count() == 1
    # a claim that is not stale yet belongs to a run still working on it
    models.AutoBill.update(status="charging", claimed_at=NOON).execute()
    assert autobill.charge_due(current_app.config, now=NOON + dt.timedelta(minutes=5)) == {}
    # even by a run that listed it before that run claimed it (overlapping ticks)
    assert autobill._claim(models.AutoBill.get().id, NOON) is None
    assert autobill._claim(models.AutoBill.get().id, NOON + autobill.STALE_AFTER) is None


def test_overlapping_run_dues_charge_once(app, demo_gateway):
    with opened(app):
        client, _ = customer()
        demo_card(client, demo_gateway)
        template(client)
    results = race(app, 4, lambda i: tick())
    assert not [r for r in results if isinstance(r, Exception)], results
    with opened(app):
        assert models.Invoice.select().count() == 1
        assert models.Invoice.get().status == "paid"
        assert models.Payment.select().count() == models.DemoCharge.select().count() == 1
        assert sum(done.get("paid", 0) for _, done in results) == 1


def test_overlapping_retries_make_one_attempt_and_one_pair_of_emails(app, demo_gateway):
    with opened(app):
        client, _ = customer()
        demo_card(client, demo_gateway, "chargedeclined")
        template(client)
    results = race(app, 4, lambda i: tick())
    assert not [r for r in results if isinstance(r, Exception)], results
    with opened(app):
        assert models.AutoBill.get().attempts == 1
        assert models.Payment.select().count() == 1
        assert len(mails("did not go through")) == len(mails("failed")) == 1
    later = NOON + dt.timedelta(days=1)
    results = race(app, 4, lambda i: autobill.charge_due(current_app.config, now=later))
    assert not [r for r in results if isinstance(r, Exception)], results
    with opened(app):
        assert models.AutoBill.get().attempts == 2
        assert len(mails("did not go through")) == 2


def test_catch_up_charges_each_missed_invoice_once(db, demo_gateway):
    client, _ = customer()
    demo_card(client, demo_gateway)
    template(client)
    made, done = tick(NOON + dt.timedelta(days=92))  # Nov 2, Dec 2, Jan 2, Feb 2
    assert len(made) == 4 and done == {"paid": 4}
    assert {i.status for i in models.Invoice.select()} == {"paid"}
    assert models.DemoCharge.select().count() == 4
    assert tick(NOON + dt.timedelta(days=93)) == ([], {})


def test_run_due_command_reports_auto_bill(app, demo_gateway):
    with opened(app):
        client, _ = customer()
        demo_card(client, demo_gateway)
        today = models.utcnow().date()
        recurring.create_recurring(client, LINES, start_date=today, auto_bill_mode="always")
    result = app.test_cli_runner().invoke(portal.cli, ["run-due"])
    assert result.exit_code == 0, result.output
    assert "auto-bill: 1 paid" in result.output
    assert scheduler.JOBS.index(scheduler.auto_bill) == \
        scheduler.JOBS.index(scheduler.recurring_invoices) + 1
    with opened(app):
        assert models.Invoice.get().status == "paid"


# -- Stripe, against a real localstripe on loopback --------------------------------------

def test_auto_bill_through_stripe(client, auth, world, app, localstripe, stripe_gateway, conn):
    from tests.payments_support import add_card, stripe_api
    auth.login("a1@alpha.example")
    add_card(client, localstripe, stripe_gateway)
    with opened(app):
        template(world["a"])
        (invoice,), done = tick()
        assert done == {"paid": 1}
        assert reload(invoice).status == "paid"
        payment = models.Payment.get(models.Payment.idempotency_key
                                     == f"autobill-{invoice.public_id}")
        assert payment.status == "completed" and payment.contact_id == world["a1"].id
    intent = stripe_api(localstripe).v1.payment_intents.retrieve(payment.gateway_reference)
    assert (intent.status, intent.amount, intent.metadata["payment"]) == (
        "succeeded", 55000, payment.public_id)
    with opened(app):
        assert tick(NOON + dt.timedelta(hours=2)) == ([], {})
        assert models.Payment.select().count() == 1


def test_declined_stripe_card_is_retried_then_given_up(client, auth, world, app, localstripe,
                                                      stripe_gateway, conn):
    from tests.payments_support import add_card
    auth.login("a1@alpha.example")
    add_card(client, localstripe, stripe_gateway, "4000000000000341")  # saves, charges fail
    with opened(app):
        template(world["a"])
        (invoice,), done = tick()
        assert done == {"retry": 1}
        assert mails("did not go through") == ["a1@alpha.example"]
        assert mails("failed") == ["billing@test.example"]
        for day, outcome in ((1, "retry"), (2, "failed"), (3, None)):
            done = autobill.charge_due(current_app.config, now=NOON + dt.timedelta(days=day))
            assert done == ({outcome: 1} if outcome else {})
        assert models.Payment.select().where(models.Payment.status == "failed").count() == 3
        assert not models.Payment.select().where(models.Payment.status != "failed").exists()
        assert (reload(invoice).status, reload(invoice).balance) == ("sent", 55000)
        assert len(mails("did not go through")) == 3


def test_two_overlapping_run_due_ticks_issue_and_charge_once(app, demo_gateway):
    """The whole `portal run-due` tick, twice at once on one database: one invoice, one
    charge, and no job reports a failure (nor SQLite a "database is locked")."""
    with opened(app):
        client, _ = customer()
        demo_card(client, demo_gateway)
        recurring.create_recurring(client, LINES, start_date=models.utcnow().date(),
                                   auto_bill_mode="always")
    results = race(app, 2, lambda i: scheduler.run_due(app))
    assert not [r for r in results if isinstance(r, Exception)], results
    for lines in results:
        assert not [line for line in lines if line.endswith(scheduler.FAILED)], lines
    with opened(app):
        assert models.Invoice.get().status == "paid"
        assert models.Payment.select().count() == models.DemoCharge.select().count() == 1


@pytest.mark.parametrize("settled, outcome", [("completed", "paid"), ("failed", "retry")])
def test_a_charge_the_gateway_settles_later_is_followed_up(db, demo_gateway, settled, outcome):
    """Processing or waiting for 3-D Secure: the pending payment holds the invoice until the
    reconciling job (or a webhook) settles it; the next tick reads how it ended."""
    from billing import checkout
    client, primary = customer()
    demo_card(client, demo_gateway)
    template(client)
    (invoice,) = recurring.generate_due(current_app.config, today=DAY)
    payment = holding_payment(invoice, primary, demo_gateway)
    models.AutoBill.update(status="processing", attempts=1, claimed_at=NOON,
                           payment=payment.id).execute()
    assert autobill.charge_due(current_app.config, now=NOON) == {}  # still pending
    if settled == "completed":
        checkout.finalize(payment.id, "demo_ch_later")
    else:
        checkout.mark_failed(payment.id, "Authentication was not completed.")
    assert autobill.charge_due(current_app.config, now=NOON) == {outcome: 1}
    assert reload(invoice).status == ("paid" if outcome == "paid" else "sent")
    assert len(mails("did not go through")) == (0 if outcome == "paid" else 1)
    assert autobill.charge_due(current_app.config, now=NOON) == {}
