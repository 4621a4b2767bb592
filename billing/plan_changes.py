"""Changing a live subscription: another plan of its group or another quantity, with the rest
of the current period prorated; pausing and resuming its billing.

The prorated difference is shown before anyone confirms (preview()), and the confirmation
carries that figure back: change() refuses when it no longer matches (a price changed, a day
passed, another tab changed the plan first), so nobody is charged an amount they did not see.
An upgrade is invoiced at once and, when the client has a default saved method, charged
through auto-bill's claim (one charge however many requests race); without one the invoice
waits with its Pay button. A downgrade becomes a credit the client spends on later invoices.

`by_business=True` is the back office and API: the business may change or pause what its
plans do not let clients change themselves. Every other rule holds for everyone.
"""
import dataclasses
import datetime as dt

import i18n
import models
from billing import DomainError, autobill, credits, invoices, subscriptions, transaction
from i18n import N_
from i18n import gettext as _

LIVE = subscriptions.LIVE


@dataclasses.dataclass(frozen=True)
class Proration:
    """What switching costs for the rest of the current period, in minor units."""
    days_left: int
    days_in_period: int
    old_remainder: int  # the current plan for the days left
    new_remainder: int  # the new plan for the days left
    difference: int  # > 0: invoiced now; < 0: credited; 0: nothing to pay
    currency: str

    @property
    def outcome(self):
        return "charge" if self.difference > 0 else "credit" if self.difference < 0 else "none"


def share(amount, days_left, days_in_period):
    """amount x days_left / days_in_period, rounded half away from zero to a whole minor unit
    (a cent; a yen for zero-decimal currencies, whose minor unit is the whole unit). Exact
    integer arithmetic, and symmetric, so +x then -x nets to nothing."""
    if days_left <= 0 or days_in_period <= 0:
        return 0
    numerator = abs(amount) * days_left
    rounded = (2 * numerator + days_in_period) // (2 * days_in_period)
    return rounded if amount >= 0 else -rounded


def days_left(subscription, today):
    """(days left, days in the period) of the paid period; none left during a free trial,
    where nothing has been billed and the new price simply applies from the first period."""
    start, end = subscription.current_period_start, subscription.current_period_end
    if start is None or end is None or end <= start or subscription.in_trial(today):
        return 0, max((end - start).days, 0) if start and end else 0
    total = (end - start).days
    return min(max((end - today).days, 0), total), total


def proration(subscription, new_plan, new_quantity, today=None):
    today = today or models.utcnow().date()
    left, total = days_left(subscription, today)
    old_amount = subscription.amount
    new_amount = new_plan.price * new_quantity
    difference = share(new_amount - old_amount, left, total)
    old_remainder = share(old_amount, left, total)
    # Shown as old + difference, so the page's figures always add up.
    return Proration(days_left=left, days_in_period=total, old_remainder=old_remainder,
                     new_remainder=old_remainder + difference, difference=difference,
                     currency=subscription.plan.currency)


# -- what may change -----------------------------------------------------------------------

def _check_live(subscription):
    if subscription.status not in LIVE:
        raise DomainError(_("Only an active subscription can be changed."), "subscription")
    if subscription.cancel_at_period_end:
        raise DomainError(_("This subscription is cancelled at the end of the period. Undo the "
                          "cancellation first to change it."), "subscription")


def can_change(subscription):
    plan = subscription.plan
    return (plan.allow_plan_changes and subscription.status in LIVE
            and not subscription.cancel_at_period_end)


def options(subscription):
    """The plans the subscription may switch to, its own included (for a new quantity):
    current plans of its group, in its currency, billed as often."""
    P, plan = models.Plan, subscription.plan
    query = P.select().where(P.archived_at.is_null() & (P.currency == plan.currency)
                             & (P.frequency == plan.frequency))
    if plan.plan_group:
        query = query.where((P.plan_group == plan.plan_group) | (P.id == plan.id))
    else:
        query = query.where(P.id == plan.id)
    return list(query.order_by(P.price, P.name, P.id))


def read_choice(plan_id, quantity_text):
    """(plan or None, quantity) from what a form sent: a plan's public id and the quantity as
    typed. A quantity that is not plain digits stays text, for check_quantity to refuse."""
    plan_id = str(plan_id or "")[:24]
    plan = models.Plan.get_or_none(models.Plan.public_id == plan_id) if plan_id else None
    text = str(quantity_text or "").strip()[:12]
    return plan, int(text) if text.isascii() and text.isdigit() else text


def check_change(subscription, new_plan, new_quantity, *, by_business=False):
    """DomainError naming what is wrong with switching to new_plan x new_quantity."""
    plan = subscription.plan
    if not by_business and not plan.allow_plan_changes:
        raise DomainError(_("This subscription's plan cannot be changed from the portal. "
                          "Please contact us to change it."), "subscription")
    _check_live(subscription)
    if new_plan is None:
        raise DomainError(_("Choose a plan from the list."), "plan")
    if new_plan.id != plan.id and (not plan.plan_group or new_plan.plan_group != plan.plan_group):
        raise DomainError(_("You can only switch to another plan of the same group."), "plan")
    if new_plan.archived_at is not None:
        raise DomainError(_("That plan is no longer offered."), "plan")
    if new_plan.currency != plan.currency:
        raise DomainError(_("That plan is priced in %(new)s, this subscription in %(old)s.",
                            new=new_plan.currency, old=plan.currency), "plan")
    if new_plan.frequency != plan.frequency:
        # A period's worth of a plan billed at another rhythm is not comparable day for day.
        raise DomainError(_("That plan is billed at a different frequency. Please contact us to "
                          "switch to it."), "plan")
    subscriptions.check_quantity(new_plan, new_quantity)
    if new_plan.id == plan.id and new_quantity == subscription.quantity:
        raise DomainError(_("Choose a different plan or quantity."), "plan")


def preview(subscription, new_plan, new_quantity, *, by_business=False, today=None):
    """The proration a confirmation page shows; refuses as change() would. Changes nothing."""
    check_change(subscription, new_plan, new_quantity, by_business=by_business)
    return proration(subscription, new_plan, new_quantity, today)


STALE = N_("The amount for the rest of the period has changed since it was shown. Check the "
           "new amount and confirm again.")


# What a missing or mangled confirmed amount reads as: it matches no difference, so change()
# refuses it as stale, after the plan and quantity have had their own say.
UNREADABLE = "unreadable"


def confirmed_difference(text):
    """The difference a confirmation page carried back (minor units, as the page wrote it)."""
    text = str(text or "").strip()[:20]
    if not (text.isascii() and text.lstrip("-").isdigit() and text.count("-") <= 1):
        return UNREADABLE
    return int(text)


@dataclasses.dataclass
class Change:
    subscription: models.Subscription
    proration: Proration
    invoice: models.Invoice = None
    credit: models.Credit = None
    charge: str = None  # auto-bill's outcome ("paid", "processing", "retry"...) or None


def change(subscription, new_plan, new_quantity, *, expected_difference, config,
           contact=None, staff=None, by_business=False, today=None, now=None):
    """Switch to new_plan x new_quantity and settle the rest of the period.

    expected_difference: the difference (minor units) the person confirmed; None only for
    the API, where the caller accepts whatever it is now. The UPDATE names the plan,
    quantity and price it changes from, so of two racing requests one changes and the other
    is refused; the charge then goes through auto-bill's claim, so it is made once."""
    now = now or models.utcnow()
    today = today or now.date()
    result = preview(subscription, new_plan, new_quantity, by_business=by_business,
                     today=today)
    if expected_difference is not None and expected_difference != result.difference:
        raise DomainError(_(STALE), "confirmation")
    S = models.Subscription
    old_plan, old_quantity = subscription.plan, subscription.quantity
    same_price = (S.unit_price.is_null() if subscription.unit_price is None
                  else S.unit_price == subscription.unit_price)
    outcome = Change(subscription, result)
    with transaction():
        changed = S.update(plan=new_plan, quantity=new_quantity,
                           unit_price=new_plan.price).where(
            (S.id == subscription.id) & (S.plan == old_plan.id) & (S.quantity == old_quantity)
            & same_price & S.status.in_(LIVE)
            & (S.cancel_at_period_end == False)).execute()  # noqa: E712  (SQL)
        if not changed:
            raise DomainError(_("This subscription was changed meanwhile. Check it and try "
                              "again."), "confirmation")
        client = subscription.client
        lines = _lines(subscription, old_plan, old_quantity, new_plan, new_quantity, result,
                       today) if result.difference else []
        if result.difference > 0:
            outcome.invoice = invoices.create_invoice(
                client, lines, date=today, due_date=today, currency=result.currency,
                status="sent")
            subscriptions.link_invoice(subscription, outcome.invoice)
            if autobill.default_method(client.id) is not None:
                models.AutoBill.create(invoice=outcome.invoice)
        elif result.difference < 0:
            outcome.credit = credits.create_credit(
                client, [{**lines[0], "unit_cost": -result.difference}], date=today,
                reason="adjustment", currency=result.currency, status="sent", staff=staff)
        document = outcome.invoice or outcome.credit
        detail = (f"{old_plan.name} x {old_quantity} to {new_plan.name} x {new_quantity}"
                  + (f" ({document.number})" if document else ""))
        models.Activity.log("subscription.plan_changed", subscription,
                            client=subscription.client_id, contact=contact, staff=staff,
                            detail=detail)
    outcome.subscription = S.get_by_id(subscription.id)
    if outcome.invoice is not None:
        outcome.charge = autobill.charge_now(outcome.invoice, config, now)
        outcome.invoice = models.Invoice.get_by_id(outcome.invoice.id)
    return outcome


def _lines(subscription, old_plan, old_quantity, new_plan, new_quantity, result, today):
    """The line that bills or credits the change, in the client's language as a period's
    lines are: the invoice or credit keeps the words it was issued with."""
    company = models.Company.current()
    with i18n.using(i18n.choose(client=subscription.client, company=company)):
        product = _("Plan change: %(plan)s", plan=new_plan.name)
        description = _("%(old_plan)s × %(old_quantity)s to %(new_plan)s × %(new_quantity)s, "
                        "%(left)s of %(days)s days left: %(start)s to %(end)s",
                        old_plan=old_plan.name, old_quantity=old_quantity,
                        new_plan=new_plan.name, new_quantity=new_quantity,
                        left=result.days_left, days=result.days_in_period,
                        start=today.isoformat(),
                        end=subscription.current_period_end.isoformat())
    return [{"product": product, "description": description, "quantity": 1,
             "unit_cost": abs(result.difference)}]


# -- pause and resume ----------------------------------------------------------------------

def can_pause(subscription):
    return (subscription.plan.allow_pause and subscription.status == "active"
            and not subscription.cancel_at_period_end)


def can_resume(subscription):
    return subscription.status == "paused"


def check_pause(subscription, *, by_business=False):
    """DomainError saying why the subscription cannot be paused now."""
    if not by_business and not subscription.plan.allow_pause:
        raise DomainError(_("This subscription cannot be paused from the portal. Please "
                          "contact us to pause it."), "subscription")
    if subscription.status == "paused":
        raise DomainError(_("This subscription is already paused."), "subscription")
    if subscription.status != "active":
        raise DomainError(_("Only an active subscription can be paused."), "subscription")
    if subscription.cancel_at_period_end:
        raise DomainError(_("This subscription is cancelled at the end of the period. Undo the "
                          "cancellation first to pause it."), "subscription")


def check_resume(subscription):
    if subscription.status != "paused":
        raise DomainError(_("This subscription is not paused."), "subscription")


def pause(subscription, *, contact=None, staff=None, by_business=False, today=None):
    """Stop billing until resumed: nothing is invoiced while paused."""
    today = today or models.utcnow().date()
    check_pause(subscription, by_business=by_business)
    S = models.Subscription
    with transaction():
        changed = S.update(status="paused", paused_on=today).where(
            (S.id == subscription.id) & (S.status == "active")
            & (S.cancel_at_period_end == False)).execute()  # noqa: E712
        if not changed:
            raise DomainError(_("This subscription is already paused."), "subscription")
        models.Activity.log("subscription.paused", subscription,
                            client=subscription.client_id, contact=contact, staff=staff)
    return S.get_by_id(subscription.id)


def resume(subscription, *, contact=None, staff=None, today=None):
    """Bill again. The days of the paid period left when it was paused are kept: the period
    (and trial) move on by as many days as the pause lasted, and the next invoice with it."""
    today = today or models.utcnow().date()
    S = models.Subscription
    with transaction():
        current = S.get_or_none(S.id == subscription.id)
        if current is None or current.status != "paused":
            raise DomainError(_("This subscription is not paused."), "subscription")
        shift = dt.timedelta(days=max((today - (current.paused_on or today)).days, 0))

        def moved(day):
            return day + shift if day is not None and day >= current.paused_on else day

        fields = {"status": "active", "paused_on": None}
        if current.paused_on is not None and shift:
            fields.update(current_period_start=current.current_period_start + shift
                          if current.current_period_start else None,
                          current_period_end=moved(current.current_period_end),
                          next_billing_date=moved(current.next_billing_date),
                          trial_ends_on=moved(current.trial_ends_on))
        changed = S.update(**fields).where((S.id == current.id) & (S.status == "paused")
                                           ).execute()
        if not changed:
            raise DomainError(_("This subscription is not paused."), "subscription")
        models.Activity.log("subscription.resumed", subscription,
                            client=subscription.client_id, contact=contact, staff=staff,
                            detail=f"paused {shift.days} days")
    return S.get_by_id(subscription.id)
