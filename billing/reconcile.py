"""Our records reconciled with the gateway's: its events (webhooks), each safe to receive
twice, and attempts left pending (run-due), each safe to settle from two runs at once."""
import collections
import datetime as dt

import gateways
import models
from billing import checkout, payment_methods
from gateways.base import GatewayError, PaymentDeclined

# How old a pending attempt must be before run-due asks the gateway about it. Longer than a
# request can spend at the gateway (the Stripe client times out after 20 s), so an attempt
# whose request is still waiting for the gateway is never settled under its feet.
GRACE_SECONDS = 300
# A charge still waiting for the customer's 3-D Secure this long was abandoned: withdraw it,
# so the invoice it holds can be paid again (with another card, say).
ABANDON_SECONDS = 3600
ABANDONED = ("The payment was not confirmed with your bank in time and was cancelled; "
             "nothing was taken. Please pay again.")
NEVER_CHARGED = ("The payment was interrupted before the card was charged; nothing was "
                 "taken. Please pay again.")


def find_payment(config_id, reference, public_id=None):
    P = models.Payment
    payment = P.get_or_none((P.gateway == config_id) & (P.gateway_reference == reference))
    if payment is None and public_id:
        payment = P.get_or_none((P.gateway == config_id) & (P.public_id == str(public_id)[:24]))
        if payment is not None and payment.gateway_reference not in (None, "", reference):
            return None  # metadata points at a payment charged elsewhere: not this one
    return payment


def stripe_event(config_id, event):
    """Apply one verified Stripe event; returns a word for the log/response."""
    kind = event.get("type", "")
    obj = (event.get("data") or {}).get("object") or {}
    if kind in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        payment = find_payment(config_id, obj.get("id"), (obj.get("metadata") or {}).get("payment"))
        if payment is None:
            return "unknown payment"
        if kind == "payment_intent.payment_failed":
            error = obj.get("last_payment_error") or {}
            checkout.mark_failed(payment.id, error.get("message") or "The payment failed.")
            return "failed"
        if obj.get("amount") != payment.amount or \
                str(obj.get("currency", "")).upper() != payment.currency.upper():
            return "amount mismatch"  # never apply money we did not ask for
        checkout.finalize(payment.id, obj.get("id"))
        return "completed"
    if kind == "charge.refunded":
        payment = find_payment(config_id, obj.get("payment_intent"))
        if payment is None:
            return "unknown payment"
        checkout.apply_refund(payment.id, int(obj.get("amount_refunded") or 0))
        return "refunded"
    if kind == "payment_method.detached":
        T = models.GatewayToken
        for token in T.select().where((T.gateway == config_id) & (T.token == obj.get("id"))
                                      & T.deleted_at.is_null()):
            payment_methods.forget(token)
        return "detached"
    return "ignored"


def settle_pending(grace_seconds=GRACE_SECONDS, now=None):
    """Ask the gateway how each attempt left pending ended, and finish or fail it.

    An attempt stays pending when the process died between the charge and the bookkeeping
    (or before the charge), or while the customer's bank or the gateway is still at work.
    Returns a Counter of outcomes: completed, failed, waiting, mismatch.
    """
    now = now or models.utcnow()
    cutoff = now - dt.timedelta(seconds=grace_seconds)
    abandoned = now - dt.timedelta(seconds=ABANDON_SECONDS)
    P = models.Payment
    # Read them all before settling any: an open read on SQLite would pin a snapshot that
    # the writes below (and another run's) make stale, failing them with "locked".
    attempts = list(P.select().where((P.status == "pending") & P.gateway.is_null(False)
                                     & (P.created_at <= cutoff)).order_by(P.id))
    return collections.Counter(settle(payment, abandoned) for payment in attempts)


def settle(payment, abandoned_before):
    config = models.GatewayConfig.get_or_none(models.GatewayConfig.id == payment.gateway_id)
    # A gateway switched off since still holds the money it took: ask it all the same.
    gateway = gateways.for_config(config) if config is not None else None
    if gateway is None:
        return "waiting"
    try:
        if payment.gateway_reference:
            result = gateway.retrieve_charge(payment.gateway_reference)
        else:  # died before the reference was stored: find the charge by what we sent
            result = gateway.find_charge(payment.idempotency_key,
                                         {"payment": payment.public_id})
    except PaymentDeclined as exc:  # a definite no: nothing was taken
        checkout.mark_failed(payment.id, exc.message)
        return "failed"
    except (GatewayError, NotImplementedError):
        return "waiting"  # no answer now (or no way to ask): the next run asks again
    if result is None:
        checkout.mark_failed(payment.id, NEVER_CHARGED)
        return "failed"
    if result.amount is not None and (result.amount, result.currency.upper()) != (
            payment.amount, payment.currency.upper()):
        return "mismatch"  # never apply money we did not ask for; staff look at it
    if result.status == "succeeded":
        checkout.finalize(payment.id, result.reference)
        return "completed"
    P = models.Payment
    P.update(gateway_reference=result.reference).where(
        (P.id == payment.id) & P.gateway_reference.is_null()).execute()
    if result.status == "requires_action" and payment.created_at <= abandoned_before:
        return _withdraw(gateway, payment, result.reference)
    return "waiting"


def _withdraw(gateway, payment, reference, message=ABANDONED):
    """Cancel an abandoned authentication at the gateway, then believe only its answer."""
    try:
        gateway.cancel_charge(reference)
    except GatewayError:
        pass  # it may have finished meanwhile: the re-read below decides
    try:
        result = gateway.retrieve_charge(reference)
    except PaymentDeclined:  # cancelled: it can no longer take the money
        checkout.mark_failed(payment.id, message)
        return "failed"
    except GatewayError:
        return "waiting"
    if result.status == "succeeded":
        checkout.finalize(payment.id, result.reference)
        return "completed"
    return "waiting"
