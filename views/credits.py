"""Credits tab: every issued credit with what is left of it, one credit, its PDF.

Spending credit on an invoice happens in the payment screen (payments), not here.
"""
from flask import Blueprint, abort, current_app, request
from flask_login import current_user

import models
import pdf
from billing import credits as credit_service
from billing import documents, listing
from views.paging import Page, page_number
from views.tabs import portal_tab, render_tab

bp = Blueprint("credits", __name__, url_prefix="/client")

FILTERS = {"all": "All", "available": "Available", "applied": "Used up"}


def get_credit(public_id):
    """The only way a portal view reads one credit: scoped to the contact's client."""
    credit = models.Credit.for_client(current_user.client_id).where(
        models.Credit.public_id == public_id[:24]).first()
    if credit is None:
        abort(404)
    return credit


@bp.get("/credits")
@portal_tab("credits")
def index():
    status = request.args.get("status", "all")
    status = status if status in FILTERS else "all"
    page = Page(listing.credits(current_user.client_id, status),
                page_number(request.args.get("page")), current_app.config["PAGE_SIZE"])
    return render_tab("credits/list.html", page=page, status=status, filters=FILTERS,
                      available=credit_service.available_totals(current_user.client_id),
                      display_status=credit_service.display_status)


@bp.get("/credits/<public_id>")
@portal_tab("credits")
def show(public_id):
    credit = get_credit(public_id)
    lines = credit.ordered_lines()
    return render_tab("credits/show.html", credit=credit, lines=lines,
                      taxes=documents.tax_summary(lines),
                      status=credit_service.display_status(credit))


@bp.get("/credits/<public_id>/pdf")
@portal_tab("credits")
def download(public_id):
    credit = get_credit(public_id)
    data = pdf.document_pdf("pdf/credit.html", credit, "Credit note",
                            status=credit_service.display_status(credit))
    return pdf.send(data, f"credit-{credit.number}.pdf", inline=request.args.get("inline") == "1")
