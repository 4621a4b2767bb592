"""One staff editor for invoices, quotes, credits and recurring invoices.

New, edit, live totals, PDF preview and lifecycle actions are the same routes for every kind
(views/admin/kinds.py says what differs). The view parses, calls billing, renders; the add /
remove line buttons and "Update totals" are plain submit buttons, so everything works without
JavaScript, and htmx swaps the form (or only the totals) when it is there.
"""
from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

import models
import pdf
from billing import DomainError, autobill, documents
from views.admin import current_staff, run_action, staff_required
from views.admin import editor_form as parse
from views.admin.kinds import (
    CREDIT_ACTIONS,
    FREQUENCY_CHOICES,
    KINDS,
    REASONS,
    RECURRING_ACTIONS,
    available_actions,
)
from views.admin.lists import list_page
from views.current import user_locale
from views.tabs import wants_fragment

bp = Blueprint("admin_editor", __name__, url_prefix="/admin")

# Buttons that ask for the form again (with a row more or less, or fresh totals), not a save.
REDRAW = ("add_line", "remove_line", "recalculate")


def _kind(key):
    return KINDS[key]


def _record(kind, record_id):
    record = kind.model.get_or_none(kind.model.id == record_id)
    if record is None:
        abort(404)
    return record


def _clients():
    return list(models.Client.select().where(models.Client.archived_at.is_null())
                .order_by(models.Client.name))


def _currency(kind, record, form):
    if record is not None:
        return record.currency
    try:
        return parse.client(form.get("client")).currency
    except DomainError:
        company = models.Company.current()
        return company.currency if company else "USD"


def totals_for(rows, currency, discount_text, locale):
    """The live totals box: billing.documents' own arithmetic, or why it cannot add up."""
    try:
        lines = parse.lines_from_rows(rows, currency, locale)
        discount = parse.amount({"discount": discount_text}, "discount", "Discount", currency,
                                locale)
        priced, subtotal, tax_total, total = documents.preview(lines, discount)
    except DomainError as exc:
        return {"error": exc.message, "currency": currency}
    return {"subtotal": subtotal, "discount": discount, "tax_total": tax_total, "total": total,
            "taxes": documents.tax_summary(priced), "currency": currency, "error": None}


def render_editor(kind, record, values, rows, error=None, field=None, status=200):
    locale = user_locale()
    currency = _currency(kind, record, values)
    context = dict(
        kind=kind, record=record, values=values, rows=rows, error=error, field=field,
        clients=_clients() if record is None else None, currency=currency,
        totals=totals_for(rows, currency, values.get("discount", ""), locale),
        products=list(models.Product.active()), frequencies=FREQUENCY_CHOICES, reasons=REASONS,
        auto_bill_modes=list(autobill.MODES.items()), action=request.path)
    template = "admin/_editor_form.html" if wants_fragment() else "admin/editor.html"
    response = make_response(render_template(template, **context), status)
    response.headers["Vary"] = "HX-Request"
    return response


def _saved(kind, record, message):
    if message:
        flash(message, "success")
    target = document_url(kind.key, record.id)
    if request.headers.get("HX-Request"):
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)


def editor(kind_key, record_id=None):
    kind = _kind(kind_key)
    record = _record(kind, record_id) if record_id is not None else None
    locale = user_locale()
    if record is not None and not kind.editable(record) and request.method == "GET":
        flash(f"{kind.title} {record.number} is {record.status}: it can no longer be changed.",
              "error")
        return redirect(document_url(kind.key, record.id))
    if request.method == "GET":
        if record is None:
            values = {"client": request.args.get("client", "")}
            return render_editor(kind, None, values, [parse.blank_row()
                                                      for _ in range(parse.MIN_ROWS)])
        return render_editor(kind, record, kind.values(record, locale),
                             parse.rows_from_record(record, locale))
    form = request.form
    values = {key: form.get(key, "") for key in form if key not in parse.LINE_FIELDS}
    if record is not None:
        values["client"] = str(record.client_id)
    currency = _currency(kind, record, values)
    rows = parse.fill_rows(parse.rows_from_form(form), currency, locale)
    if any(name in form for name in REDRAW):
        return render_editor(kind, record, values, rows)
    try:
        lines = parse.lines_from_rows(rows, currency, locale)
        fields = kind.header(form, currency, locale)
        if record is None:
            client = parse.client(form.get("client"))
            record = kind.create(client, lines, fields, form, current_staff())
        else:
            record = kind.update(record, fields, lines, current_staff())
    except DomainError as exc:
        return render_editor(kind, None if record_id is None else record, values, rows,
                             exc.message, exc.field, 422)
    message = f"{kind.title} {record.number} {'saved' if record_id else 'created'}."
    then = form.get("then", "")
    if record_id is None and then in ("mark_sent", "email") and kind.then:
        # A separate step: if it is refused, the document stays saved and the page says why.
        try:
            kind.then(then)(record, current_staff())
        except DomainError as exc:
            flash(f"{message} {exc.message}", "error")
            return _saved(kind, record, None)
        message = f"{kind.title} {record.number} created and " + (
            "e-mailed to the client's contacts." if then == "email" else "marked sent.")
    return _saved(kind, record, message)


for _key in KINDS:
    bp.add_url_rule(f"/{_key}/new", f"new_{_key}", staff_required(
        lambda _k=_key: editor(_k)), methods=["GET", "POST"])
    bp.add_url_rule(f"/{_key}/<int:record_id>/edit", f"edit_{_key}", staff_required(
        lambda record_id, _k=_key: editor(_k, record_id)), methods=["GET", "POST"])
    bp.add_url_rule(f"/{_key}/totals", f"totals_{_key}", staff_required(
        lambda _k=_key: live_totals(_k)), methods=["POST"])
    bp.add_url_rule(f"/{_key}/<int:record_id>", f"show_{_key}", staff_required(
        lambda record_id, _k=_key: show(_k, record_id)))
    bp.add_url_rule(f"/{_key}/<int:record_id>/pdf", f"pdf_{_key}", staff_required(
        lambda record_id, _k=_key: preview_pdf(_k, record_id)))


def live_totals(kind_key):
    kind = _kind(kind_key)
    form = request.form
    currency = _currency(kind, None, form)
    record_id = form.get("record", "")
    if record_id.isdigit() and len(record_id) < 19:
        record = kind.model.get_or_none(kind.model.id == int(record_id))
        currency = record.currency if record else currency
    locale = user_locale()
    rows = parse.fill_rows(parse.rows_from_form(form), currency, locale)
    return render_template("admin/_editor_totals.html",
                           totals=totals_for(rows, currency, form.get("discount", ""), locale))


def show(kind_key, record_id):
    kind = _kind(kind_key)
    record = _record(kind, record_id)
    lines = record.ordered_lines()
    return render_template("admin/document.html", kind=kind, record=record, lines=lines,
                           taxes=documents.tax_summary(lines),
                           actions=available_actions(kind, record),
                           frequencies=dict(FREQUENCY_CHOICES), reasons=REASONS)


# Links to a document page of any kind: document_url("quotes", 7) or (..., what="edit").
@bp.app_template_global()
def document_url(kind, record_id, what="show"):
    return url_for(f"admin_editor.{what}_{kind}", record_id=record_id)


def preview_pdf(kind_key, record_id):
    """The saved document's PDF, inline, rendered by the portal's own pdf.py code."""
    kind = _kind(kind_key)
    record = _record(kind, record_id)
    data = pdf.document_pdf(kind.pdf_template, record, kind.title if kind.key != "credits"
                            else "Credit note")
    return pdf.send(data, f"{kind.noun.replace(' ', '-')}-{record.number}.pdf", inline=True)


@bp.post("/credits/<int:record_id>/<action>")
@staff_required
def credit_action(record_id, action):
    return _action("credits", record_id, action)


@bp.post("/recurring_invoices/<int:record_id>/<action>")
@staff_required
def recurring_action(record_id, action):
    return _action("recurring_invoices", record_id, action)


def _action(kind_key, record_id, action):
    kind = _kind(kind_key)
    actions = CREDIT_ACTIONS if kind_key == "credits" else RECURRING_ACTIONS
    return run_action(kind.model, record_id, action, actions, kind.list_endpoint,
                      confirm=kind.confirm)


@bp.get("/recurring_invoices")
@staff_required
def recurring_list():
    return list_page("recurring", "admin/recurring.html", frequencies=dict(FREQUENCY_CHOICES))

