"""Back office: configure payment gateways, record payments that arrived offline."""
import datetime as dt
import secrets

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    request,
    url_for,
)

import gateways
import models
import money
from billing import DomainError, FieldErrors, applying, gateway_settings
from billing import payments as payment_service
from views.admin import SHELL, current_staff, staff_required
from views.admin.lists import list_page
from views.current import user_locale
from views.ids import row_id
from views.tabs import render_tab

bp = Blueprint("admin_payments", __name__, url_prefix="/admin")


@bp.route("/gateways", methods=["GET", "POST"])
@bp.route("/gateways/<int:config_id>", methods=["GET", "POST"])
@staff_required
def gateways_page(config_id=None):
    """The gateways, and a form for one: its kind's declared settings as named fields."""
    config = None
    if config_id is not None:
        config = models.GatewayConfig.get_or_none(models.GatewayConfig.id == config_id)
        if config is None:
            abort(404)
    form = request.form if request.method == "POST" else request.args
    kind = config.kind if config else form.get("kind", "")
    errors = {}
    if request.method == "POST":
        cls = gateways.REGISTRY.get(kind)
        typed = {f.name: form.get(gateway_settings.field_name(f), "")[:f.max_length + 1]
                 for f in (cls.settings_fields if cls else ())}
        try:
            gateway_settings.save(
                config, kind=kind, label=form.get("label", ""), settings=typed,
                token_mode=form.get("token_mode", ""), is_enabled=form.get("is_enabled") == "1",
                position=_position(form.get("position")),
                production=current_app.config["PORTAL_ENV"] == "production",
                staff=current_staff())
        except FieldErrors as exc:
            errors.update(exc.errors)
        except DomainError as exc:
            errors[exc.field or "form"] = exc.message
        else:
            flash("Gateway saved.", "success")
            return redirect(url_for("admin_payments.gateways_page"), 303)
    configs = list(models.GatewayConfig.select().order_by(models.GatewayConfig.position,
                                                          models.GatewayConfig.id))
    return render_tab("admin/gateways.html", 422 if errors else 200, shell=SHELL,
                      configs=configs, edit=config, errors=errors, form=form,
                      kind=kind if kind in gateways.REGISTRY else "",
                      kinds=gateways.REGISTRY, modes=models.GatewayConfig.TOKEN_MODES,
                      masked=gateway_settings.masked(config),
                      field_name=gateway_settings.field_name)


@bp.get("/payments")
@staff_required
def payments():
    return list_page("payments", "admin/payments.html", shell=SHELL)


@bp.get("/payments/<int:payment_id>")
@staff_required
def show(payment_id):
    return _payment_page(_payment(payment_id))


@bp.post("/payments/<int:payment_id>/apply")
@staff_required
def apply(payment_id):
    """Apply the payment's unapplied money to the amounts typed against its client's invoices."""
    payment = _payment(payment_id)
    form = request.form
    keys = [k[:24] for k in form.getlist("invoice")[:applying.MAX_APPLICATIONS]]
    errors = {}
    try:
        done = applying.apply_payment(
            payment, [(k, form.get(applying.field_for(k), "")[:50]) for k in keys],
            staff=current_staff(), locale=user_locale())
    except FieldErrors as exc:
        errors.update(exc.errors)
    except DomainError as exc:
        errors[exc.field or "form"] = exc.message
    else:
        cur = payment.currency
        flash(f"Applied {money.format_money(done.total, cur)} of payment {payment.number}; "
              f"{money.format_money(done.payment.unapplied, cur)} is still unapplied.",
              "success")
        return redirect(url_for("admin_payments.show", payment_id=payment.id), 303)
    return _payment_page(payment, errors=errors, form=form)


def _payment(payment_id):
    payment = models.Payment.get_or_none(models.Payment.id == payment_id)
    if payment is None:
        abort(404)
    return payment


def _payment_page(payment, errors=None, form=None):
    from views.payments import allocations_for
    errors = errors or {}
    invoices = _applicable_invoices(payment)
    shown = {applying.field_for(inv.public_id) for inv in invoices}
    return render_tab("admin/payment.html", 422 if errors else 200, shell=SHELL,
                      payment=payment, invoices=invoices, errors=errors, form=form or {},
                      allocations=allocations_for([payment]).get(payment.id, []),
                      can_apply=(payment.status in applying.APPLICABLE
                                 and payment.method != "credit" and payment.unapplied > 0),
                      general=[m for f, m in errors.items() if f not in shown],
                      field_for=applying.field_for)


def _applicable_invoices(payment):
    """The client's open invoices in the payment's currency, the oldest due first."""
    Inv = models.Invoice
    return list(Inv.select().where(
        (Inv.client == payment.client_id) & (Inv.currency == payment.currency)
        & Inv.status.in_(("sent", "partial")) & (Inv.balance > 0) & Inv.archived_at.is_null())
        .order_by(Inv.due_date.asc(nulls="LAST"), Inv.date, Inv.id)
        .limit(applying.MAX_APPLICATIONS))


@bp.post("/payments/<int:payment_id>/refund")
@staff_required
def refund(payment_id):
    from billing import checkout
    payment = models.Payment.get_or_none(models.Payment.id == payment_id)
    if payment is None:
        abort(404)
    try:
        expected = int(request.form.get("expected_refunded", ""))
        checkout.refund(payment, request.form.get("amount", ""), expected_refunded=expected,
                        locale=user_locale(), staff=current_staff())
    except ValueError as exc:  # DomainError, or a tampered expected_refunded
        flash(exc.message if isinstance(exc, DomainError) else "Reload the page and retry.",
              "error")
    else:
        flash(f"Payment {payment.number} refunded.", "success")
    return redirect(url_for("admin_payments.payments"), 303)


@bp.route("/payments/new", methods=["GET", "POST"])
@staff_required
def record():
    """Step 1 picks the client (a GET form; htmx swaps step 2 in place); step 2 lists that
    client's open invoices, an amount for each, and the payment itself."""
    form = request.form if request.method == "POST" else request.args
    errors = {}
    client = _chosen_client(form.get("client"))
    if form.get("client") and client is None:
        errors["client"] = "Choose the client who paid."
    if request.method == "POST" and client is not None:
        try:
            payment = _record_posted(client, form)
        except FieldErrors as exc:
            errors.update(exc.errors)
        except DomainError as exc:
            errors[exc.field or "form"] = exc.message
        else:
            flash(f"Payment {payment.number} recorded.", "success")
            return redirect(url_for("admin_payments.payments"), 303)
    elif request.method == "POST":
        errors.setdefault("client", "Choose the client who paid.")
    clients = models.Client.select().where(models.Client.archived_at.is_null()) \
        .order_by(models.Client.name).limit(500)
    invoices = _open_invoices(client) if client else []
    # Messages for fields the form does not show (a tampered or vanished invoice row).
    shown = set(FORM_FIELDS) | {f"amount_{inv.id}" for inv in invoices}
    return render_tab("admin/payment_form.html", 422 if errors else 200, shell=SHELL,
                      errors=errors, form=form, client=client, clients=clients,
                      invoices=invoices,
                      general=[m for f, m in errors.items() if f not in shown],
                      methods=payment_service.MANUAL_METHODS,
                      key=form.get("key") or secrets.token_urlsafe(24))


FORM_FIELDS = ("client", "amount", "date", "method", "reference", "notes")


def _chosen_client(value):
    client_id = row_id(value)
    return models.Client.get_or_none(models.Client.id == client_id) if client_id else None


def _open_invoices(client):
    Inv = models.Invoice
    return list(Inv.select().where((Inv.client == client) & Inv.status.in_(("sent", "partial"))
                                   & (Inv.balance > 0) & Inv.archived_at.is_null())
                .order_by(Inv.due_date.asc(nulls="LAST"), Inv.date, Inv.id)
                .limit(payment_service.MAX_APPLICATIONS))


def _record_posted(client, form):
    try:
        date = dt.date.fromisoformat(form["date"]) if form.get("date") else None
    except ValueError:
        raise DomainError("Enter a valid date.", "date") from None
    ids = [row_id(i) for i in form.getlist("invoice")[:payment_service.MAX_APPLICATIONS]]
    if None in ids:  # a tampered row: refuse rather than quietly skip it
        raise DomainError("One of the invoices could not be found. Reload the page.", "form")
    return payment_service.record_manual_applied(
        current_staff(), client, form.get("amount", ""),
        [(i, form.get(f"amount_{i}", "")[:50]) for i in ids],
        method=form.get("method", ""), locale=user_locale(),
        reference=form.get("reference", ""), notes=form.get("notes", "")[:2000], date=date,
        idempotency_key=form.get("key", "")[:100] or None,
        email_receipt=form.get("email_receipt") == "1")


def _position(value):
    # A list order, not an id: small, possibly negative; anything else (a 30-digit
    # number would overflow the column) is the default.
    value = (value or "0").strip()
    return int(value) if value.lstrip("-").isdigit() and len(value) <= 6 else 0
