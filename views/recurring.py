"""Recurring Invoices tab: the client's schedules and the invoices each produced."""
from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

import models
from billing import DomainError, autobill, documents, listing
from billing.schedule import FREQUENCIES
from views.current import acting_staff
from views.paging import Page, page_number
from views.tabs import portal_tab, render_tab

bp = Blueprint("recurring", __name__, url_prefix="/client")


def visible_recurring():
    R = models.RecurringInvoice
    return R.select().where((R.client == current_user.client_id) & (R.status != "draft"))


@bp.get("/recurring_invoices")
@portal_tab("recurring_invoices")
def index():
    page = Page(listing.recurring(current_user.client_id), page_number(request.args.get("page")),
                current_app.config["PAGE_SIZE"])
    return render_tab("recurring/list.html", page=page, frequencies=FREQUENCIES)


def get_recurring(public_id):
    R = models.RecurringInvoice
    recurring = visible_recurring().where(R.public_id == public_id[:24]).first()
    if recurring is None:
        abort(404)
    return recurring


@bp.get("/recurring_invoices/<public_id>")
@portal_tab("recurring_invoices")
def show(public_id):
    recurring = get_recurring(public_id)
    lines = recurring.ordered_lines()
    choosable = recurring.auto_bill_mode in autobill.CHOOSABLE
    auto_billed = autobill.applies(recurring)
    Invoice = models.Invoice
    produced = Invoice.for_client(current_user.client_id).where(Invoice.recurring == recurring)
    total = produced.count()
    produced = produced.order_by(Invoice.date.desc(), Invoice.id.desc())
    page = Page(produced, page_number(request.args.get("page")),
                current_app.config["PAGE_SIZE"], total)
    return render_tab("recurring/show.html", recurring=recurring, lines=lines,
                      taxes=documents.tax_summary(lines), page=page, frequencies=FREQUENCIES,
                      today=models.utcnow().date(),
                      choosable=choosable, auto_billed=auto_billed,
                      # asked only where the contact decides: it costs a query or two
                      has_method=choosable and auto_billed
                      and autobill.default_method(current_user.client_id) is not None)


@bp.post("/recurring_invoices/<public_id>/auto_bill")
@portal_tab("recurring_invoices")
def auto_bill(public_id):
    """The contact turns automatic payment of this schedule's invoices on or off."""
    recurring = get_recurring(public_id)
    wants = request.form.get("auto_bill")
    if wants not in ("on", "off"):
        abort(400)
    staff = acting_staff()
    try:
        autobill.set_choice(recurring, wants == "on", staff=staff,
                            contact=None if staff else current_user.id)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Automatic payment is on: each new invoice from this schedule is charged to "
                "your default payment method.") if wants == "on" else
              _("Automatic payment is off: pay each new invoice from this schedule yourself."),
              "success")
    return redirect(url_for("recurring.show", public_id=recurring.public_id), 303)
