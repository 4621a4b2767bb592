"""/api/v1/subscriptions: the subscription plans the business sells (models.Plan).

Requests are checked against the schemas below, then billing.subscriptions checks what only
it can (a currency Babel knows, a price in that currency's decimals, min <= max), the same
validator the back office uses. Delete archives: the plan is sold no more, its subscribers
keep it.
"""
import models
import money
from billing import subscriptions as plan_service
from billing.schedule import FREQUENCIES
from views.api import resource
from views.api.base import Resource
from views.api.fields import iso, money_out
from views.api.schemas import DATETIME_OUT, MONEY, MONEY_OUT, body, enum, line, record, text

FIELDS = {
    "name": line(100, "The plan's name, unique among current plans.", min_length=1),
    "description": text(2000, "What the plan includes, shown to clients."),
    "price": {**MONEY, "description": 'Price per period and unit, a decimal string such as '
                                      '"29.00" in the plan\'s currency.'},
    "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$",
                 "description": "ISO 4217 currency code such as USD."},
    "frequency": enum(FREQUENCIES, "How often it bills: " + ", ".join(FREQUENCIES)
                      + " (default monthly)."),
    "trial_days": {"type": "integer", "minimum": 0, "maximum": plan_service.MAX_TRIAL_DAYS,
                   "description": "Days of free trial before the first period (default 0)."},
    "setup_fee": {**MONEY, "description": 'Charged once with the first period, a decimal '
                                          'string such as "25.00" (default 0).'},
    "min_quantity": {"type": "integer", "minimum": 1, "maximum": plan_service.MAX_QUANTITY,
                     "description": "Fewest units a client may subscribe to (default 1)."},
    "max_quantity": {"type": ["integer", "null"], "minimum": 1,
                     "maximum": plan_service.MAX_QUANTITY,
                     "description": "Most units a client may subscribe to; null: no limit."},
    "cancellation": enum(models.Plan.CANCELLATION, "Whether and when clients may cancel: "
                         + ", ".join(models.Plan.CANCELLATION) + " (default at_period_end)."),
    "allow_plan_changes": {"type": "boolean", "description": "Clients may switch to another "
                                                             "plan of the same group."},
    "plan_group": line(50, "Plans with the same group can be switched between."),
    "allow_pause": {"type": "boolean", "description": "Clients may pause billing and resume "
                                                      "it later (default false)."},
}
CREATE_DEFAULTS = {"frequency": "monthly", "trial_days": 0, "min_quantity": 1,
                   "cancellation": "at_period_end", "allow_plan_changes": True}


@resource
class SubscriptionResource(Resource):
    name = "subscriptions"
    model = models.Plan
    create_schema = body(FIELDS, required=("name", "price", "currency"))
    update_schema = body(FIELDS)
    record_schema = record({
        "id": {"type": "string"}, "name": {"type": "string"},
        "description": {"type": "string"}, "price": MONEY_OUT, "currency": {"type": "string"},
        "frequency": {"type": "string"}, "trial_days": {"type": "integer", "minimum": 0},
        "setup_fee": MONEY_OUT, "min_quantity": {"type": "integer", "minimum": 1},
        "max_quantity": {"type": ["integer", "null"]}, "cancellation": {"type": "string"},
        "allow_plan_changes": {"type": "boolean"}, "plan_group": {"type": "string"},
        "allow_pause": {"type": "boolean"}, "is_active": {"type": "boolean"},
        "subscribers": {"type": "integer", "minimum": 0,
                        "description": "Subscriptions now active or past due."},
        "archived_at": DATETIME_OUT, "created_at": DATETIME_OUT})

    def query(self, args):
        P = models.Plan
        return P.select().order_by(P.id.desc())

    def serialize(self, p):
        S = models.Subscription
        subscribers = S.select().where((S.plan == p) & S.status.in_(("active", "past_due")))
        return {"id": p.public_id, "name": p.name, "description": p.description,
                "price": money_out(p.price, p.currency), "currency": p.currency,
                "frequency": p.frequency, "trial_days": p.trial_days,
                "setup_fee": money_out(p.setup_fee, p.currency),
                "min_quantity": p.min_quantity, "max_quantity": p.max_quantity,
                "cancellation": p.cancellation, "allow_plan_changes": p.allow_plan_changes,
                "plan_group": p.plan_group, "allow_pause": p.allow_pause,
                "is_active": p.archived_at is None,
                "subscribers": subscribers.count(), "archived_at": iso(p.archived_at),
                "created_at": iso(p.created_at)}

    def create(self, data, staff):
        return plan_service.create_plan({**CREATE_DEFAULTS, **data}, money.PLAIN, staff=staff)

    def update(self, record, data, staff):
        return plan_service.update_plan(record, data, money.PLAIN, staff=staff)

    def archive(self, record, staff):
        if record.archived_at is None:
            record = plan_service.set_archived(record, True, staff=staff)
        return record
