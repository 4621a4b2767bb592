"""/api/v1/client_subscriptions: the subscriptions clients hold (models.Subscription), which
staff change, pause, resume or cancel with bulk actions. `subscriptions` is the plans they
subscribe to (DESIGN.md §7). Each action calls the service the portal and back office call,
as the business (by_business): a plan's client-facing limits do not bind staff, every other
rule does, and a refusal is a 422 that changed nothing.
"""
import models
import money
from billing import DomainError, plan_changes
from billing import company_settings as settings
from billing import subscriptions as subscription_service
from views.api import ApiError, resource
from views.api.base import Resource
from views.api.fields import iso, money_out
from views.api.schemas import (
    BULK_IDS,
    CLIENT_FILTER,
    DATE_OUT,
    DATETIME_OUT,
    ID,
    MONEY_OUT,
    body,
    enum,
    line,
    record,
    status_filter,
    text,
)
from views.current import service_config

SIGNED_MONEY = {"type": "string", "pattern": r"^-?[0-9]{1,13}(\.[0-9]{1,4})?$"}


def _one(data):
    if len(data["ids"]) != 1:
        raise ApiError("Change one subscription at a time: give exactly one id.", 422, "ids")


def _change(res, sub, data, staff):
    _one(data)
    P = models.Plan
    plan = P.get_or_none(P.public_id == data["plan_id"]) if "plan_id" in data else sub.plan
    if plan is None:
        raise ApiError("plan_id must be the id of a plan.", 422, "plan_id")
    quantity = data.get("quantity", sub.quantity)
    expected = data.get("expected_difference")
    if expected is not None:
        try:
            expected = money.parse(expected, sub.plan.currency, money.PLAIN,
                                   allow_negative=True)
        except money.MoneyError as exc:
            raise ApiError(str(exc), 422, "expected_difference") from None
    try:
        plan_changes.change(sub, plan, quantity, expected_difference=expected,
                            config=service_config(), staff=staff, by_business=True)
    except DomainError as exc:
        field = {"plan": "plan_id", "confirmation": "expected_difference"}.get(exc.field,
                                                                               exc.field)
        raise ApiError(exc.message, 422, field) from None
    return sub


def _cancel(res, sub, data, staff):
    reasons = settings.cancellation_reasons(models.Company.current())
    subscription_service.cancel(sub, reason=data.get("reason", ""),
                                comment=data.get("comment", ""), reasons=reasons,
                                when=data.get("when", "at_period_end"), staff=staff)
    return sub


def _pause(res, sub, data, staff):
    plan_changes.pause(sub, by_business=True, staff=staff)
    return sub


def _resume(res, sub, data, staff):
    plan_changes.resume(sub, staff=staff)
    return sub


@resource
class ClientSubscriptionResource(Resource):
    name = "client_subscriptions"
    model = models.Subscription
    deletable = False
    bulk_actions = {"change": _change, "cancel": _cancel, "pause": _pause, "resume": _resume}
    filters = (CLIENT_FILTER, status_filter(models.Subscription.STATUSES))
    record_schema = record({
        "id": {"type": "string"}, "client_id": {"type": "string"},
        "plan_id": {"type": "string"}, "plan_name": {"type": "string"},
        "status": {"type": "string"}, "quantity": {"type": "integer"},
        "unit_price": MONEY_OUT, "amount": {**MONEY_OUT, "description": "Each period."},
        "currency": {"type": "string"}, "started_at": DATE_OUT, "trial_ends_on": DATE_OUT,
        "current_period_start": DATE_OUT, "current_period_end": DATE_OUT,
        "next_billing_date": DATE_OUT, "cancel_at_period_end": {"type": "boolean"},
        "ends_on": DATE_OUT, "paused_on": DATE_OUT, "created_at": DATETIME_OUT})

    def __init__(self):
        super().__init__()
        self.bulk_schema = body({
            "action": enum(sorted(self.bulk_actions), "change: another plan of its group "
                           "and/or quantity, the rest of the period invoiced (and charged to "
                           "a default saved method) or credited; cancel; pause; resume."),
            "ids": {**BULK_IDS, "description": "The subscriptions (change: exactly one)."},
            "plan_id": {**ID, "description": "change: the new plan (default: the same)."},
            "quantity": {"type": "integer", "minimum": 1,
                         "maximum": subscription_service.MAX_QUANTITY,
                         "description": "change: the new quantity (default: the same)."},
            "expected_difference": {**SIGNED_MONEY, "description": (
                "change: the prorated amount you expect (negative: a credit); refused if it "
                "is not what it is now. Leave out to accept it as it is.")},
            "reason": line(200, "cancel: one of the business's cancellation reasons."),
            "comment": text(1000, "cancel: a note."),
            "when": enum(("at_period_end", "immediately"),
                         "cancel: when it ends (default at_period_end)."),
        }, required=("action", "ids"))

    def query(self, args):
        S = models.Subscription
        query = S.select(S, models.Plan, models.Client).join(models.Plan).switch(S).join(
            models.Client)
        if args.get("client_id"):
            query = query.where(models.Client.public_id == args["client_id"])
        if args.get("status"):
            query = query.where(S.status == args["status"])
        return query.order_by(S.id.desc())

    def serialize(self, s):
        cur = s.plan.currency
        return {"id": s.public_id, "client_id": s.client.public_id,
                "plan_id": s.plan.public_id, "plan_name": s.plan.name, "status": s.status,
                "quantity": s.quantity, "unit_price": money_out(s.price, cur),
                "amount": money_out(s.amount, cur), "currency": cur,
                "started_at": iso(s.started_at), "trial_ends_on": iso(s.trial_ends_on),
                "current_period_start": iso(s.current_period_start),
                "current_period_end": iso(s.current_period_end),
                "next_billing_date": iso(s.next_billing_date),
                "cancel_at_period_end": s.cancel_at_period_end, "ends_on": iso(s.ends_on),
                "paused_on": iso(s.paused_on), "created_at": iso(s.created_at)}
