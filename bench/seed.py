"""Fast bench data: bulk inserts straight into the schema, bypassing the per-invoice services.

The services are right for real work (numbering, activity log, e-mail); for 100,000 rows
they would take minutes, and the bench only needs rows shaped like the ones they make.
"""
import datetime as dt
import random
import secrets

from peewee import chunked, fn

import models

BIG_EMAIL = "big@bench.example"
PASSWORD = "bench-password"
# Roughly a mature client's mix; drafts exist but the portal must never list them.
STATUS_MIX = (["paid"] * 50 + ["sent"] * 25 + ["partial"] * 8 + ["draft"] * 7
              + ["cancelled"] * 5 + ["void"] * 5)
BATCH = 500


def ensure_company():
    if models.Company.current() is None:
        models.Company.create(name="Bench Studio", email="billing@bench.example",
                              currency="USD", timezone="Europe/Berlin")


def add_client(name, email=None):
    client = models.Client.create(name=name, currency="USD", email=email or "")
    if email:
        contact = models.Contact(client=client, first_name="Big", last_name="Client",
                                 email=email, is_primary=True)
        contact.set_password(PASSWORD)
        contact.save()
    return client


def invoice_rows(client_id, count, start_number, rng, today):
    for n in range(count):
        status = rng.choice(STATUS_MIX)
        date = today - dt.timedelta(days=rng.randrange(0, 3 * 365))
        total = rng.randrange(1_000, 500_000)
        balance = {"paid": 0, "partial": total // 2, "cancelled": 0, "void": 0}.get(
            status, total)
        yield {
            "public_id": secrets.token_urlsafe(12),
            "client": client_id,
            "number": f"INV-{start_number + n:07d}",
            "status": status,
            "date": date,
            "due_date": date + dt.timedelta(days=30),
            "currency": "USD",
            "subtotal": total,
            "total": total,
            "balance": balance,
            "terms": "Payment within 30 days.",
            "sent_at": None if status == "draft" else dt.datetime.combine(date, dt.time(9)),
            "created_at": dt.datetime.combine(date, dt.time(8)),
        }


def insert_invoices(client, count, start_number, seed):
    rng = random.Random(seed)
    today = models.utcnow().date()
    rows = invoice_rows(client.id, count, start_number, rng, today)
    with models.db.atomic():
        for batch in chunked(rows, BATCH):
            models.Invoice.insert_many(batch).execute()
        models.Client.recount_listed_invoices()  # bulk rows bypass the services' counter


def seed_big_client(count):
    """The client whose contact the bench logs in as."""
    models.create_tables()
    ensure_company()
    client = add_client("Big Client Ltd", BIG_EMAIL)
    insert_invoices(client, count, 1, seed=1)
    insert_tab_rows(client, seed=2)
    return client


def seed_others(total, clients):
    """Spread `total` more invoices over `clients` other clients."""
    per_client, start = total // clients, 10_000_000
    for n in range(clients):
        client = add_client(f"Other Client {n + 1}")
        count = per_client + (total % clients if n == clients - 1 else 0)
        insert_invoices(client, count, start, seed=100 + n)
        insert_tab_rows(client, seed=200 + n)
        start += count


def invoice_count():
    return models.Invoice.select().count()


# -- every other tab's rows ------------------------------------------------------------------
# Per invoice: the paid and partly paid ones have a payment each; the rest are a mature
# client's proportions. Payment methods are a short list (not paged), so a fixed few.
QUOTES_PER_INVOICE = 0.2
CREDITS_PER_INVOICE = 0.1
DOCUMENTS_PER_INVOICE = 0.1
RECURRING_PER_INVOICE = 0.02
SUBSCRIPTIONS_PER_INVOICE = 0.01
PAYMENT_METHODS = 8


def _next_id(model):
    return (model.select(fn.MAX(model.id)).scalar() or 0) + 1


def bench_plans():
    """A few plans every client subscribes to, made once."""
    plans = list(models.Plan.select().order_by(models.Plan.id))
    if not plans:
        plans = [models.Plan.create(name=f"Plan {n}", price=1_000 * n, currency="USD",
                                    frequency=("monthly", "yearly")[n % 2]) for n in (1, 2, 3)]
    return plans


def bench_gateway():
    config = models.GatewayConfig.select().where(models.GatewayConfig.kind == "demo").first()
    return config or models.GatewayConfig.create(kind="demo", label="Demo")


def insert_tab_rows(client, seed):
    """Rows for every portal tab besides the invoices, in proportion to the client's
    invoices: payments with their allocations, quotes, credits, documents, recurring
    invoices, subscriptions and saved payment methods."""
    rng = random.Random(seed)
    today = models.utcnow().date()
    Inv = models.Invoice
    invoices = list(Inv.select(Inv.id, Inv.status, Inv.date, Inv.total, Inv.balance)
                    .where(Inv.client == client.id).tuples())
    count = len(invoices)
    payment_id = _next_id(models.Payment)
    payments, allocations = [], []
    for invoice_id, status, date, total, balance in invoices:
        if status not in ("paid", "partial"):
            continue
        amount = total - balance
        payments.append({
            "id": payment_id, "public_id": secrets.token_urlsafe(12), "client": client.id,
            "number": f"PAY-{payment_id:07d}", "status": "completed", "date": date,
            "currency": "USD", "amount": amount, "applied": amount,
            "method": rng.choice(("card", "bank_transfer", "cheque")),
            "reference": f"REF{payment_id}", "created_at": dt.datetime.combine(date, dt.time(10))})
        allocations.append({"payment": payment_id, "invoice": invoice_id, "amount": amount})
        payment_id += 1

    def dated(n):
        return today - dt.timedelta(days=rng.randrange(0, 3 * 365))

    quotes = [{"public_id": secrets.token_urlsafe(12), "client": client.id,
               "number": f"QUO-{client.id}-{n:06d}",
               "status": rng.choice(("sent", "approved", "declined", "expired", "sent")),
               "date": (d := dated(n)), "valid_until": d + dt.timedelta(days=30),
               "currency": "USD", "subtotal": (t := rng.randrange(1_000, 500_000)), "total": t}
              for n in range(int(count * QUOTES_PER_INVOICE))]
    credits = [{"public_id": secrets.token_urlsafe(12), "client": client.id,
                "number": f"CR-{client.id}-{n:06d}", "status": rng.choice(("sent", "partial",
                                                                          "applied")),
                "date": dated(n), "currency": "USD", "total": (t := rng.randrange(500, 50_000)),
                "balance": rng.choice((t, t // 2, 0)),
                "reason": rng.choice(("refund", "adjustment", "overpayment"))}
               for n in range(int(count * CREDITS_PER_INVOICE))]
    shown = [i for i in invoices if i[1] != "draft"]
    documents = [{"public_id": secrets.token_urlsafe(12), "client": client.id,
                  "invoice": rng.choice(shown)[0] if n % 2 else None,
                  "filename": f"document-{n}.pdf", "content_type": "application/pdf",
                  "size": rng.randrange(10_000, 2_000_000), "storage_name": f"bench-{n}",
                  "is_public": True, "created_at": dt.datetime.combine(dated(n), dt.time(11))}
                 for n in range(int(count * DOCUMENTS_PER_INVOICE))]
    recurring = [{"public_id": secrets.token_urlsafe(12), "client": client.id,
                  "number": f"REC-{client.id}-{n:05d}",
                  "status": rng.choice(("active", "active", "paused", "completed")),
                  "frequency": rng.choice(("monthly", "quarterly", "yearly")),
                  "start_date": (d := dated(n)), "next_send_date": today + dt.timedelta(
                      days=rng.randrange(1, 90)), "remaining_cycles": rng.choice((-1, 3, 12)),
                  "currency": "USD", "total": rng.randrange(1_000, 100_000)}
                 for n in range(int(count * RECURRING_PER_INVOICE))]
    plans = bench_plans()
    subscriptions = [{"public_id": secrets.token_urlsafe(12), "client": client.id,
                      "plan": rng.choice(plans).id,
                      "status": rng.choice(("active", "active", "past_due", "cancelled")),
                      "started_at": (d := dated(n)), "quantity": rng.randrange(1, 5),
                      "current_period_start": today.replace(day=1),
                      "current_period_end": today.replace(day=1) + dt.timedelta(days=30),
                      "next_billing_date": today.replace(day=1) + dt.timedelta(days=31)}
                     for n in range(int(count * SUBSCRIPTIONS_PER_INVOICE))]
    gateway = bench_gateway()
    methods = [{"public_id": secrets.token_urlsafe(12), "client": client.id,
                "gateway": gateway.id, "token": f"tok_{client.id}_{n}",
                "brand": rng.choice(("visa", "mastercard", "amex")), "last4": f"{n:04d}",
                "exp_month": 1 + n % 12, "exp_year": today.year + 1 + n % 4,
                "is_default": n == 0} for n in range(PAYMENT_METHODS)]
    with models.db.atomic():
        for model, rows in ((models.Payment, payments), (models.PaymentAllocation, allocations),
                            (models.Quote, quotes), (models.Credit, credits),
                            (models.Document, documents), (models.RecurringInvoice, recurring),
                            (models.Subscription, subscriptions),
                            (models.GatewayToken, methods)):
            for batch in chunked(rows, BATCH):
                model.insert_many(batch).execute()


def tab_row_counts():
    return {model.__name__: model.select().count() for model in (
        models.Payment, models.Quote, models.Credit, models.Document,
        models.RecurringInvoice, models.Subscription, models.GatewayToken)}
