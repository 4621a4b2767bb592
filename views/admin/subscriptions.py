"""Back office for subscription plans: list, create, edit, archive (after confirming), restore.

Every change goes through billing.subscriptions, as the API's does.
"""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

import models
from billing import DomainError, FieldErrors
from billing import subscriptions as plan_service
from billing.schedule import FREQUENCIES
from views.admin import current_staff, staff_required
from views.current import user_locale
from views.paging import Page, page_number

bp = Blueprint("admin_subscriptions", __name__, url_prefix="/admin/subscriptions")
PER_PAGE = 50


@bp.get("")
@staff_required
def index():
    P = models.Plan
    archived = request.args.get("archived") == "1"
    query = P.select().where(P.archived_at.is_null(False) if archived else P.archived_at.is_null())
    total = query.count()
    page = Page(query.order_by(P.name, P.id), page_number(request.args.get("page")), PER_PAGE,
                total)
    counts = {}
    if page.items:
        S = models.Subscription
        counts = dict(S.select(S.plan, models.fn.COUNT(S.id)).where(
            S.plan.in_([p.id for p in page.items]) & S.status.in_(("active", "past_due")))
            .group_by(S.plan).tuples())
    return render_template("admin/plans.html", page=page, archived=archived, counts=counts,
                           frequencies=FREQUENCIES)


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
                           cancellation=plan_service.CANCELLATION_LABELS), \
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
