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
from billing import autobill, payment_methods, payments, recurring, scheduler, transaction
from gateways.demo import DemoGateway
from tests import factories
from tests.autobill_support import DAY, LINES, NOON, customer, template, tick
from tests.core_support import opened, race, snapshot
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


def holding_payment(invoice, contact, gateway, key=None, message=""):
    """A pending payment holding all of `invoice`, as a charge waiting for its gateway
    leaves one; under auto-bill's key unless `key` says whose it is."""
    return models.Payment.create(
        client=invoice.client_id, contact=contact, status="pending", date=DAY,
        currency=invoice.currency, amount=invoice.balance, gateway=gateway,
        idempotency_key=key or autobill.idempotency_key(invoice, 1), failure_message=message,
        plan=f'{{"lines": [[{invoice.id}, {invoice.balance}]], "credit": 0}}')


def billed_after_an_earlier_payment(demo_gateway):
    """A customer with a saved card who paid an earlier invoice by hand, and the auto-billed
    invoice issued today: (client, primary contact, card, invoice)."""
    client, primary = customer()
    token = demo_card(client, demo_gateway)
    earlier = factories.invoice(client)
    with transaction():
        payments.record_payment(client, earlier.total, "USD", [(earlier, earlier.total)],
                                method="manual")
    template(client)
    (invoice,) = recurring.generate_due(current_app.config, today=DAY)
    return client, primary, token, invoice


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


# -- what each outcome records and says ---------------------------------------------------

def test_the_decline_emails_and_log_say_why_when_and_where(db, demo_gateway, caplog):
    client, primary = customer()
    demo_card(client, demo_gateway, "chargedeclined", "0341")
    template(client)
    with caplog.at_level("INFO", logger="portal.autobill"):
        (invoice,), done = tick()
    assert done == {"retry": 1}
    reason = "Your card was declined. Try another card."
    assert f"auto-bill of invoice {invoice.id} failed (attempt 1): {reason}" in caplog.messages
    E = models.EmailMessage
    to_contact = E.get(E.to == "ap@acme.example", E.subject.contains("did not go through"))
    assert to_contact.subject == f"Automatic payment of invoice {invoice.number} did not go through"
    assert f"Reason: {reason}" in to_contact.body_text
    assert "We will try again on or after Nov 3, 2026." in to_contact.body_text
    assert f"\nhttp://portal.test/client/invoices/{invoice.public_id}\n" in to_contact.body_text
    assert to_contact.body_text.rstrip().endswith("\nTest Studio")
    to_staff = E.get(E.to == "billing@test.example")
    assert to_staff.subject == f"Auto-bill of invoice {invoice.number} for Acme Buyer failed"
    assert "did not go through (attempt 1 of 3)." in to_staff.body_text
    assert f"Reason: {reason}" in to_staff.body_text
    assert "The next attempt is on or after Nov 3, 2026." in to_staff.body_text
    assert f"{primary.name} <ap@acme.example> has been told" in to_staff.body_text
    assert to_staff.body_text.rstrip().endswith(f"http://portal.test/admin/invoices/{invoice.id}")


@pytest.mark.parametrize("card, outcome", [("chargedeclined", "retry"), ("ok", "paid")])
def test_an_attempt_leaves_another_runs_attempt_alone(db, demo_gateway, card, outcome):
    declining, _ = customer()
    demo_card(declining, demo_gateway, card, "0341")
    template(declining)
    paying = factories.client(name="Other Buyer")
    factories.contact(paying, email="ap@other.example", is_primary=True)
    demo_card(paying, demo_gateway)
    template(paying)
    issued = recurring.generate_due(current_app.config, today=DAY)
    theirs = models.AutoBill.get(models.AutoBill.invoice == next(
        i.id for i in issued if i.client_id == paying.id))
    # another run claimed the other client's charge this very minute and is at it
    models.AutoBill.update(status="charging", attempts=1, claimed_at=NOON).where(
        models.AutoBill.id == theirs.id).execute()
    before = [str(v) for v in models.AutoBill.select().where(
        models.AutoBill.id == theirs.id).tuples().get()]
    assert autobill.charge_due(current_app.config, now=NOON) == {outcome: 1}
    after = [str(v) for v in models.AutoBill.select().where(
        models.AutoBill.id == theirs.id).tuples().get()]
    assert after == before
    ours = models.AutoBill.get(models.AutoBill.id != theirs.id)
    payment = models.Payment.get(models.Payment.client == declining.id)
    assert (ours.status, ours.claimed_at) == (outcome, NOON)
    assert ours.payment_id == (payment.id if outcome == "paid" else None)


def test_a_resumed_attempt_restamps_only_its_own_claim(db, demo_gateway):
    """A run died mid-attempt half an hour ago; beside it, a charge it had finished and
    one another run is at now. Resuming touches the dead run's row alone."""
    client, _ = customer()
    demo_card(client, demo_gateway)
    died = NOON - autobill.STALE_AFTER - dt.timedelta(minutes=1)
    stale, done, busy = (factories.invoice(client) for _ in range(3))
    models.AutoBill.create(invoice=stale, status="charging", attempts=1, claimed_at=died)
    models.AutoBill.create(invoice=done, status="paid", attempts=1, claimed_at=died)
    models.AutoBill.create(invoice=busy, status="charging", attempts=1,
                           claimed_at=NOON - dt.timedelta(minutes=1))
    before = {r.invoice_id: (r.status, r.claimed_at) for r in models.AutoBill.select()}
    assert autobill.charge_due(current_app.config, now=NOON) == {"paid": 1}
    after = {r.invoice_id: (r.status, r.claimed_at) for r in models.AutoBill.select()}
    assert after == {**before, stale.id: ("paid", NOON)}
    assert models.Payment.get().idempotency_key == f"autobill-{stale.public_id}"


def pending_charge(demo_gateway, message=""):
    """An auto-billed invoice whose charge is still processing at the gateway, after an
    earlier payment of the client's (so the pending one is not the first payment)."""
    _client, primary, _token, invoice = billed_after_an_earlier_payment(demo_gateway)
    payment = holding_payment(invoice, primary, demo_gateway, message=message)
    models.AutoBill.update(status="processing", attempts=1, claimed_at=NOON,
                           payment=payment.id).where(
        models.AutoBill.invoice == invoice.id).execute()
    return invoice, payment


@pytest.mark.parametrize("ended, message, error", [
    ("failed", "Authentication was not completed.", "Authentication was not completed."),
    ("cancelled", "The bank cancelled it.", "The bank cancelled it."),
    ("failed", "", "The payment did not go through."),
    ("cancelled", "x" * 600, "x" * 500),
    ("gone", "", "The payment did not go through."),
])
def test_a_pending_charge_that_ended_badly_counts_as_a_failure(db, demo_gateway, ended,
                                                                message, error):
    invoice, payment = pending_charge(demo_gateway)
    assert autobill.charge_due(current_app.config, now=NOON) == {}  # still pending
    if ended == "gone":
        models.AutoBill.update(payment=None).execute()
    else:
        models.Payment.update(status=ended, failure_message=message).where(
            models.Payment.id == payment.id).execute()
    assert autobill.charge_due(current_app.config, now=NOON) == {"retry": 1}
    row = models.AutoBill.get(models.AutoBill.invoice == invoice.id)
    assert (row.status, row.last_error, row.next_attempt_at) == (
        "retry", error, NOON + autobill.RETRY_AFTER)
    told = models.EmailMessage.get(models.EmailMessage.subject.contains("did not go through"))
    assert f"Reason: {error}" in told.body_text


# -- at once, for a plan change's upgrade ---------------------------------------------------

def test_charge_now_charges_that_invoice_once_and_only_it(db, demo_gateway):
    client, primary = customer()
    demo_card(client, demo_gateway)
    first, second = factories.invoice(client), factories.invoice(client)
    rows = [models.AutoBill.create(invoice=i) for i in (first, second)]
    assert autobill.charge_now(factories.invoice(client), current_app.config) is None  # no row
    assert autobill.charge_now(second, current_app.config, NOON) == "paid"
    assert [reload(r).status for r in rows] == ["due", "paid"]
    assert (reload(second).status, reload(first).status) == ("paid", "sent")
    assert reload(rows[1]).claimed_at == NOON
    payment = models.Payment.get()
    assert (payment.contact_id, payment.idempotency_key) == (
        primary.id, f"autobill-{second.public_id}")
    # a second request, or a tick at that moment, finds it taken
    assert autobill.charge_now(second, current_app.config, NOON) is None
    assert (reload(rows[1]).status, reload(rows[1]).attempts) == ("paid", 1)
    # nor is a charge given up, or one the gateway has yet to settle, attempted again
    for status in ("failed", "processing", "unpaid", "skipped"):
        models.AutoBill.update(status=status).where(models.AutoBill.id == rows[0].id).execute()
        assert autobill.charge_now(first, current_app.config, NOON) is None
        assert reload(rows[0]).attempts == 0
    models.AutoBill.update(status="due").where(models.AutoBill.id == rows[0].id).execute()
    assert autobill.charge_due(current_app.config, now=NOON) == {"paid": 1}  # the first
    assert models.DemoCharge.select().count() == 2


def test_charge_now_leaves_a_charge_in_progress_and_stamps_the_present(db, demo_gateway):
    client, _ = customer()
    demo_card(client, demo_gateway)
    busy, fresh = factories.invoice(client), factories.invoice(client)
    models.AutoBill.create(invoice=busy, status="charging", attempts=1,
                           claimed_at=models.utcnow())
    row = models.AutoBill.create(invoice=fresh)
    assert autobill.charge_now(busy, current_app.config) is None
    started = models.utcnow()
    assert autobill.charge_now(fresh, current_app.config) == "paid"
    claimed = reload(row).claimed_at
    assert started <= claimed <= models.utcnow()
    assert models.DemoCharge.select().count() == 1


def test_the_decline_is_written_in_the_contacts_language_else_the_companys(db, demo_gateway):
    models.Company.update(locale="de_DE").execute()
    client, primary = customer()
    demo_card(client, demo_gateway, "chargedeclined", "0341")
    template(client)
    models.Contact.update(locale="fr_FR").where(models.Contact.id == primary.id).execute()
    (invoice,), _ = tick()
    models.Contact.update(locale="").execute()
    autobill.charge_due(current_app.config, now=NOON + autobill.RETRY_AFTER)
    E = models.EmailMessage
    subjects = [m.subject for m in E.select().where(E.to == "ap@acme.example")
                .order_by(E.id)][-2:]
    assert subjects == [
        f"Le paiement automatique de la facture {invoice.number} n’a pas abouti",
        f"Automatische Zahlung der Rechnung {invoice.number} fehlgeschlagen"]


def test_nobody_left_to_tell_but_the_business(db, demo_gateway):
    """The charge fails at the gateway after the client's only contact was deactivated:
    the business hears of it; without a business address, nobody does, and nothing breaks."""
    invoice, payment = pending_charge(demo_gateway)
    models.Contact.update(is_active=False).execute()
    models.Payment.update(status="failed", failure_message="Declined.").where(
        models.Payment.id == payment.id).execute()
    assert autobill.charge_due(current_app.config, now=NOON) == {"retry": 1}
    assert mails("did not go through") == []
    assert mails("failed") == ["billing@test.example"]
    assert "has been told" not in models.EmailMessage.get(
        models.EmailMessage.to == "billing@test.example").body_text


def test_without_a_business_address_only_the_contact_is_told(db, demo_gateway):
    models.Company.update(email="").execute()
    client, _ = customer()
    demo_card(client, demo_gateway, "chargedeclined", "0341")
    template(client)
    assert tick()[1] == {"retry": 1}
    assert mails("did not go through") == ["ap@acme.example"]
    assert mails("failed") == []


def test_charge_now_declined_is_retried_later_and_both_told(db, demo_gateway):
    client, _ = customer()
    demo_card(client, demo_gateway, "chargedeclined", "0341")
    invoice = factories.invoice(client)
    row = models.AutoBill.create(invoice=invoice)
    assert autobill.charge_now(invoice, current_app.config, NOON) == "retry"
    assert reload(row).next_attempt_at == NOON + autobill.RETRY_AFTER
    assert mails("did not go through") == ["ap@acme.example"]
    assert mails("failed") == ["billing@test.example"]


def test_without_a_base_url_the_decline_links_from_the_portal_root(db, demo_gateway):
    client, _ = customer()
    demo_card(client, demo_gateway, "chargedeclined", "0341")
    invoice = factories.invoice(client)
    models.AutoBill.create(invoice=invoice)
    config = {k: v for k, v in current_app.config.items() if k != "BASE_URL"}
    assert autobill.charge_due(config, now=NOON) == {"retry": 1}
    for message in models.EmailMessage.select():
        assert "None" not in message.body_text and "XX" not in message.body_text
    told = models.EmailMessage.get(models.EmailMessage.to == "ap@acme.example")
    assert f"\n/client/invoices/{invoice.public_id}\n" in told.body_text


def test_an_attempt_overtaken_by_another_run_is_not_counted_twice(db, demo_gateway,
                                                                  monkeypatch):
    """The gateway took longer than STALE_AFTER to answer, and another run resumed the
    attempt meanwhile: the slow run's answer neither counts nor overwrites the row."""
    client, _ = customer()
    demo_card(client, demo_gateway)
    invoice = factories.invoice(client)
    row = models.AutoBill.create(invoice=invoice)
    resumed_at = NOON + autobill.STALE_AFTER + dt.timedelta(minutes=1)
    answer = DemoGateway.charge

    def slow_charge(*args, **kwargs):
        result = answer(*args, **kwargs)
        models.AutoBill.update(claimed_at=resumed_at).where(
            models.AutoBill.id == row.id).execute()
        return result

    monkeypatch.setattr(DemoGateway, "charge", slow_charge)
    assert autobill.charge_due(current_app.config, now=NOON) == {}
    assert (reload(row).status, reload(row).claimed_at) == ("charging", resumed_at)
    assert reload(invoice).status == "paid"
    monkeypatch.undo()
    # the run that resumed it finds the payment under the same key and records it
    assert autobill.charge_due(current_app.config, now=resumed_at + autobill.STALE_AFTER
                               + dt.timedelta(minutes=1)) == {"paid": 1}
    assert models.DemoCharge.select().count() == 1


def test_a_charge_the_client_is_making_by_hand_waits_for_the_next_attempt(db, demo_gateway):
    """The contact is paying the invoice at this very moment (their payment holds its
    balance): the automatic charge takes nothing, tries again later and tells nobody."""
    client, primary = customer()
    demo_card(client, demo_gateway)
    template(client)
    (invoice,) = recurring.generate_due(current_app.config, today=DAY)
    holding_payment(invoice, primary, demo_gateway, key="by-hand-" + "k" * 24)
    assert autobill.charge_due(current_app.config, now=NOON) == {"retry": 1}
    row = models.AutoBill.get(models.AutoBill.invoice == invoice.id)
    assert (row.status, row.attempts, row.next_attempt_at, row.payment_id) == (
        "retry", 1, NOON + autobill.RETRY_AFTER, None)
    assert row.last_error == (f"Invoice {invoice.number} has a payment being processed; it "
                              "shows as paid once the payment service confirms it. Nothing "
                              "was charged.")
    assert mails("did not go through") == [] and mails("failed") == []
    assert models.DemoCharge.select().count() == 0
    # on the last attempt it gives up, and then both sides hear of it
    models.AutoBill.update(attempts=autobill.MAX_ATTEMPTS - 1).execute()
    assert autobill.charge_due(current_app.config, now=NOON + autobill.RETRY_AFTER) == {
        "failed": 1}
    assert mails("did not go through") == ["ap@acme.example"]
    assert mails("failed") == ["billing@test.example"]


def test_a_charge_found_after_a_crash_is_recorded_on_its_row(db, demo_gateway):
    """Paid by the attempt a dead run made: the row names that payment, not another of the
    client's."""
    from billing import allocation, checkout
    _client, primary, token, invoice = billed_after_an_earlier_payment(demo_gateway)
    outcome = checkout.pay(primary, [(invoice.public_id, allocation.FULL)],
                           models.Company.current(),
                           idempotency_key=f"autobill-{invoice.public_id}", token=token)
    models.AutoBill.update(status="charging", attempts=1,
                           claimed_at=NOON - dt.timedelta(hours=1)).execute()
    assert autobill.charge_due(current_app.config, now=NOON) == {"paid": 1}
    row = models.AutoBill.get()
    assert (row.status, row.payment_id) == ("paid", outcome.payment.id)


def test_two_attempts_left_by_one_dead_run_are_both_resumed(db, demo_gateway):
    client, _ = customer()
    demo_card(client, demo_gateway)
    died = NOON - autobill.STALE_AFTER - dt.timedelta(minutes=1)
    rows = [models.AutoBill.create(invoice=factories.invoice(client), status="charging",
                                   attempts=1, claimed_at=died) for _ in range(2)]
    assert autobill.charge_due(current_app.config, now=NOON) == {"paid": 2}
    assert [(reload(r).status, reload(r).claimed_at) for r in rows] == [("paid", NOON)] * 2


def test_charge_now_waits_for_a_retry_that_is_not_due_yet(db, demo_gateway):
    client, _ = customer()
    demo_card(client, demo_gateway)
    invoice = factories.invoice(client)
    row = models.AutoBill.create(invoice=invoice, status="retry", attempts=1,
                                 next_attempt_at=NOON + dt.timedelta(hours=1))
    before = snapshot()
    assert autobill.charge_now(invoice, current_app.config, NOON) is None
    assert snapshot() == before
    assert autobill.charge_now(invoice, current_app.config, NOON + dt.timedelta(hours=1)) \
        == "paid"
    assert reload(row).attempts == 2


def test_a_charge_the_bank_holds_for_the_customer_is_followed_up(app, conn, localstripe,
                                                                stripe_gateway):
    """Off-session, the bank asks for 3-D Secure: the attempt is processing, its pending
    payment holds the invoice, and nothing more is charged while it waits."""
    from tests.payments_support import stripe_card
    with opened(app):
        client, _ = customer()
        _api, card = stripe_card(localstripe, "4000002500003155")
        payment_methods.store(client.id, stripe_gateway.id, card)
        template(client)
        (invoice,), done = tick()
        assert done == {"processing": 1}
        row = models.AutoBill.get()
        payment = models.Payment.get(models.Payment.idempotency_key
                                     == f"autobill-{invoice.public_id}")
        assert (row.status, row.payment_id, payment.status) == (
            "processing", payment.id, "pending")
        assert autobill.charge_due(current_app.config, now=NOON + dt.timedelta(hours=1)) == {}
        assert models.Payment.select().count() == 1


def test_every_charge_settled_since_the_last_tick_is_counted(db, demo_gateway):
    from billing import checkout
    client, primary = customer()
    demo_card(client, demo_gateway)
    for number in range(2):
        invoice = factories.invoice(client)
        payment = holding_payment(invoice, primary, demo_gateway)
        models.AutoBill.create(invoice=invoice, status="processing", attempts=1,
                               claimed_at=NOON, payment=payment)
        checkout.finalize(payment.id, f"demo_ch_later_{number}")
    assert autobill.charge_due(current_app.config, now=NOON) == {"paid": 2}
    assert [r.status for r in models.AutoBill.select()] == ["paid", "paid"]
