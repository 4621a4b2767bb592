"""Payments tab: every payment recorded for the client, one payment, its receipt PDF."""
from flask import Blueprint, abort, current_app, request
from flask_login import current_user
from peewee import JOIN

import models
import pdf
from billing import listing
from views.paging import Page, page_number, search_text
from views.tabs import portal_tab, render_tab

bp = Blueprint("payments", __name__, url_prefix="/client")

SHOWN = listing.PAYMENTS_SHOWN


def get_payment(public_id):
    payment = models.Payment.for_client(current_user.client_id).where(
        (models.Payment.public_id == public_id[:24]) & models.Payment.status.in_(SHOWN)).first()
    if payment is None:
        abort(404)
    return payment


def allocations_for(payments):
    """{payment id: [allocation with its invoice and credit]} in one query."""
    ids = [p.id for p in payments]
    if not ids:
        return {}
    A, Inv, C = models.PaymentAllocation, models.Invoice, models.Credit
    rows = (A.select(A, Inv, C).join(Inv, JOIN.LEFT_OUTER, on=(A.invoice == Inv.id))
            .switch(A).join(C, JOIN.LEFT_OUTER, on=(A.credit == C.id))
            .where(A.payment.in_(ids)).order_by(A.id))
    result = {}
    for row in rows:
        result.setdefault(row.payment_id, []).append(row)
    return result


@bp.get("/payments")
@portal_tab("payments")
def index():
    search = search_text()
    page = Page(listing.payments(current_user.client_id, search),
                page_number(request.args.get("page")), current_app.config["PAGE_SIZE"])
    return render_tab("payments/list.html", page=page, q=search,
                      allocations=listing.allocations_of(row.id for row in page.items))


@bp.get("/payments/<public_id>")
@portal_tab("payments")
def show(public_id):
    payment = get_payment(public_id)
    return render_tab("payments/show.html", payment=payment,
                      allocations=allocations_for([payment]).get(payment.id, []))


@bp.get("/payments/<public_id>/pdf")
@portal_tab("payments")
def receipt(public_id):
    payment = get_payment(public_id)
    return pdf.send(receipt_pdf(payment), f"receipt-{payment.number or payment.public_id}.pdf",
                    inline=request.args.get("inline") == "1")


def receipt_pdf(payment):
    return pdf.receipt_pdf(payment)
