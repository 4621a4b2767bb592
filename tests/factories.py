"""Small factories: one call makes a valid record, keyword arguments override."""
import datetime as dt
import itertools

import models
from billing import invoices

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery"


def company(**kw):
    existing = models.Company.current()
    if existing:
        for key, value in kw.items():
            setattr(existing, key, value)
        existing.save()
        return existing
    return models.Company.create(**{"name": "Test Studio", "email": "billing@test.example",
                                    "currency": "USD", **kw})


def client(**kw):
    n = next(_seq)
    return models.Client.create(**{"name": f"Client {n}", "currency": "USD", **kw})


def contact(client_=None, password=PASSWORD, **kw):
    n = next(_seq)
    c = models.Contact(client=client_ or client(), **{
        "first_name": "Pat", "last_name": f"Contact{n}", "email": f"contact{n}@test.example",
        **kw})
    c.set_password(password)
    c.save()
    return c


def staff(email=None, password=PASSWORD):
    user = models.StaffUser(email=email or f"staff{next(_seq)}@test.example")
    user.set_password(password)
    user.save()
    return user


def invoice(client_, status="sent", lines=None, **kw):
    lines = lines or [{"product": "Work", "quantity": 1, "unit_cost": 10000}]
    date = kw.pop("date", dt.date(2026, 10, 1))
    # Due 30 days after whatever date the test chose: never before it (the service refuses).
    kw.setdefault("due_date", date + dt.timedelta(days=30))
    inv = invoices.create_invoice(client_, lines, date=date, **kw)
    if status != "draft":
        invoices.mark_sent(inv)
    if status not in ("draft", "sent"):
        models.Invoice.update(status=status).where(models.Invoice.id == inv.id).execute()
    return models.Invoice.get_by_id(inv.id)


def plan(name, price, **kw):
    """A monthly USD plan in group "main" whose subscribers may change plan and pause."""
    fields = {"name": name, "price": price, "currency": "USD", "frequency": "monthly",
              "plan_group": "main", "allow_plan_changes": True, "allow_pause": True,
              "min_quantity": 1, "max_quantity": 10, **kw}
    return models.Plan.create(**fields)


def two_clients():
    """Client A with contacts a1 and a2, client B with contact b1: the cross-client cases."""
    a, b = client(name="Alpha Ltd"), client(name="Beta GmbH")
    return {"a": a, "b": b, "a1": contact(a, email="a1@alpha.example"),
            "a2": contact(a, email="a2@alpha.example"), "b1": contact(b, email="b1@beta.example")}


# A plan as the back office's plan form posts it (billing.subscriptions.create_plan).
PLAN_FORM = {"name": "Pro", "description": "Everything", "price": "29.00", "currency": "USD",
             "frequency": "monthly", "trial_days": "14", "setup_fee": "10.00",
             "min_quantity": "1", "max_quantity": "10", "cancellation": "at_period_end",
             "allow_plan_changes": "1", "plan_group": "main"}
