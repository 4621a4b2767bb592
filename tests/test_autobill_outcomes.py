"""Auto-bill, outcome by outcome: what each attempt records on its row and who is told, in
which language; charge_now for a plan change's upgrade; charges the gateway settles later,
attempts overtaken by other runs and charges the client is making by hand.

The charging rules (modes, retries, overlapping runs, Stripe) are tests/test_autobill.py;
shared helpers are tests/autobill_support.py."""
import datetime as dt

import pytest
from flask import current_app

import models
from billing import autobill, payment_methods, recurring
from gateways.demo import DemoGateway
from tests import factories
from tests.autobill_support import (
    DAY,
    NOON,
    billed_after_an_earlier_payment,
    customer,
    holding_payment,
    pending_charge,
    template,
    tick,
)
from tests.core_support import opened, snapshot
from tests.mail_support import mails
from tests.payments_support import demo_card, reload

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
