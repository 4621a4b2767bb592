"""Subscriptions: the plans staff sell, and the subscriptions clients hold.

One validator (`clean_plan`) serves the back office, the API and any script: it takes what
a person or an integration typed (amounts as text in `locale`, or money.PLAIN for machines)
and refuses every bad field at once with a FieldErrors. Cancellation lives here; renewals
in billing/renewals.py, purchase in billing/subscription_purchase.py, plan changes and pausing
in billing/plan_changes.py. They build on
`subscribe()` and the periods it sets (billing/schedule.py does the calendar arithmetic).
"""
import datetime as dt

from babel.numbers import is_currency

import models
import money
from billing import DomainError, FieldErrors, transaction, validation
from billing.schedule import FREQUENCIES, next_date
from i18n import N_
from i18n import gettext as _

CANCELLATION_LABELS = {
    "not_allowed": "Clients cannot cancel",
    "at_period_end": "At the end of the paid period",
    "immediately": "Immediately",
}
# What a plan is made of, in form order; `clean_plan` reads these keys.
PLAN_FIELDS = ("name", "description", "price", "currency", "frequency", "trial_days",
               "setup_fee", "min_quantity", "max_quantity", "cancellation",
               "allow_plan_changes", "plan_group", "allow_pause")
MAX_TRIAL_DAYS = 3650
MAX_QUANTITY = 1_000_000


def _whole(value, label, field, errors, *, minimum, maximum, blank):
    """A whole number typed as text ("3") or given as an int; `blank` when left empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return blank
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        errors[field] = f"{label} must be a whole number."
        return blank
    text = str(value).strip()
    if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 12:
        errors[field] = f"{label} must be a whole number."
        return blank
    number = int(text)
    if not minimum <= number <= maximum:
        errors[field] = f"{label} must be from {minimum} to {maximum}."
        return blank
    return number


def _amount(value, currency, locale, label, field, errors, blank=None):
    if blank is not None and (value is None or not str(value).strip()):
        return blank
    if currency is None:
        return 0  # the currency's own error says what to fix first
    try:
        return money.parse(value, currency, locale)
    except money.MoneyError as exc:
        errors[field] = f"{label}: {exc}"
        return 0


def _text(value, label, field, errors, limit, multi=False):
    check = validation.multi_line if multi else validation.single_line
    try:
        return check(value, label, field, limit=limit)
    except DomainError as exc:
        errors[field] = exc.message
        return ""


def _flag(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "on", "yes")
    return bool(value)


def clean_plan(data, locale):
    """The plan's fields from `data` (keys of PLAN_FIELDS), checked, as column values.

    Raises FieldErrors naming every refused field, so a form can mark them all at once."""
    errors = {}
    name = _text(data.get("name"), "Name", "name", errors, 100)
    if not name and "name" not in errors:
        errors["name"] = "Enter the plan's name."
    description = _text(data.get("description"), "Description", "description", errors, 2000,
                        multi=True)
    currency = str(data.get("currency") or "").strip().upper()
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()
            and is_currency(currency)):
        errors["currency"] = "Currency must be an ISO 4217 code such as USD."
        currency = None
    price = _amount(data.get("price"), currency, locale, "Price", "price", errors)
    setup_fee = _amount(data.get("setup_fee"), currency, locale, "Setup fee", "setup_fee",
                        errors, blank=0)
    frequency = str(data.get("frequency") or "").strip()
    if frequency not in FREQUENCIES:
        errors["frequency"] = "Choose how often the plan bills: " + ", ".join(
            FREQUENCIES) + "."
    trial_days = _whole(data.get("trial_days"), "Free trial days", "trial_days", errors,
                        minimum=0, maximum=MAX_TRIAL_DAYS, blank=0)
    min_quantity = _whole(data.get("min_quantity"), "Minimum quantity", "min_quantity",
                          errors, minimum=1, maximum=MAX_QUANTITY, blank=1)
    max_quantity = _whole(data.get("max_quantity"), "Maximum quantity", "max_quantity",
                          errors, minimum=1, maximum=MAX_QUANTITY, blank=None)
    if (max_quantity is not None and "min_quantity" not in errors
            and max_quantity < min_quantity):
        errors["max_quantity"] = "The maximum quantity cannot be less than the minimum."
    cancellation = str(data.get("cancellation") or "").strip()
    if cancellation not in models.Plan.CANCELLATION:
        errors["cancellation"] = "Choose whether and when clients may cancel."
    plan_group = _text(data.get("plan_group"), "Plan group", "plan_group", errors, 50)
    if errors:
        raise FieldErrors({key: errors[key] for key in PLAN_FIELDS if key in errors})
    return {"name": name, "description": description, "price": price, "currency": currency,
            "frequency": frequency, "trial_days": trial_days, "setup_fee": setup_fee,
            "min_quantity": min_quantity, "max_quantity": max_quantity,
            "cancellation": cancellation, "allow_cancellation": cancellation != "not_allowed",
            "allow_plan_changes": _flag(data.get("allow_plan_changes")),
            "plan_group": plan_group, "allow_pause": _flag(data.get("allow_pause"))}


def plan_values(plan, locale):
    """A plan's fields as text, the way clean_plan reads them back (a form, an API merge)."""
    return {"name": plan.name, "description": plan.description,
            "price": money.input_string(plan.price, plan.currency, locale),
            "currency": plan.currency, "frequency": plan.frequency,
            "trial_days": str(plan.trial_days),
            "setup_fee": money.input_string(plan.setup_fee, plan.currency, locale)
            if plan.setup_fee else "",
            "min_quantity": str(plan.min_quantity),
            "max_quantity": "" if plan.max_quantity is None else str(plan.max_quantity),
            "cancellation": plan.cancellation, "allow_plan_changes": plan.allow_plan_changes,
            "plan_group": plan.plan_group, "allow_pause": plan.allow_pause}


def _check_unique(name, plan_id=None):
    P = models.Plan
    query = P.select().where((P.name == name) & P.archived_at.is_null())
    if plan_id is not None:
        query = query.where(P.id != plan_id)
    if query.exists():
        raise FieldErrors({"name": f"There is already a plan called {name}."})


def create_plan(data, locale, staff=None):
    fields = clean_plan(data, locale)
    with transaction():
        _check_unique(fields["name"])
        plan = models.Plan.create(**fields)
        models.Activity.log("plan.created", plan, staff=staff)
    return plan


def update_plan(plan, data, locale, staff=None):
    """Change the fields in `data`; those left out keep their value. Subscribers keep the
    price they agreed (Subscription.unit_price), so a new price applies to new ones."""
    fields = clean_plan({**plan_values(plan, locale), **data}, locale)
    with transaction():
        _check_unique(fields["name"], plan.id)
        if fields["currency"] != plan.currency and plan.subscriptions.exists():
            raise FieldErrors({"currency": "The currency of a plan with subscribers "
                                           "cannot change."})
        models.Plan.update(**fields).where(models.Plan.id == plan.id).execute()
        models.Activity.log("plan.updated", plan, staff=staff)
    return models.Plan.get_by_id(plan.id)


def set_archived(plan, archived, staff=None):
    """An archived plan is sold no more; its subscribers keep it until they leave."""
    with transaction():
        if not archived:
            _check_unique(plan.name, plan.id)
        models.Plan.update(archived_at=models.utcnow() if archived else None,
                           is_active=not archived).where(models.Plan.id == plan.id).execute()
        models.Activity.log("plan.archived" if archived else "plan.restored", plan,
                            staff=staff)
    return models.Plan.get_by_id(plan.id)


def active_plans():
    P = models.Plan
    return P.select().where(P.archived_at.is_null()).order_by(P.name, P.id)


def check_quantity(plan, quantity):
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise DomainError(_("The quantity must be a whole number."), "quantity")
    if quantity < plan.min_quantity:
        raise DomainError(_("The quantity must be at least %(min)s.", min=plan.min_quantity),
                          "quantity")
    if plan.max_quantity is not None and quantity > plan.max_quantity:
        raise DomainError(_("The quantity can be at most %(max)s.", max=plan.max_quantity),
                          "quantity")
    return quantity


def subscribe(client, plan, *, quantity=1, start=None, contact=None, payment_method=None,
              staff=None):
    """A client's new subscription to `plan`, its first period (or trial) set.

    During a trial nothing is billed and the first period starts when the trial ends;
    otherwise the first period starts today and is billed now, the next at its end."""
    start = start or models.utcnow().date()
    if plan.archived_at is not None:
        raise DomainError(_("That plan is no longer offered."), "plan")
    if plan.currency != client.currency:
        raise DomainError(_("The plan is priced in %(plan)s, the client is billed in %(client)s.",
                            plan=plan.currency, client=client.currency), "plan")
    check_quantity(plan, quantity)
    trial_ends_on = start + dt.timedelta(days=plan.trial_days) if plan.trial_days else None
    period_start = trial_ends_on or start
    period_end = next_date(period_start, plan.frequency)
    with transaction():
        subscription = models.Subscription.create(
            client=client, contact=contact, plan=plan, started_at=start, quantity=quantity,
            unit_price=plan.price, trial_ends_on=trial_ends_on,
            current_period_start=start if trial_ends_on else period_start,
            current_period_end=trial_ends_on or period_end,
            next_billing_date=trial_ends_on or period_end, payment_method=payment_method)
        models.Activity.log("subscription.created", subscription, client=client.id,
                            contact=contact, staff=staff, detail=plan.name)
    return subscription


def link_invoice(subscription, invoice):
    """Record that `invoice` bills a period of `subscription` (it then lists the invoice)."""
    models.Invoice.update(subscription=subscription).where(
        models.Invoice.id == invoice.id).execute()


def for_client(client):
    """The client's subscriptions, live ones first, newest first, with their plans."""
    S, P = models.Subscription, models.Plan
    return (S.select(S, P).join(P).where(S.client == client)
            .order_by(S.status.not_in(("active", "past_due", "suspended")), S.started_at.desc(),
                      S.id.desc()))


def invoices_of(subscription, client):
    """The invoices `subscription` produced that the client may see."""
    Invoice = models.Invoice
    return Invoice.for_client(client).where(Invoice.subscription == subscription).order_by(
        Invoice.date.desc(), Invoice.id.desc())


# -- cancellation --------------------------------------------------------------------------

MAX_CANCEL_COMMENT = 1000
# Suspended (a renewal left unpaid, billing.renewals) is still the client's to cancel.
LIVE = ("active", "past_due", "suspended")


def can_cancel(subscription):
    """Whether the contact may ask to cancel now: the plan allows it, and the subscription
    is live and not already ending."""
    return (subscription.plan.cancellation != "not_allowed"
            and subscription.status in LIVE and not subscription.cancel_at_period_end)


def can_undo_cancellation(subscription, today=None):
    today = today or models.utcnow().date()
    return (subscription.status in LIVE and subscription.cancel_at_period_end
            and (subscription.ends_on is None or subscription.ends_on > today))


def check_cancellation(subscription, reason, comment, reasons, by_business=False):
    """The reason (one of the business's `reasons`) and comment, checked; DomainError naming
    what to fix. Nothing is changed. The business (by_business) may cancel any plan."""
    if not by_business and subscription.plan.cancellation == "not_allowed":
        raise DomainError(_("This subscription cannot be cancelled from the portal. Please "
                          "contact us to cancel it."), "subscription")
    if subscription.status == "paused":
        raise DomainError(_("This subscription is paused. Resume it first to cancel it."),
                          "subscription")
    if subscription.cancel_at_period_end or subscription.status not in LIVE:
        raise DomainError(_("This subscription is already cancelled."), "subscription")
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise DomainError(_("Choose a reason for cancelling."), "reason")
    if reason not in reasons:
        raise DomainError(_("Choose a reason from the list."), "reason")
    comment = validation.multi_line(comment, N_("Comment"), "comment", MAX_CANCEL_COMMENT)
    return reason, comment


def cancel(subscription, *, reason, comment="", reasons, contact=None, staff=None,
           now=None, when=None):
    """Cancel as the plan says: at the period's end (it keeps running until `ends_on`, and
    run-due ends it) or at once. Staff are e-mailed. Returns the subscription as changed.
    when: "immediately" or "at_period_end", the business's choice over the plan's policy
    (back office and API only).

    The UPDATE names the state it changes from, so a second request (another tab, a double
    submit) finds nothing to change and is refused rather than cancelling twice."""
    from billing import notifications
    if when not in (None, "immediately", "at_period_end"):
        raise DomainError("Choose when the subscription ends.", "when")
    reason, comment = check_cancellation(subscription, reason, comment, reasons,
                                         by_business=when is not None)
    now = now or models.utcnow()
    S = models.Subscription
    if (when or subscription.plan.cancellation) == "immediately":
        fields = {"status": "cancelled", "cancelled_at": now, "ends_on": now.date()}
        action = "subscription.cancelled"
    else:
        fields = {"cancel_at_period_end": True,
                  "ends_on": subscription.current_period_end or now.date()}
        action = "subscription.cancel_requested"
    with transaction():
        changed = S.update(**fields).where(
            (S.id == subscription.id) & S.status.in_(LIVE)
            & (S.cancel_at_period_end == False)).execute()  # noqa: E712  (SQL, not Python)
        if not changed:
            raise DomainError(_("This subscription is already cancelled."), "subscription")
        detail = f"{reason}: {comment}" if comment else reason
        models.Activity.log(action, subscription, client=subscription.client_id,
                            contact=contact, staff=staff, detail=detail[:2000])
        subscription = S.get_by_id(subscription.id)
        notifications.subscription_cancellation_email(subscription, reason, comment)
    return subscription


def undo_cancellation(subscription, *, contact=None, staff=None, today=None):
    """Keep a subscription whose cancellation waits for the period's end (before it ends)."""
    from billing import notifications
    today = today or models.utcnow().date()
    S = models.Subscription
    with transaction():
        changed = S.update(cancel_at_period_end=False, ends_on=None).where(
            (S.id == subscription.id) & S.status.in_(LIVE)
            & (S.cancel_at_period_end == True)  # noqa: E712
            & (S.ends_on.is_null() | (S.ends_on > today))).execute()
        if not changed:
            raise DomainError(_("This subscription has no cancellation to undo."), "subscription")
        models.Activity.log("subscription.cancel_undone", subscription,
                            client=subscription.client_id, contact=contact, staff=staff)
        subscription = S.get_by_id(subscription.id)
        notifications.subscription_cancellation_email(subscription, undone=True)
    return subscription


def end_due(today=None, now=None):
    """run-due: end each subscription whose cancellation took effect (ends_on reached).

    Each row is claimed by a conditional UPDATE, so overlapping ticks end it, and log it,
    once. Returns how many this tick ended."""
    now = now or models.utcnow()
    today = today or now.date()
    S = models.Subscription
    due = ((S.cancel_at_period_end == True) & S.status.in_(LIVE)  # noqa: E712
           & (S.ends_on <= today))
    ended = 0
    for row in S.select(S.id, S.client).where(due).order_by(S.id):
        with transaction():
            if S.update(status="cancelled", cancelled_at=now).where(
                    (S.id == row.id) & due).execute():
                models.Activity.log("subscription.ended", row, client=row.client_id)
                ended += 1
    return ended
