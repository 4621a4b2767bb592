"""Small factories: one call makes a valid record, keyword arguments override."""
import datetime as dt
import functools
import io
import itertools

from peewee import chunked
from werkzeug.security import generate_password_hash

import models
from billing import invoices

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery"


@functools.cache
def password_hash(password):
    """A real scrypt hash, made once per password and at a small work factor: the product's
    own (werkzeug's default, about 0.13 s to make or check) took a quarter of a test's time
    through the factories and logins. Passwords set through the product keep its factor."""
    return generate_password_hash(password, "scrypt:1024:8:1")


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
    c.password_hash = password_hash(password)
    c.save()
    return c


def staff(email=None, password=PASSWORD):
    user = models.StaffUser(email=email or f"staff{next(_seq)}@test.example",
                            password_hash=password_hash(password))
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


def document(app, client_, name="terms.pdf", data=b"%PDF-1.4 test", is_public=True, **kw):
    """A file for the client, stored as staff's uploads are (shared unless is_public=False)."""
    from billing import files
    from tests.core_support import opened
    with opened(app):
        return files.store(app.config["UPLOAD_PATH"], client_, name, io.BytesIO(data),
                           is_public=is_public, **kw)


def moved(record, **changes):
    """Change a record after later ones were made. PostgreSQL stores the changed row after
    them (a new row version, and new index entries when an indexed column such as a date
    changes), so a list whose order leaves the tie to the database shows it out of turn
    there; SQLite keeps rows in id order whatever happens to them."""
    model = type(record)
    model.update(**changes).where(model.id == record.id).execute()
    return model.get_by_id(record.id)


def insert(model, rows):
    for batch in chunked(rows, 200):
        model.insert_many(batch).execute()


def rows_in_every_tab(client, count, start=0):
    """`count` visible rows of every kind a tab lists, dated over the last months, with a
    payment applied to each invoice (so the payments list names their invoices)."""
    today = dt.date.today()
    numbers = range(start, start + count)
    days = [today - dt.timedelta(days=n % 60) for n in numbers]
    insert(models.Invoice, [{
        "client": client.id, "number": f"INV-{n:05d}", "status": ("sent", "paid")[n % 2],
        "date": day, "due_date": day + dt.timedelta(days=14), "currency": "USD",
        "total": 1000 + n, "balance": (1000 + n) * (1 - n % 2)}
        for n, day in zip(numbers, days, strict=True)])
    models.Client.recount_listed_invoices()
    invoices = list(models.Invoice.select().where(
        models.Invoice.client == client, models.Invoice.number.in_(
            [f"INV-{n:05d}" for n in numbers])).order_by(models.Invoice.id))
    for invoice, day in zip(invoices, days, strict=True):
        payment = models.Payment.create(
            client=client, number=f"PAY-{invoice.number[4:]}", status="completed", date=day,
            currency="USD", amount=invoice.total, applied=invoice.total, method="card")
        models.PaymentAllocation.create(payment=payment, invoice=invoice, amount=invoice.total)
    insert(models.Quote, [{
        "client": client.id, "number": f"QUO-{n:05d}", "status": "sent", "date": day,
        "valid_until": day + dt.timedelta(days=90), "currency": "USD", "total": 500 + n}
        for n, day in zip(numbers, days, strict=True)])
    insert(models.Credit, [{
        "client": client.id, "number": f"CR-{n:05d}", "status": "sent", "date": day,
        "currency": "USD", "total": 200 + n, "balance": 200 + n, "reason": "refund"}
        for n, day in zip(numbers, days, strict=True)])
    insert(models.Document, [{
        "client": client.id, "invoice": invoice.id if n % 2 else None,
        "filename": f"file-{n}.pdf", "storage_name": f"s{n}", "is_public": True}
        for n, invoice in zip(numbers, invoices, strict=True)])
    insert(models.RecurringInvoice, [{
        "client": client.id, "number": f"REC-{n:05d}", "status": "active",
        "frequency": "monthly", "start_date": day, "next_send_date": today + dt.timedelta(7),
        "currency": "USD", "total": 700 + n} for n, day in zip(numbers, days, strict=True)])
    plan = models.Plan.get_or_none() or models.Plan.create(name="Support plan", price=1500,
                                                           currency="USD")
    insert(models.Subscription, [{
        "client": client.id, "plan": plan.id, "status": "active", "started_at": day,
        "next_billing_date": today + dt.timedelta(10)} for day in days])
    gateway = models.GatewayConfig.get_or_none() or models.GatewayConfig.create(kind="demo")
    insert(models.GatewayToken, [{
        "client": client.id, "gateway": gateway.id, "token": f"tok_{n}", "brand": "visa",
        "last4": f"{n:04d}", "exp_month": 1 + n % 12, "exp_year": today.year + 2}
        for n in numbers[:5]])
