"""Prepared queries: Peewee's SQL built once per shape, each run with its own values."""
import datetime as dt
import uuid

from peewee import fn

import models
from prepared import prepared, slot
from tests import factories


def test_built_once_and_run_with_each_calls_values(db):
    a, b = factories.client(name="Alpha"), factories.client(name="Beta")
    built = []
    # A name no earlier run in this process used: the cache lives as long as the process,
    # so a fixed name would be built by the first run only (and this test pass only once).
    name = f"test-client-by-id-{uuid.uuid4().hex}"

    def build():
        built.append(1)
        return models.Client.select(models.Client.name).where(models.Client.id == slot("id"))

    assert prepared(name, build).scalar(id=a.id) == "Alpha"
    assert prepared(name, build).scalar(id=b.id) == "Beta"
    assert prepared(name, build).scalar(id=-1) is None
    assert built == [1]


def test_slot_values_are_converted_by_their_field(db):
    c = factories.client()
    for days in (1, 10):
        factories.invoice(c, status="sent", date=dt.date(2026, 1, 1),
                          due_date=dt.date(2026, 1, days))
    Invoice = models.Invoice
    due_before = prepared("test-due-before", lambda: Invoice.select(fn.COUNT(Invoice.id)).where(
        (Invoice.client == slot("client")) & (Invoice.due_date < slot("day", Invoice.due_date))))
    assert due_before.scalar(client=c.id, day=dt.date(2026, 1, 5)) == 1
    assert due_before.scalar(client=c.id, day=dt.date(2026, 2, 1)) == 2


class Row:
    def __init__(self, **columns):
        self.__dict__.update(columns)


def test_records_are_plain_objects_with_python_values(db):
    c = factories.client()
    factories.invoice(c, status="sent", date=dt.date(2026, 3, 4), due_date=None)
    Invoice = models.Invoice
    query = prepared("test-records", lambda: Invoice.select(
        Invoice.number, Invoice.date, Invoice.due_date, Invoice.total).where(
        Invoice.client == slot("client")))
    (row,) = query.records(Row, client=c.id)
    assert isinstance(row, Row)
    assert row.date == dt.date(2026, 3, 4)  # SQLite hands back text; a date comes out
    assert row.due_date is None
    assert isinstance(row.total, int)


def test_first_models_builds_clean_instances_of_each_model(db):
    from prepared import model_fields
    c = factories.client(name="Gamma")
    person = factories.contact(c, email="gamma@test.example")
    Contact, Client = models.Contact, models.Client
    query = prepared("test-contact-client", lambda: Contact.select(
        *model_fields(Contact, Client)).join(Client).where(Contact.id == slot("id")))
    contact, client = query.first_models(Contact, Client, id=person.id)
    assert (contact.email, client.name) == ("gamma@test.example", "Gamma")
    assert contact.is_active is True  # SQLite's 1 comes back a bool
    assert isinstance(contact.created_at, dt.datetime)
    assert contact.created_at == models.Contact.get_by_id(person.id).created_at
    assert not contact.is_dirty() and contact.client_id == client.id
    assert query.first_models(Contact, Client, id=-1) is None
