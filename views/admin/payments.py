"""Back office: configure payment gateways, record payments that arrived offline."""
import datetime as dt
import secrets

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

import gateways
import models
from billing import DomainError, gateway_settings
from billing import payments as payment_service
from views import Page, page_number, row_id, user_locale
from views.admin import current_staff, staff_required

bp = Blueprint("admin_payments", __name__, url_prefix="/admin")


@bp.route("/gateways", methods=["GET", "POST"])
@bp.route("/gateways/<int:config_id>", methods=["GET", "POST"])
@staff_required
def gateways_page(config_id=None):
    config = None
    if config_id is not None:
        config = models.GatewayConfig.get_or_none(models.GatewayConfig.id == config_id)
        if config is None:
            abort(404)
    error = None
    if request.method == "POST":
        form = request.form
        try:
            gateway_settings.save(
                config, kind=form.get("kind", ""), label=form.get("label", ""),
                settings_text=form.get("settings", "")[:5000],
                token_mode=form.get("token_mode", ""), is_enabled=form.get("is_enabled") == "1",
                position=_position(form.get("position")),
                production=current_app.config["PORTAL_ENV"] == "production",
                staff=current_staff())
        except DomainError as exc:
            error = exc
        else:
            flash("Gateway saved.", "success")
            return redirect(url_for("admin_payments.gateways_page"), 303)
    configs = list(models.GatewayConfig.select().order_by(models.GatewayConfig.position,
                                                          models.GatewayConfig.id))
    return render_template("admin/gateways.html", configs=configs, edit=config, error=error,
                           kinds=gateways.REGISTRY, form=request.form,
                           modes=models.GatewayConfig.TOKEN_MODES), 422 if error else 200


@bp.get("/payments")
@staff_required
def payments():
    P = models.Payment
    query = (P.select(P, models.Client).join(models.Client)
             .where(P.status.in_(("pending", "completed", "refunded", "partially_refunded"))))
    total = query.count()
    page = Page(query.order_by(P.id.desc()), page_number(request.args.get("page")), 50, total)
    return render_template("admin/payments.html", page=page)


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
    error = None
    form = request.form
    if request.method == "POST":
        client = models.Client.get_or_none(models.Client.id == row_id(form.get("client")))
        try:
            if client is None:
                raise DomainError("Choose the client who paid.", "client")
            date = dt.date.fromisoformat(form.get("date")) if form.get("date") else None
            payment = payment_service.record_manual(
                current_staff(), client, form.get("amount", ""),
                [row_id(i) for i in form.getlist("invoices")[:100] if row_id(i)],
                method=form.get("method", ""), locale=user_locale(),
                reference=form.get("reference", ""), date=date,
                idempotency_key=form.get("key", "")[:100] or None)
        except ValueError as exc:  # DomainError is a ValueError; so is a bad date
            error = exc if isinstance(exc, DomainError) else DomainError("Enter a valid date.")
        else:
            flash(f"Payment {payment.number} recorded.", "success")
            return redirect(url_for("admin_payments.payments"), 303)
    Inv = models.Invoice
    open_invoices = (Inv.select(Inv, models.Client).join(models.Client)
                     .where(Inv.status.in_(("sent", "partial")) & (Inv.balance > 0))
                     .order_by(models.Client.name, Inv.date).limit(500))
    clients = models.Client.select().where(models.Client.archived_at.is_null()) \
        .order_by(models.Client.name).limit(500)
    return render_template("admin/payment_form.html", error=error, form=form,
                           clients=clients, invoices=open_invoices,
                           methods=payment_service.MANUAL_METHODS,
                           key=form.get("key") or secrets.token_urlsafe(24)), \
        422 if error else 200


def _position(value):
    # A list order, not an id: small, possibly negative; anything else (a 30-digit
    # number would overflow the column) is the default.
    value = (value or "0").strip()
    return int(value) if value.lstrip("-").isdigit() and len(value) <= 6 else 0
