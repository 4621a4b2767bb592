"""Subscriptions tab: the client's subscriptions and the invoices each produced; asking to
cancel one (a form, then a confirmation page) and taking that back; changing plan or quantity
(a form, then the prorated amount to confirm); pausing and resuming billing."""
from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

import models
import money
from billing import DomainError, listing, plan_changes
from billing import company_settings as settings
from billing import subscriptions as subscription_service
from billing.schedule import FREQUENCIES
from i18n import gettext as _
from views.checkout import acting
from views.current import company, service_config, user_locale
from views.ids import valid_public_id
from views.paging import Page, page_number
from views.tabs import portal_tab, render_tab

bp = Blueprint("subscriptions", __name__, url_prefix="/client")


@bp.get("/subscriptions")
@portal_tab("subscriptions")
def index():
    page = Page(listing.subscriptions(current_user.client_id),
                page_number(request.args.get("page")), current_app.config["PAGE_SIZE"])
    return render_tab("subscriptions/list.html", page=page, frequencies=FREQUENCIES,
                      today=models.utcnow().date())


def get_subscription(public_id):
    """The contact's client's subscription; a malformed or foreign id is not found."""
    S = models.Subscription
    subscription = subscription_service.for_client(current_user.client_id).where(
        S.public_id == public_id).first() if valid_public_id(public_id) else None
    if subscription is None:
        abort(404)
    return subscription


@bp.get("/subscriptions/<public_id>")
@portal_tab("subscriptions")
def show(public_id):
    return show_page(get_subscription(public_id))


def show_page(subscription, error=None, status=200):
    produced = subscription_service.invoices_of(subscription, current_user.client_id)
    total = produced.count()
    page = Page(produced, page_number(request.args.get("page")),
                current_app.config["PAGE_SIZE"], total)
    today = models.utcnow().date()
    return render_tab("subscriptions/show.html", status, subscription=subscription,
                      page=page, frequencies=FREQUENCIES,
                      cancellation=subscription_service.CANCELLATION_LABELS, today=today,
                      error=error, can_cancel=subscription_service.can_cancel(subscription),
                      can_undo=subscription_service.can_undo_cancellation(subscription,
                                                                          today),
                      can_change=plan_changes.can_change(subscription),
                      can_pause=plan_changes.can_pause(subscription),
                      can_resume=plan_changes.can_resume(subscription))


@bp.route("/subscriptions/<public_id>/cancel", methods=["GET", "POST"])
@portal_tab("subscriptions")
def cancel(public_id):
    """GET: the form (a reason and a comment). POST: the confirmation page, which posts
    again with confirmed=1 to cancel. A refusal by the plan shows the subscription's page."""
    subscription = get_subscription(public_id)
    reasons = settings.cancellation_reasons(company())
    form = request.form
    reason, comment = form.get("reason", "")[:200], form.get("comment", "")[:5000]
    try:
        if request.method == "GET":
            if not subscription_service.can_cancel(subscription):
                subscription_service.check_cancellation(subscription, "", "", reasons)
            return cancel_page(subscription, reasons)
        if form.get("confirmed") != "1":
            reason, comment = subscription_service.check_cancellation(
                subscription, reason, comment, reasons)
            return render_tab("subscriptions/cancel_confirm.html", subscription=subscription,
                              reason=reason, comment=comment,
                              reason_labels=reason_labels(reasons))
        subscription = subscription_service.cancel(
            subscription, reason=reason, comment=comment, reasons=reasons, **acting())
    except DomainError as exc:
        if exc.field in ("reason", "comment"):
            return cancel_page(subscription, reasons, exc, 422)
        return show_page(subscription, exc, 422)
    if subscription.cancel_at_period_end:
        flash(_("Your subscription is cancelled. It stays active until the end of the paid "
                "period, and you can undo the cancellation until then."), "success")
    else:
        flash(_("Your subscription is cancelled."), "success")
    return redirect(url_for("subscriptions.show", public_id=subscription.public_id), 303)


def cancel_page(subscription, reasons, error=None, status=200):
    return render_tab("subscriptions/cancel.html", status, subscription=subscription,
                      reasons=reasons, error=error, reason_labels=reason_labels(reasons),
                      max_comment=subscription_service.MAX_CANCEL_COMMENT)


def reason_labels(reasons):
    """Each reason as the contact reads it: the default reasons translated, the business's
    own as typed. Translated here, not in the template: Jinja's _() reads "%" in a typed
    reason as a placeholder."""
    return {reason: _(reason) for reason in reasons}


@bp.post("/subscriptions/<public_id>/undo")
@portal_tab("subscriptions")
def undo(public_id):
    subscription = get_subscription(public_id)
    try:
        subscription_service.undo_cancellation(subscription, **acting())
    except DomainError as exc:
        return show_page(subscription, exc, 422)
    flash(_("Your subscription continues: the cancellation was withdrawn."), "success")
    return redirect(url_for("subscriptions.show", public_id=subscription.public_id), 303)


# -- plan changes --------------------------------------------------------------------------

@bp.route("/subscriptions/<public_id>/change", methods=["GET", "POST"])
@portal_tab("subscriptions")
def change(public_id):
    """GET: the plans of the group and a quantity. POST: the prorated amount to confirm,
    which posts again with confirmed=1 and the amount shown (refused if it moved)."""
    subscription = get_subscription(public_id)
    form = request.form
    try:
        if request.method == "GET":
            if not plan_changes.can_change(subscription):
                plan_changes.check_change(subscription, subscription.plan,
                                          subscription.quantity)
            return change_page(subscription)
        plan, quantity = plan_changes.read_choice(form.get("plan"), form.get("quantity"))
        if form.get("confirmed") != "1":
            proration = plan_changes.preview(subscription, plan, quantity)
            return render_tab("subscriptions/change_confirm.html", subscription=subscription,
                              new_plan=plan, quantity=quantity, proration=proration,
                              method=autobill_method(subscription))
        done = plan_changes.change(
            subscription, plan, quantity, config=service_config(),
            expected_difference=plan_changes.confirmed_difference(
                form.get("expected_difference")),
            **acting())
    except DomainError as exc:
        if exc.field in ("plan", "quantity", "confirmation"):
            return change_page(subscription, exc, 422)
        return show_page(subscription, exc, 422)
    return changed(done)


def autobill_method(subscription):
    from billing import autobill
    return autobill.default_method(subscription.client_id)


def change_page(subscription, error=None, status=200):
    return render_tab("subscriptions/change.html", status, subscription=subscription,
                      options=plan_changes.options(subscription), error=error,
                      frequencies=FREQUENCIES)


def changed(done):
    """Where a confirmed change lands: an invoice still to pay opens with its Pay button."""
    amount = money.format_money(abs(done.proration.difference), done.proration.currency,
                                user_locale())
    sub = done.subscription
    if done.credit is not None:
        flash(_("Your subscription is changed. A credit of %(amount)s for the rest of this "
                "period was added to your account.", amount=amount), "success")
    elif done.invoice is not None and done.invoice.balance == 0:
        flash(_("Your subscription is changed. %(amount)s for the rest of this period was "
                "charged to your saved payment method.", amount=amount), "success")
    elif done.invoice is not None:
        flash(_("Your subscription is changed. Invoice %(number)s for %(amount)s covers the "
                "rest of this period; you can pay it now.", number=done.invoice.number,
                amount=amount), "success")
        return redirect(url_for("invoices.show", public_id=done.invoice.public_id), 303)
    else:
        flash(_("Your subscription is changed. There is nothing to pay for the rest of this "
                "period."), "success")
    return redirect(url_for("subscriptions.show", public_id=sub.public_id), 303)


@bp.post("/subscriptions/<public_id>/pause")
@portal_tab("subscriptions")
def pause(public_id):
    return _pause_or_resume(public_id, "pause")


@bp.post("/subscriptions/<public_id>/resume")
@portal_tab("subscriptions")
def resume(public_id):
    return _pause_or_resume(public_id, "resume")


def _pause_or_resume(public_id, action):
    """The first POST shows what it means (the no-JavaScript confirmation); the second,
    with confirmed=1, does it."""
    subscription = get_subscription(public_id)
    try:
        if request.form.get("confirmed") != "1":
            if action == "pause":
                plan_changes.check_pause(subscription)
            else:
                plan_changes.check_resume(subscription)
            return render_tab("subscriptions/pause_confirm.html", subscription=subscription,
                              action=action)
        if action == "pause":
            plan_changes.pause(subscription, **acting())
        else:
            plan_changes.resume(subscription, **acting())
    except DomainError as exc:
        return show_page(subscription, exc, 422)
    flash(_("Billing is paused. Nothing is billed until you resume it.") if action == "pause"
          else _("Billing is resumed. The days left in your paid period were kept."), "success")
    return redirect(url_for("subscriptions.show", public_id=subscription.public_id), 303)
