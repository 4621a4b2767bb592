"""Gateway events (webhooks) reconciled with our records; each is safe to receive twice."""
import models
from billing import checkout, payment_methods


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
