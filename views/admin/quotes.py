"""Staff back office for quotes and credits: lists and quote actions (the forms are the
shared document editor's, views/admin/editor.py).

Every action calls the same billing functions the portal and the API use.
"""
from flask import Blueprint

import models
from billing import quotes as quote_service
from views.admin import run_action, staff_required
from views.admin.lists import list_page
from views.current import service_config

bp = Blueprint("admin_quotes", __name__, url_prefix="/admin")


@bp.get("/quotes")
@staff_required
def quotes():
    return list_page("quotes", "admin/quotes.html", today=models.utcnow().date())


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
    return list_page("credits", "admin/credits.html")
