"""Back office for subscription plans: list, create, edit, archive (after confirming), restore;
and a client's subscription: change plan or quantity, pause, resume, cancel.

Every change goes through billing.subscriptions, as the API's does.
"""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

import models
from billing import DomainError, FieldErrors, plan_changes, subscription_purchase
from billing import subscriptions as plan_service
from billing.schedule import FREQUENCIES
from views.admin import current_staff, staff_required
from views.admin.lists import list_page
from views.current import service_config, user_locale

bp = Blueprint("admin_subscriptions", __name__, url_prefix="/admin/subscriptions")


@bp.get("")
@staff_required
def index():
    return list_page("plans", "admin/plans.html", frequencies=FREQUENCIES,
                     purchase_link=_purchase_link)


def _purchase_link(plan):
    """The plan's public purchase page, built like every e-mailed link (PORTAL_BASE_URL)."""
    return subscription_purchase.purchase_link(plan, service_config()["BASE_URL"])


def _typed(form):
    """The form's fields as typed; an unticked checkbox is sent as nothing, so say no."""
    values = {key: form.get(key, "")[:5000] for key in plan_service.PLAN_FIELDS}
    values["allow_plan_changes"] = form.get("allow_plan_changes") == "1"
    values["allow_pause"] = form.get("allow_pause") == "1"
    return values


def _form(plan=None):
    locale = user_locale()
    errors = {}
    if plan is not None:
        values = plan_service.plan_values(plan, locale)
    else:
        company = models.Company.current()
        values = {"currency": company.currency if company else "USD", "frequency": "monthly",
                  "cancellation": "at_period_end", "min_quantity": "1", "trial_days": "0",
                  "allow_plan_changes": True}
    if request.method == "POST":
        values = _typed(request.form)
        try:
            if plan is None:
                plan = plan_service.create_plan(values, locale, staff=current_staff())
                flash(f"Plan {plan.name} created.", "success")
            else:
                plan = plan_service.update_plan(plan, values, locale, staff=current_staff())
                flash(f"Plan {plan.name} saved.", "success")
        except FieldErrors as exc:
            errors = exc.errors
        except DomainError as exc:
            errors = {exc.field or "form": exc.message}
        else:
            return redirect(url_for("admin_subscriptions.index"), 303)
    return render_template("admin/plan_form.html", plan=plan, values=values, errors=errors,
                           frequencies=FREQUENCIES,
                           cancellation=plan_service.CANCELLATION_LABELS,
                           purchase_link=_purchase_link), \
        422 if errors else 200


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new():
    return _form()


def _plan(plan_id):
    plan = models.Plan.get_or_none(models.Plan.id == plan_id)
    if plan is None:
        abort(404)
    return plan


@bp.route("/<int:plan_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(plan_id):
    return _form(_plan(plan_id))


@bp.post("/<int:plan_id>/archive")
@staff_required
def archive(plan_id):
    plan = _plan(plan_id)
    if request.form.get("confirmed") != "1":
        # The confirmation without JavaScript (portal.js asks in the browser instead).
        return render_template("admin/confirm.html", action=request.path,
                               title="Archive this plan?", button="Archive plan",
                               back=url_for("admin_subscriptions.index"),
                               message=f"Archive the plan {plan.name}? It can no longer be "
                                       "bought; current subscribers keep it.")
    return _set_archived(plan, True)


@bp.post("/<int:plan_id>/restore")
@staff_required
def restore(plan_id):
    return _set_archived(_plan(plan_id), False)


def _set_archived(plan, archived):
    try:
        plan_service.set_archived(plan, archived, staff=current_staff())
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Plan {plan.name} {'archived' if archived else 'restored'}.", "success")
    return redirect(url_for("admin_subscriptions.index"), 303)


# -- a client's subscription: change, pause, resume, cancel -------------------------------
# The same services as the portal's, with by_business: the business may do what its plans
# do not let clients do themselves (change a locked plan, pause, cancel at once).

def _held(sub_id):
    S = models.Subscription
    subscription = S.get_or_none(S.id == sub_id)
    if subscription is None:
        abort(404)
    return subscription


def _held_page(subscription, *, error=None, proration=None, chosen=None, cancelling=None,
               status=200):
    from billing import company_settings
    return render_template(
        "admin/subscription.html", subscription=subscription, error=error,
        proration=proration, chosen=chosen or {}, cancelling=cancelling,
        options=plan_changes.options(subscription), frequencies=FREQUENCIES,
        reasons=company_settings.cancellation_reasons(models.Company.current()),
        today=models.utcnow().date(), can_pause=subscription.status == "active"
        and not subscription.cancel_at_period_end,
        can_resume=plan_changes.can_resume(subscription),
        can_cancel=subscription.status in plan_service.LIVE
        and not subscription.cancel_at_period_end), status


@bp.get("/held/<int:sub_id>")
@staff_required
def held(sub_id):
    return _held_page(_held(sub_id))


@bp.post("/held/<int:sub_id>/change")
@staff_required
def held_change(sub_id):
    """First POST: the prorated amount to confirm; the second, with confirmed=1 and that
    amount, changes the subscription (refused if the amount moved meanwhile)."""
    subscription = _held(sub_id)
    form = request.form
    plan, quantity = plan_changes.read_choice(form.get("plan"), form.get("quantity"))
    chosen = {"plan": form.get("plan", "")[:24], "quantity": form.get("quantity", "")[:12]}
    try:
        if form.get("confirmed") != "1":
            proration = plan_changes.preview(subscription, plan, quantity, by_business=True)
            return _held_page(subscription, proration=proration, chosen=chosen)
        done = plan_changes.change(
            subscription, plan, quantity, by_business=True, staff=current_staff(),
            config=service_config(),
            expected_difference=plan_changes.confirmed_difference(
                form.get("expected_difference")))
    except DomainError as exc:
        return _held_page(subscription, error=exc, chosen=chosen, status=422)
    document = done.invoice or done.credit
    flash(f"Subscription changed to {done.subscription.plan.name} × "
          f"{done.subscription.quantity}." + (f" {document.number} issued." if document
                                               else ""), "success")
    return redirect(url_for("admin_subscriptions.held", sub_id=sub_id), 303)


@bp.post("/held/<int:sub_id>/<any(pause, resume):action>")
@staff_required
def held_pause(sub_id, action):
    subscription = _held(sub_id)
    if request.form.get("confirmed") != "1":
        return render_template(
            "admin/confirm.html", action=request.path,
            title="Pause billing?" if action == "pause" else "Resume billing?",
            button="Pause billing" if action == "pause" else "Resume billing",
            back=url_for("admin_subscriptions.held", sub_id=sub_id),
            message=f"{subscription.plan.name} for {subscription.client.name}: nothing is "
                    "billed while paused; resuming keeps the days left in the paid period."
            if action == "pause" else f"{subscription.plan.name} for "
            f"{subscription.client.name} is billed again from today.")
    try:
        if action == "pause":
            plan_changes.pause(subscription, by_business=True, staff=current_staff())
        else:
            plan_changes.resume(subscription, staff=current_staff())
    except DomainError as exc:
        return _held_page(subscription, error=exc, status=422)
    flash("Billing paused." if action == "pause" else "Billing resumed.", "success")
    return redirect(url_for("admin_subscriptions.held", sub_id=sub_id), 303)


@bp.post("/held/<int:sub_id>/cancel")
@staff_required
def held_cancel(sub_id):
    from billing import company_settings
    subscription = _held(sub_id)
    form = request.form
    values = {"reason": form.get("reason", "")[:200], "comment": form.get("comment", "")[:5000],
              "when": form.get("when", "")[:20]}
    reasons = company_settings.cancellation_reasons(models.Company.current())
    try:
        if form.get("confirmed") != "1":
            plan_service.check_cancellation(subscription, values["reason"], values["comment"],
                                            reasons, by_business=True)
            if values["when"] not in ("immediately", "at_period_end"):
                raise DomainError("Choose when the subscription ends.", "when")
            return _held_page(subscription, cancelling=values)
        plan_service.cancel(subscription, reasons=reasons, staff=current_staff(), **values)
    except DomainError as exc:
        return _held_page(subscription, error=exc, cancelling=None, chosen=values, status=422)
    flash("Subscription cancelled.", "success")
    return redirect(url_for("admin_subscriptions.held", sub_id=sub_id), 303)
