"""Subscriptions tab: the client's subscriptions and the invoices each produced; asking to
cancel one (a form, then a confirmation page) and taking that back."""
from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

import models
from billing import DomainError, listing
from billing import company_settings as settings
from billing import subscriptions as subscription_service
from billing.schedule import FREQUENCIES
from views.checkout import acting
from views.current import company
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
                                                                          today))


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
                              reason=reason, comment=comment)
        subscription = subscription_service.cancel(
            subscription, reason=reason, comment=comment, reasons=reasons, **acting())
    except DomainError as exc:
        if exc.field in ("reason", "comment"):
            return cancel_page(subscription, reasons, exc, 422)
        return show_page(subscription, exc, 422)
    if subscription.cancel_at_period_end:
        flash("Your subscription is cancelled. It stays active until the end of the paid "
              "period, and you can undo the cancellation until then.", "success")
    else:
        flash("Your subscription is cancelled.", "success")
    return redirect(url_for("subscriptions.show", public_id=subscription.public_id), 303)


def cancel_page(subscription, reasons, error=None, status=200):
    return render_tab("subscriptions/cancel.html", status, subscription=subscription,
                      reasons=reasons, error=error,
                      max_comment=subscription_service.MAX_CANCEL_COMMENT)


@bp.post("/subscriptions/<public_id>/undo")
@portal_tab("subscriptions")
def undo(public_id):
    subscription = get_subscription(public_id)
    try:
        subscription_service.undo_cancellation(subscription, **acting())
    except DomainError as exc:
        return show_page(subscription, exc, 422)
    flash("Your subscription continues: the cancellation was withdrawn.", "success")
    return redirect(url_for("subscriptions.show", public_id=subscription.public_id), 303)
