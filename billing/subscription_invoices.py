"""The invoices a subscription issues: one per billing period, the first also carrying the
plan's set-up fee. The purchase page, renewals and plan changes all bill through here."""
import i18n
import models
from billing import invoices, subscriptions, transaction
from i18n import gettext as _


def period_lines(subscription, period_start, period_end, *, setup_fee=False):
    """The lines billing `subscription` from `period_start` up to (not including)
    `period_end`: the plan at the subscription's price per unit, then any set-up fee.
    Written in the client's language: the invoice keeps the words it was issued with."""
    plan = subscription.plan
    with i18n.using(i18n.choose(client=subscription.client, company=models.Company.current())):
        lines = [{"product": plan.name,
                  "description": _("%(start)s to %(end)s", start=period_start.isoformat(),
                                   end=period_end.isoformat()),
                  "quantity": subscription.quantity, "unit_cost": subscription.price}]
        if setup_fee and plan.setup_fee:
            lines.insert(0, {"product": _("Set-up fee"), "description": plan.name,
                             "quantity": 1, "unit_cost": plan.setup_fee})
    return lines


def issue_period_invoice(subscription, period_start, period_end, *, setup_fee=False,
                         date=None):
    """Issue (status sent: the client owes it from now) and link the invoice for one period.

    The caller claims the period first (in the same transaction), so a period is billed once
    however many run-due processes or purchase retries reach it."""
    date = date or period_start
    with transaction():
        invoice = invoices.create_invoice(
            subscription.client, period_lines(subscription, period_start, period_end,
                                              setup_fee=setup_fee),
            date=date, due_date=date, currency=subscription.plan.currency, status="sent")
        subscriptions.link_invoice(subscription, invoice)
        models.Activity.log("subscription.invoiced", subscription,
                            client=subscription.client_id, detail=invoice.number)
    return invoice
