"""Staff back office for quotes and credits: lists, creation forms, quote actions.

Every action calls the same billing functions the portal and the API use.
"""
import datetime as dt
from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for

import models
import money
from billing import DomainError
from billing import credits as credit_service
from billing import quotes as quote_service
from views import Page, page_number, row_id, service_config, user_locale
from views.admin import current_staff, run_action, staff_required

bp = Blueprint("admin_quotes", __name__, url_prefix="/admin")

LINE_ROWS = 5
LINE_FIELDS = ("product", "description", "quantity", "unit_price", "tax_name", "tax_rate")


def _date(value, field):
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        label = field.replace("_", " ")
        raise DomainError(f"Enter the {label} date as YYYY-MM-DD.", field) from None


def _decimal(value, label, low, high, locale):
    number = money.parse_number((value or "").strip() or "0", locale)
    if number is None:
        raise DomainError(f"{label} must be a number.", "lines")
    if number < low or number > high:
        raise DomainError(f"{label} must be between {low} and {high}.", "lines")
    return number


def parse_document_form(form):
    """The fields shared by the quote and credit forms, as arguments for the services."""
    client = models.Client.get_or_none(
        (models.Client.id == row_id(form.get("client"))) & models.Client.archived_at.is_null())
    if client is None:
        raise DomainError("Choose a client.", "client")
    currency, locale = client.currency, user_locale()
    try:
        discount = money.parse(form.get("discount") or "0", currency, locale)
    except money.MoneyError as exc:
        raise DomainError(f"Discount: {exc}", "discount") from None
    lines = []
    columns = {name: form.getlist(name)[:50] for name in LINE_FIELDS}
    for i in range(len(columns["product"])):
        row = {name: (values[i] if i < len(values) else "").strip()[:500]
               for name, values in columns.items()}
        if not row["product"] and not row["unit_price"]:
            continue
        try:
            unit_cost = money.parse(row["unit_price"] or "0", currency, locale)
        except money.MoneyError as exc:
            raise DomainError(f"Line {i + 1}: {exc}", "lines") from None
        lines.append({
            "product": row["product"][:100], "description": row["description"],
            "quantity": _decimal(row["quantity"] or "1", f"Line {i + 1} quantity",
                                 Decimal("0.0001"), Decimal("1000000"), locale),
            "unit_cost": unit_cost, "tax_name": row["tax_name"][:50],
            "tax_rate": _decimal(row["tax_rate"], f"Line {i + 1} tax rate", 0, 100, locale)})
    if not lines:
        raise DomainError("Add at least one line with a product and a price.", "lines")
    return client, {"lines": lines, "discount": discount,
                    "notes": form.get("notes", "")[:5000].strip(),
                    "date": _date(form.get("date"), "date") or models.utcnow().date()}


def _clients():
    return list(models.Client.select().where(models.Client.archived_at.is_null())
                .order_by(models.Client.name))


def _rows(form):
    if form is None:
        return [{}] * LINE_ROWS
    columns = {name: form.getlist(name) for name in LINE_FIELDS}
    count = max(LINE_ROWS, len(columns["product"]))
    return [{name: (values[i] if i < len(values) else "") for name, values in columns.items()}
            for i in range(count)]


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


@bp.route("/quotes/new", methods=["GET", "POST"])
@staff_required
def new_quote():
    error = field = None
    if request.method == "POST":
        form = request.form
        try:
            client, fields = parse_document_form(form)
            quote = quote_service.create_quote(
                client, fields["lines"], date=fields["date"],
                valid_until=_date(form.get("valid_until"), "valid_until"),
                discount=fields["discount"], notes=fields["notes"],
                terms=form.get("terms", "")[:5000].strip(), staff=current_staff())
            if form.get("then") == "email":
                quote_service.email_quote(quote, service_config(), staff=current_staff())
            elif form.get("then") == "mark_sent":
                quote_service.mark_sent(quote, staff=current_staff())
        except DomainError as exc:
            error, field = exc.message, exc.field
        else:
            flash(f"Quote {quote.number} created.", "success")
            return redirect(url_for("admin_quotes.quotes"), 303)
    return render_template("admin/quote_form.html", clients=_clients(), error=error,
                           field=field, form=request.form if error else None,
                           rows=_rows(request.form if error else None)), 422 if error else 200


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


@bp.route("/credits/new", methods=["GET", "POST"])
@staff_required
def new_credit():
    error = field = None
    if request.method == "POST":
        form = request.form
        try:
            client, fields = parse_document_form(form)
            credit = credit_service.create_credit(
                client, fields["lines"], date=fields["date"], discount=fields["discount"],
                notes=fields["notes"], reason=form.get("reason", ""),
                status="draft" if form.get("draft") == "1" else "sent", staff=current_staff())
        except DomainError as exc:
            error, field = exc.message, exc.field
        else:
            flash(f"Credit {credit.number} created.", "success")
            return redirect(url_for("admin_quotes.credits"), 303)
    return render_template("admin/credit_form.html", clients=_clients(), error=error,
                           field=field, form=request.form if error else None,
                           rows=_rows(request.form if error else None),
                           reasons=credit_service.REASONS), 422 if error else 200
