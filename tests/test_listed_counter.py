"""The kept count of listed invoices (the pager's total) and the in-place schema upgrade."""
import models
from billing import invoices, quotes, recurring
from tests import factories
from tests.core_support import opened


def listed(client):
    Inv = models.Invoice
    real = Inv.select().where((Inv.client == client) & (Inv.status != "draft")
                              & Inv.archived_at.is_null()).count()
    return models.Client.get_by_id(client.id).listed_invoices, real


def test_every_service_that_changes_the_list_keeps_the_count(db):
    client = factories.client()
    contact = factories.contact(client)
    assert listed(client) == (0, 0)
    draft = factories.invoice(client, status="draft")
    assert listed(client) == (0, 0)
    invoices.mark_sent(draft)
    invoices.mark_sent(draft)  # a second time changes nothing
    assert listed(client) == (1, 1)
    paid = factories.invoice(client)
    invoices.mark_paid(paid)
    invoices.cancel(factories.invoice(client))  # cancelled invoices stay listed, marked
    assert listed(client) == (3, 3)
    q = quotes.create_quote(client, [{"product": "Q", "unit_cost": 500}], status="sent")
    quotes.approve(contact, q)
    r = recurring.create_recurring(client, [{"product": "R", "unit_cost": 100}],
                                   start_date=models.utcnow().date())
    recurring.generate(r)
    assert listed(client) == (5, 5)
    invoices.archive(paid)
    invoices.archive(paid)
    invoices.archive(factories.invoice(client, status="draft"))
    assert listed(client) == (4, 4)


def test_the_pager_total_is_the_count(client, auth, world, app):
    auth.login("a1@alpha.example")
    html = client.get("/client/invoices").get_data(as_text=True)
    # world: sent, partial, paid, cancelled are listed; the draft is not. One page: no pager.
    assert "in all" not in html
    with opened(app):
        for _ in range(30):
            factories.invoice(world["a"])
    html = client.get("/client/invoices").get_data(as_text=True)
    assert "Page 1 of 2 · 34 in all" in html


def test_init_adds_missing_columns_and_repairs_the_count(db):
    client = factories.client()
    factories.invoice(client)
    factories.invoice(client)
    # As a database made before the column existed (native DROP COLUMN: a table rebuild
    # would cascade-delete the invoices).
    models.db.execute_sql('ALTER TABLE "client" DROP COLUMN "listed_invoices"')
    assert "listed_invoices" not in {c.name for c in models.db.get_columns("client")}
    models.create_tables()
    assert "listed_invoices" in {c.name for c in models.db.get_columns("client")}
    assert listed(client) == (2, 2)


def test_init_adds_new_indexes_and_drops_the_ones_they_replaced(db):
    def indexes(table):
        return {index.name for index in models.db.get_indexes(table)}

    # As a database made before the statement's sums read date ranges.
    models.db.execute_sql('DROP INDEX "invoice_client_id_currency_date_status_total"')
    models.db.execute_sql('DROP INDEX "payment_unapplied"')
    models.db.execute_sql('CREATE INDEX "invoice_client_id_currency_status_date_total" ON '
                          '"invoice" ("client_id", "currency", "status", "date", "total")')
    models.create_tables()
    assert "invoice_client_id_currency_date_status_total" in indexes("invoice")
    assert "invoice_client_id_currency_status_date_total" not in indexes("invoice")
    assert "payment_unapplied" in indexes("payment")
    models.create_tables()  # idempotent
    assert "payment_unapplied" in indexes("payment")
