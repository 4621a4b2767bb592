"""Staff back office for quotes and credits: lists and quote actions (the forms are the
shared document editor's, views/admin/editor.py).

Every action calls the same billing functions the portal and the API use.
"""
from flask import Blueprint, render_template, request

import models
from billing import quotes as quote_service
from views import Page, page_number, service_config
from views.admin import run_action, staff_required

bp = Blueprint("admin_quotes", __name__, url_prefix="/admin")


@bp.get("/quotes")
@staff_required
def quotes():
    Q = models.Quote
    query = Q.select(Q, models.Client).join(models.Client).where(Q.archived_at.is_null())
    status = request.args.get("status", "")
    if status in Q.STATUSES:
        query = query.where(Q.status == status)
    total = query.count()
    query = query.order_by(Q.date.desc(), Q.id.desc())
    page = Page(query, page_number(request.args.get("page")), 50, total)
    return render_template("admin/quotes.html", page=page, status=status,
                           statuses=Q.STATUSES, today=models.utcnow().date())


ACTIONS = {
    "email": (lambda q, staff: quote_service.email_quote(q, service_config(), staff=staff),
              "Quote {} e-mailed to the client's contacts."),
    "mark_sent": (lambda q, staff: quote_service.mark_sent(q, staff=staff),
                  "Quote {} marked sent."),
    "approve": (lambda q, staff: quote_service.approve(None, q, config=service_config(),
                                                       staff=staff),
                "Quote {} approved and converted to an invoice."),
    "convert": (lambda q, staff: quote_service.convert(q, staff=staff),
                "Quote {} converted to an invoice."),
}


@bp.post("/quotes/<int:quote_id>/<action>")
@staff_required
def quote_action(quote_id, action):
    return run_action(models.Quote, quote_id, action, ACTIONS, "admin_quotes.quotes")


@bp.get("/credits")
@staff_required
def credits():
    C = models.Credit
    query = C.select(C, models.Client).join(models.Client).where(C.archived_at.is_null())
    total = query.count()
    query = query.order_by(C.date.desc(), C.id.desc())
    page = Page(query, page_number(request.args.get("page")), 50, total)
    return render_template("admin/credits.html", page=page)
