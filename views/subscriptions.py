"""Subscriptions tab: the client's subscriptions and the invoices each produced."""
from flask import Blueprint, abort, current_app, request
from flask_login import current_user

import models
from billing import subscriptions as subscription_service
from billing.schedule import FREQUENCIES
from views.ids import valid_public_id
from views.paging import Page, page_number
from views.tabs import portal_tab, render_tab

bp = Blueprint("subscriptions", __name__, url_prefix="/client")


@bp.get("/subscriptions")
@portal_tab("subscriptions")
def index():
    query = subscription_service.for_client(current_user.client_id)
    total = query.count()
    page = Page(query, page_number(request.args.get("page")),
                current_app.config["PAGE_SIZE"], total)
    return render_tab("subscriptions/list.html", page=page, frequencies=FREQUENCIES,
                      today=models.utcnow().date())


@bp.get("/subscriptions/<public_id>")
@portal_tab("subscriptions")
def show(public_id):
    S = models.Subscription
    subscription = subscription_service.for_client(current_user.client_id).where(
        S.public_id == public_id).first() if valid_public_id(public_id) else None
    if subscription is None:
        abort(404)
    produced = subscription_service.invoices_of(subscription, current_user.client_id)
    total = produced.count()
    page = Page(produced, page_number(request.args.get("page")),
                current_app.config["PAGE_SIZE"], total)
    return render_tab("subscriptions/show.html", subscription=subscription, page=page,
                      frequencies=FREQUENCIES,
                      cancellation=subscription_service.CANCELLATION_LABELS,
                      today=models.utcnow().date())
