"""Invoices tab: list (sort, filter, search, pages), one invoice, its PDF."""
from flask import Blueprint, abort, current_app, request
from flask_login import current_user

import models
import pdf
from billing import documents, listing
from views.ids import valid_public_id
from views.paging import Page, page_number, search_text
from views.tabs import portal_tab, render_tab

bp = Blueprint("invoices", __name__, url_prefix="/client")

SORTS = {"date": "date", "due_date": "due_date", "number": "number", "total": "total",
         "balance": "balance", "status": "status"}
FILTER_LABELS = (("all", "All"), ("unpaid", "Unpaid"), ("overdue", "Overdue"), ("paid", "Paid"))
FILTERS = tuple(value for value, _ in FILTER_LABELS)
SORT_LABELS = (("-date", "Newest first"), ("date", "Oldest first"),
               ("due_date", "Due soonest"), ("-due_date", "Due latest"),
               ("-total", "Largest amount"), ("total", "Smallest amount"),
               ("-balance", "Largest balance"), ("balance", "Smallest balance"),
               ("number", "Number, A to Z"), ("-number", "Number, Z to A"),
               ("status", "Status, A to Z"), ("-status", "Status, Z to A"))


def get_invoice(public_id):
    """The only way a portal view reads one invoice: scoped to the contact's client."""
    if not valid_public_id(public_id):
        abort(404)
    invoice = models.Invoice.for_client(current_user.client_id).where(
        models.Invoice.public_id == public_id).first()
    if invoice is None:
        abort(404)
    return invoice


@bp.get("/invoices")
@portal_tab("invoices")
def index():
    args = request.args
    status = args.get("status", "all")
    status = status if status in FILTERS else "all"
    search = search_text()
    sort, descending = listing.parse_sort(args.get("sort", "-date"), SORTS, "-date")
    today = models.utcnow().date()
    rows = listing.invoices(current_user.client_id, status=status, search=search,
                            sort=SORTS[sort], descending=descending, today=today,
                            listed=current_user.client.listed_invoices)
    page = Page(rows, page_number(args.get("page")), current_app.config["PAGE_SIZE"])
    return render_tab("invoices/list.html", page=page, status=status, q=search,
                      sort=("-" if descending else "") + sort, today=today,
                      any_payable=any(row.is_payable for row in page.items),
                      statuses=FILTER_LABELS, sorts=SORT_LABELS)


@bp.get("/invoices/<public_id>")
@portal_tab("invoices")
def show(public_id):
    invoice = get_invoice(public_id)
    lines = invoice.ordered_lines()
    return render_tab("invoices/show.html", invoice=invoice, lines=lines,
                      taxes=documents.tax_summary(lines), today=models.utcnow().date())


@bp.get("/invoices/<public_id>/pdf")
@portal_tab("invoices")
def download(public_id):
    invoice = get_invoice(public_id)
    return pdf.send(pdf.invoice_pdf(invoice), f"invoice-{invoice.number}.pdf",
                    inline=request.args.get("inline") == "1")
