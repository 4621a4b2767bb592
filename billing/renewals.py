"""Subscription renewals: run-due issues each period's invoice and queues its charge.

A due subscription (live, not ending, next_billing_date reached) is claimed with a
conditional UPDATE naming the next_billing_date it read, exactly as recurring._claim moves a
template on: of any number of overlapping run-due ticks (threads, processes, machines), one
moves the period on and issues its invoice, in that same transaction, through
subscription_invoices.issue_period_invoice. When the client has a saved method that can be
charged, the invoice's AutoBill row is queued in that transaction too, so billing.autobill
charges it (this very tick: the job runs before auto-bill), retries it and tells both sides
when it is declined; nothing here charges a card.

A trial ends the same way: subscribe() sets next_billing_date to trial_ends_on, so the first
paid period is claimed and billed on that date and not before.

Catch-up: a subscription whose missed periods lie wholly in the past (the portal was down, or
the subscription was suspended for months) is billed for the period that contains today
only; the missed ones are skipped, not billed in a flood, and the skip is logged for staff.

When auto-bill gives up on a subscription's invoice (charge_given_up, called by autobill),
the subscription turns past_due (it keeps renewing) or suspended (no renewals until paid),
as the business chose (Company.failed_renewal_status). Once no invoice whose charge was
given up is still owed (paid by hand, by a new card, by credit, or cancelled by staff), it
is active again (settled, called where an invoice becomes paid; and swept each tick).
"""
import collections
import logging

import models
from billing import DomainError, autobill, invoices, payment_methods, schedule, transaction
from billing.subscription_invoices import issue_period_invoice

log = logging.getLogger("portal.renewals")

RENEWING = ("active", "past_due")  # suspended ones wait until they are paid up
AFTER_FAILURE = {
    "past_due": "Mark it past due and keep renewing it",
    "suspended": "Suspend it: no renewals until the unpaid invoice is paid",
}
DEFAULT_AFTER_FAILURE = "past_due"


def after_failure_status(company=None):
    company = company or models.Company.current()
    chosen = getattr(company, "failed_renewal_status", "") or ""
    return chosen if chosen in AFTER_FAILURE else DEFAULT_AFTER_FAILURE


def _anchor_day(subscription):
    # Month-based periods keep the day the first paid period began on (the 31st stays the
    # 31st where the month allows), whatever a short month did to the period before.
    return (subscription.trial_ends_on or subscription.started_at).day


def current_period(subscription, today):
    """(start, end, skipped): the period that contains `today`, counting on from the one
    next_billing_date starts, and how many whole periods before it were passed over."""
    start, skipped = subscription.next_billing_date, 0
    frequency, anchor = subscription.plan.frequency, _anchor_day(subscription)
    end = schedule.next_date(start, frequency, anchor)
    while end <= today:
        start, skipped = end, skipped + 1
        end = schedule.next_date(start, frequency, anchor)
    return start, end, skipped


def _due(today):
    S = models.Subscription
    return (S.status.in_(RENEWING) & (S.cancel_at_period_end == False)  # noqa: E712
            & S.next_billing_date.is_null(False) & (S.next_billing_date <= today))


def saved_method(subscription):
    """The saved method a renewal is charged to: the subscription's own when it names one
    that can still be charged, else the client's default; None when there is neither."""
    if subscription.payment_method_id is not None:
        token = models.GatewayToken.get_or_none(
            models.GatewayToken.id == subscription.payment_method_id)
        if token is not None:
            usable, _ = payment_methods.usable(subscription.client_id, token.public_id)
            if usable is not None:
                return usable
    return autobill.default_method(subscription.client_id)


def method_for_invoice(invoice):
    """What autobill charges for `invoice`: a subscription's invoice goes to the method the
    subscription names; any other to the client's default."""
    if invoice.subscription_id is not None:
        subscription = models.Subscription.get_or_none(
            models.Subscription.id == invoice.subscription_id)
        if subscription is not None:
            return saved_method(subscription)
    return autobill.default_method(invoice.client_id)


def renew(subscription, today):
    """Bill the due period of one subscription; (invoice, charged) or None when it is not
    due or another run took it. `charged`: an AutoBill row was queued with the invoice."""
    S = models.Subscription
    with transaction():
        subscription = S.select().where((S.id == subscription.id) & _due(today)).first()
        if subscription is None:
            return None
        start, end, skipped = current_period(subscription, today)
        claimed = S.update(current_period_start=start, current_period_end=end,
                           next_billing_date=end).where(
            (S.id == subscription.id) & _due(today)
            & (S.next_billing_date == subscription.next_billing_date)).execute()
        if claimed != 1:
            return None
        if skipped:
            models.Activity.log("subscription.periods_skipped", subscription,
                                client=subscription.client_id,
                                detail=f"{skipped} from {subscription.next_billing_date}")
        first = not models.Invoice.select().where(
            models.Invoice.subscription == subscription.id).exists()
        subscription = S.get_by_id(subscription.id)
        invoice = issue_period_invoice(subscription, start, end, setup_fee=first)
        charged = invoice.balance > 0 and saved_method(subscription) is not None
        if charged:
            models.AutoBill.create(invoice=invoice)
    return invoice, charged


def renew_due(config, today=None):
    """run-due: renew every due subscription once; counts by outcome.

    Each invoice is e-mailed as recurring invoices are (when links can be built): the
    contact learns what it is for, and, without a saved method, that it is owed."""
    today = today or schedule.today()
    counts = collections.Counter(reactivated=reactivate_settled())
    S = models.Subscription
    for (subscription_id,) in S.select(S.id).where(_due(today)).order_by(S.id).tuples():
        try:
            renewed = renew(S(id=subscription_id), today)
        except DomainError as exc:
            # One subscription's bad data is logged and left for staff; the rest renew.
            log.warning("subscription %s not renewed: %s", subscription_id, exc.message)
            counts["failed"] += 1
            continue
        if renewed is None:
            continue
        invoice, charged = renewed
        counts["renewed"] += 1
        counts["charging" if charged else "owed"] += 1
        _email(invoice, config)
    return counts


def _email(invoice, config):
    if not config.get("BASE_URL"):
        return
    try:
        invoices.email_invoice(invoice, config)
    except DomainError as exc:  # no contact with an address: the invoice waits in the portal
        log.info("renewal invoice %s not e-mailed: %s", invoice.number, exc.message)


# -- after auto-bill gives up, and once paid ----------------------------------------------

def _given_up_and_owed(subscription_id):
    Inv, A = models.Invoice, models.AutoBill
    return (Inv.select(Inv.id).join(A, on=(A.invoice == Inv.id))
            .where((Inv.subscription == subscription_id) & (A.status == "failed")
                   & Inv.status.in_(("sent", "partial")) & (Inv.balance > 0)))


def charge_given_up(invoice_id):
    """autobill: the last attempt at this invoice failed. Call in its transaction."""
    invoice = models.Invoice.get_by_id(invoice_id)
    if invoice.subscription_id is None:
        return None
    S = models.Subscription
    status = after_failure_status()
    changed = S.update(status=status).where(
        (S.id == invoice.subscription_id) & S.status.in_(RENEWING)
        & (S.status != status)).execute()
    if changed:
        models.Activity.log(f"subscription.{status}", S(id=invoice.subscription_id),
                            client=invoice.client_id, detail=invoice.number)
    return S.get_by_id(invoice.subscription_id)


def settled(invoice):
    """An invoice was just paid (call in that transaction), however it was paid (a card, a
    payment staff recorded, credit): a purchase waiting for this first invoice starts, and a
    subscription held past due or suspended for an unpaid charge is active again once
    nothing given up is owed."""
    if invoice.subscription_id is not None:
        from billing import subscription_purchase
        subscription_purchase.activate_paid([invoice.id])
        _reactivate(invoice.subscription_id, invoice.client_id)


def _reactivate(subscription_id, client_id):
    S = models.Subscription
    if _given_up_and_owed(subscription_id).exists():
        return False
    changed = S.update(status="active").where(
        (S.id == subscription_id) & S.status.in_(("past_due", "suspended"))).execute()
    if changed:
        models.Activity.log("subscription.reactivated", S(id=subscription_id),
                            client=client_id)
    return bool(changed)


def reactivate_settled():
    """The sweep: whatever way the owed invoice stopped being owed (cancelled by staff, say,
    which calls no hook), a subscription held for a charge given up, with nothing given up
    still owed, is active again. Only those held for a charge: a subscription staff put on
    hold for another reason stays as they left it. Returns how many."""
    S, Inv, A = models.Subscription, models.Invoice, models.AutoBill
    gave_up = (Inv.select(Inv.subscription).join(A, on=(A.invoice == Inv.id))
               .where(A.status == "failed"))
    count = 0
    held = S.select(S.id, S.client).where(S.status.in_(("past_due", "suspended"))
                                          & S.id.in_(gave_up))
    for row in held.order_by(S.id):
        with transaction():
            count += _reactivate(row.id, row.client_id)
    return count
