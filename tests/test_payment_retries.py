"""Trying again under a failed attempt's key: the retry claims that row afresh (and only
that row), a retry another request retook first claims and charges nothing, and claim() as
the subscription purchase calls it decides on the key's row. (An attempt's late money and
the pay() rules are tests/test_payment_attempts.py.)"""
import datetime as dt

import pytest

import models
from billing import DomainError, allocation, checkout, payment_methods
from tests import factories
from tests.core_support import interleaved
from tests.payments_support import failed_attempt, reload, typed_card


def test_trying_again_under_a_failed_attempts_key_claims_that_row_afresh(conn):
    """The retry keeps the key (the gateway sees one request), and its row becomes a new
    claim: pending again (so it holds the invoice against other payments), no old failure,
    and its own start time (run-due's grace period counts from it)."""
    client, invoice, payment = failed_attempt()
    long_ago = models.utcnow() - dt.timedelta(days=2)
    models.Payment.update(created_at=long_ago).where(models.Payment.id == payment.id).execute()
    assert reload(payment).failure_message  # the decline's reason
    company = models.Company.current()
    plan = allocation.plan(client.id, [(invoice.public_id, None)], company)
    gateway = checkout.gateway_settings.get(payment.gateway_id)
    contact = models.Contact.get(models.Contact.client == client)
    good = payment_methods.captured(client, gateway, typed_card("4242 4242 4242 4242"))
    elsewhere = models.Payment.create(client=factories.client(), status="failed", amount=1,
                                      currency="USD", method="card", date=long_ago.date(),
                                      failure_message="Declined", created_at=long_ago)
    attempt = checkout.claim(contact, plan, company, payment.idempotency_key, gateway=gateway,
                             new_method=good)
    again = reload(payment)
    # Only that row: another failed payment keeps its state.
    assert (reload(elsewhere).status, reload(elsewhere).failure_message,
            reload(elsewhere).created_at) == ("failed", "Declined", long_ago)
    assert attempt.payment.id == payment.id
    assert (again.status, again.failure_message) == ("pending", "")
    assert again.created_at > long_ago + dt.timedelta(days=1)
    # Pending, it holds the balance: a second payment of the same invoice does not fit.
    with pytest.raises(DomainError):
        checkout.claim(contact, plan, company, "another-key-000000000000001", gateway=gateway,
                       new_method=good)


def test_a_retry_another_request_retook_after_the_read_is_that_ones_not_a_second(conn):
    """Two retries under one failed key: the other retakes the row between this one's read
    and its update. This one claims nothing (so it charges nothing) and the charge it would
    have made is the other's: "duplicate", no second gateway charge."""
    client, invoice, payment = failed_attempt()
    company = models.Company.current()
    plan = allocation.plan(client.id, [(invoice.public_id, None)], company)
    gateway = checkout.gateway_settings.get(payment.gateway_id)
    contact = models.Contact.get(models.Contact.client == client)
    good = payment_methods.captured(client, gateway, typed_card("4242 4242 4242 4242"))
    retaken = models.Payment.update(status="pending", failure_message="").where(
        models.Payment.id == payment.id)
    charges = models.DemoCharge.select().count()
    with interleaved('UPDATE "payment"', retaken.execute) as fired:
        outcome = checkout.charge_plan(contact, plan, company, payment.idempotency_key,
                                       gateway=gateway, new_method=good)
    assert fired and (outcome.status, outcome.payment.id) == ("duplicate", payment.id)
    assert models.DemoCharge.select().count() == charges
    assert reload(payment).status == "pending"  # the other request's claim, left to it


def test_a_claim_decides_on_the_keys_row_as_the_subscription_purchase_calls_it(conn):
    """claim() is called without begin_attempt's checks (a purchase claims inside its own
    transaction): it must itself refuse another client's key, answer a taken key with None
    (never a "does not fit" from the held balance), and leave a failed row alone when told
    not to retake it."""
    client, invoice, failed = failed_attempt()
    company = models.Company.current()
    contact = models.Contact.get(models.Contact.client == client)
    gateway = checkout.gateway_settings.get(failed.gateway_id)
    good = payment_methods.captured(client, gateway, typed_card("4242 4242 4242 4242"))
    plan = allocation.plan(client.id, [(invoice.public_id, None)], company)

    def claim(key, **kw):
        return checkout.claim(contact, plan, company, key, gateway=gateway, new_method=good,
                              **kw)
    stranger = factories.contact(factories.client())
    theirs = models.Payment.create(client=stranger.client, status="pending", amount=1,
                                   currency="USD", method="card", date=invoice.date,
                                   idempotency_key="their-key-00000000000000001")
    with pytest.raises(DomainError) as refused:
        claim(theirs.idempotency_key)
    assert (refused.value.message, refused.value.field) == (
        "This payment form has expired. Please start again.", "key")
    # A failed key not to be retaken (run-due's charges): nothing claimed, still failed.
    assert claim(failed.idempotency_key, retake_failed=False) is None
    outcome = checkout.charge_plan(contact, plan, company, failed.idempotency_key,
                                   gateway=gateway, new_method=good, retake_failed=False)
    assert (outcome.status, outcome.payment.id, reload(failed).status) == (
        "duplicate", failed.id, "failed")
    # A pending claim holds the whole balance; its key again is that claim, not a refusal.
    held = claim("pending-key-0000000000000001")
    assert held.payment.status == "pending"
    assert claim("pending-key-0000000000000001") is None
    outcome = checkout.charge_plan(contact, plan, company, "pending-key-0000000000000001",
                                   gateway=gateway, new_method=good)
    assert (outcome.status, outcome.payment.id) == ("duplicate", held.payment.id)
