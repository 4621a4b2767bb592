"""Quotes tab: list, one quote, its PDF, approve (one or several) and decline."""
from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

import models
import pdf
from billing import DomainError, documents, listing
from billing import quotes as quote_service
from views.current import acting_staff, company, service_config
from views.paging import Page, page_number, search_text
from views.tabs import portal_tab, render_tab, tab_enabled

bp = Blueprint("quotes", __name__, url_prefix="/client")

FILTERS = {"all": "All", "sent": "Awaiting approval", "approved": "Approved",
           "declined": "Declined", "expired": "Expired"}
MAX_BULK = 50


def payment_screen(invoices):
    """Where an approval lands: paying the new invoices, or viewing them when payments are off."""
    if not tab_enabled("payments"):
        return url_for("invoices.show", public_id=invoices[0].public_id)
    return url_for("checkout.pay", invoices=[i.public_id for i in invoices])


def get_quote(public_id):
    """The only way a portal view reads one quote: scoped to the contact's client."""
    quote = models.Quote.for_client(current_user.client_id).where(
        models.Quote.public_id == public_id[:24]).first()
    if quote is None:
        abort(404)
    return quote


@bp.get("/quotes")
@portal_tab("quotes")
def index():
    status = request.args.get("status", "all")
    status = status if status in FILTERS else "all"
    today = models.utcnow().date()
    search = search_text()
    page = Page(listing.quotes(current_user.client_id, status, today, search),
                page_number(request.args.get("page")), current_app.config["PAGE_SIZE"])
    return render_tab("quotes/list.html", page=page, status=status, filters=FILTERS,
                      today=today, q=search)


def _show(quote, error=None, field=None, status_code=200):
    lines = quote.ordered_lines()
    approvable = True
    try:
        quote_service.check_approvable(quote)
    except DomainError:
        approvable = False
    return render_tab("quotes/show.html", status_code, quote=quote, lines=lines,
                      taxes=documents.tax_summary(lines), today=models.utcnow().date(),
                      approvable=approvable, error=error, field=field,
                      terms_accepted=quote_service.terms_accepted(quote))


@bp.get("/quotes/<public_id>")
@portal_tab("quotes")
def show(public_id):
    quote = get_quote(public_id)
    quote_service.mark_viewed(quote, current_user)
    return _show(quote)


@bp.get("/quotes/<public_id>/pdf")
@portal_tab("quotes")
def download(public_id):
    quote = get_quote(public_id)
    return pdf.send(pdf.quote_pdf(quote), f"quote-{quote.number}.pdf",
                    inline=request.args.get("inline") == "1")


def _acting():
    """(contact, staff) for an approval: staff opening the portal as the contact approve as
    staff do (on the client's behalf, recorded as theirs), never as the contact."""
    staff = acting_staff()
    return (None if staff else current_user._get_current_object()), staff


def _approval_input():
    form = request.form
    return {"ip": request.remote_addr or "", "signature": form.get("signature", ""),
            "accepted_terms": form.get("accept_terms") == "1",
            "po_number": form.get("po_number", "")[:200]}


@bp.post("/quotes/<public_id>/approve")
@portal_tab("quotes")
def approve(public_id):
    quote = get_quote(public_id)
    try:
        contact, staff = _acting()
        invoice = quote_service.approve(contact, quote, config=service_config(), staff=staff,
                                        **_approval_input())
    except DomainError as exc:
        return _show(models.Quote.get_by_id(quote.id), exc.message, exc.field, 422)
    flash(_("Quote %(quote)s approved: invoice %(invoice)s is ready to pay.",
            quote=quote.number, invoice=invoice.number), "success")
    return redirect(payment_screen([invoice]), 303)


@bp.post("/quotes/<public_id>/decline")
@portal_tab("quotes")
def decline(public_id):
    quote = get_quote(public_id)
    try:
        quote_service.decline(current_user._get_current_object(), quote,
                              request.form.get("reason", "")[:2000],
                              request.remote_addr or "", config=service_config(),
                              staff=acting_staff())
    except DomainError as exc:
        return _show(models.Quote.get_by_id(quote.id), exc.message, exc.field, 422)
    flash(_("Quote %(number)s declined. %(company)s has been told.", number=quote.number,
            company=company().name), "success")
    return redirect(url_for("quotes.show", public_id=quote.public_id), 303)


def _selected(ids):
    ids = [i[:24] for i in ids[:MAX_BULK] if i]
    if not ids:
        return []
    Q = models.Quote
    found = list(Q.for_client(current_user.client_id).where(Q.public_id.in_(ids))
                 .order_by(Q.date.desc(), Q.id.desc()))
    if len(found) != len(set(ids)):
        abort(404)
    return found


def _bulk_page(quotes, error=None, field=None, status_code=200):
    totals = {}
    for quote in quotes:
        totals[quote.currency] = totals.get(quote.currency, 0) + quote.total
    return render_tab("quotes/approve.html", status_code, quotes=quotes,
                      totals=sorted(totals.items()), error=error, field=field,
                      today=models.utcnow().date())


@bp.get("/quotes/approve")
@portal_tab("quotes")
def approve_selected_confirm():
    quotes = _selected(request.args.getlist("id"))
    if not quotes:
        flash(_("Select the quotes you want to approve."), "error")
        return redirect(url_for("quotes.index"), 303)
    return _bulk_page(quotes)


@bp.post("/quotes/approve")
@portal_tab("quotes")
def approve_selected():
    quotes = _selected(request.form.getlist("id"))
    if not quotes:
        flash(_("Select the quotes you want to approve."), "error")
        return redirect(url_for("quotes.index"), 303)
    try:
        contact, staff = _acting()
        invoices, _skipped = quote_service.approve_many(contact, quotes, config=service_config(),
                                                 staff=staff, **_approval_input())
    except DomainError as exc:
        return _bulk_page(quotes, exc.message, exc.field, 422)
    numbers = ", ".join(i.number for i in invoices)
    flash(ngettext("Quote approved: invoice %(numbers)s is ready to pay.",
                   "%(num)d quotes approved: invoices %(numbers)s are ready to pay.",
                   len(invoices), numbers=numbers), "success")
    return redirect(payment_screen(invoices), 303)
