"""Fast bench data: bulk inserts straight into the schema, bypassing the per-invoice services.

The services are right for real work (numbering, activity log, e-mail); for 100,000 rows
they would take minutes, and the bench only needs rows shaped like the ones they make.
"""
import datetime as dt
import random
import secrets

from peewee import chunked

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
    return client


def seed_others(total, clients):
    """Spread `total` more invoices over `clients` other clients."""
    per_client, start = total // clients, 10_000_000
    for n in range(clients):
        client = add_client(f"Other Client {n + 1}")
        count = per_client + (total % clients if n == clients - 1 else 0)
        insert_invoices(client, count, start, seed=100 + n)
        start += count


def invoice_count():
    return models.Invoice.select().count()
