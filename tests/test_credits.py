"""billing/credits.py itself: a credit made, issued and changed as staff do it (the back
office's editor and the API call these), and what a client has left to spend. The Credits
tab's pages are in test_credits_views.py."""
import datetime as dt

import pytest

import models
from billing import credits as credit_service
from tests import factories
from tests.core_support import refusal
from tests.quotes_support import credit

REASON_REFUSED = ("reason", "Choose why the credit is given: refund, adjustment or over-payment.")


def refused(call):
    """The refusal's (field, message), after checking that nothing was written."""
    error = refusal(call)
    return error.field, error.message


def activities(action):
    A = models.Activity
    return [(a.subject_type, a.subject_id, a.client_id, a.staff_id, a.actor, a.detail)
            for a in A.select().where(A.action == action).order_by(A.id)]


def saved(credit_):
    c = models.Credit.get_by_id(credit_.id)
    return (c.number, c.date, c.currency, c.reason, c.discount, c.notes, c.terms, c.footer,
            c.status, c.subtotal, c.total, c.balance)


def test_a_credit_is_issued_with_everything_staff_gave_it(db):
    client, staff = factories.client(currency="USD"), factories.staff()
    made = credit_service.create_credit(
        client, [{"product": "Refund", "quantity": 2, "unit_cost": 3000}],
        date=dt.date(2026, 3, 4), reason="refund", discount=1000, notes="Cancelled session",
        terms="Spend within a year", footer="Thank you", currency="EUR", staff=staff)
    assert saved(made) == ("CR-00001", dt.date(2026, 3, 4), "EUR", "refund", 1000,
                           "Cancelled session", "Spend within a year", "Thank you", "sent",
                           6000, 5000, 5000)
    assert models.LineItem.select().where(models.LineItem.credit == made).count() == 1
    assert activities("credit.created") == [
        ("credit", made.id, client.id, staff.id, "staff", "5000 EUR refund")]


def test_a_credits_defaults_are_the_clients_currency_today_and_the_next_number(db):
    client = factories.client(currency="GBP")
    credit_service.create_credit(client, [{"product": "First", "unit_cost": 100}])
    made = credit_service.create_credit(client, [{"product": "Goodwill", "unit_cost": 1}])
    assert saved(made) == ("CR-00002", models.utcnow().date(), "GBP", "adjustment", 0, "", "",
                           "", "sent", 1, 1, 1)  # one cent is worth more than zero
    assert activities("credit.created")[-1] == (
        "credit", made.id, client.id, None, "system", "1 GBP adjustment")


def test_a_draft_credit_is_not_issued_yet(db):
    client = factories.client()
    draft = credit_service.create_credit(client, [{"product": "Later", "unit_cost": 700}],
                                         reason="overpayment", status="draft")
    assert saved(draft)[8:] == ("draft", 700, 700, 700)
    assert credit_service.display_status(draft) == "draft"


@pytest.mark.parametrize("kwargs, refusal", [
    ({"reason": "gift"}, REASON_REFUSED),
    ({"lines": []}, ("lines", "A credit needs at least one line.")),
    ({"status": "partial"}, ("status", "A new credit is a draft or issued.")),
    ({"lines": [{"product": "Nothing", "unit_cost": 0}]},
     ("lines", "A credit must be worth more than zero.")),
    ({"lines": [{"product": "Less", "unit_cost": 500}], "discount": 500},
     ("lines", "A credit must be worth more than zero.")),
])
def test_a_credit_that_cannot_be_made_is_refused_and_nothing_is_written(db, kwargs, refusal):
    client = factories.client()
    kwargs = dict(kwargs)  # parametrize shares the dict between runs
    lines = kwargs.pop("lines", [{"product": "Goodwill", "unit_cost": 2500}])
    assert refused(lambda: credit_service.create_credit(client, lines, **kwargs)) == refusal
    # The refused attempt took no number: the next credit is still the first.
    assert credit_service.create_credit(
        client, [{"product": "Goodwill", "unit_cost": 2500}]).number == "CR-00001"


def test_issuing_a_draft_logs_it_once(db):
    client, staff = factories.client(), factories.staff()
    draft = credit(client, 900, status="draft")
    issued = credit_service.mark_sent(draft, staff=staff)
    assert (issued.status, issued.balance) == ("sent", 900)
    assert credit_service.mark_sent(issued, staff=staff).status == "sent"  # again: no change
    assert activities("credit.issued") == [
        ("credit", draft.id, client.id, staff.id, "staff", "")]


def test_issuing_leaves_a_credit_that_is_not_a_draft_as_it_is(db):
    void = credit(factories.client(), 900, status="void")
    assert credit_service.mark_sent(void).status == "void"
    assert activities("credit.issued") == []


def test_a_draft_credit_is_changed_and_repriced(db):
    client, staff = factories.client(), factories.staff()
    draft = credit(client, 900, status="draft")
    changed = credit_service.update_credit(
        draft, {"date": dt.date(2026, 5, 6), "reason": "refund", "discount": 200,
                "notes": "N", "terms": "T", "footer": "F", "status": "sent"},
        [{"product": "Two", "quantity": 2, "unit_cost": 400}], staff=staff)
    # status is not a field staff change this way: the credit stays a draft.
    assert saved(changed)[1:] == (dt.date(2026, 5, 6), "USD", "refund", 200, "N", "T", "F",
                                  "draft", 800, 600, 600)
    assert [(ln.product, ln.quantity) for ln in models.LineItem.select().where(
        models.LineItem.credit == draft)] == [("Two", 2)]
    assert activities("credit.updated") == [
        ("credit", draft.id, client.id, staff.id, "staff", "")]
    # Without new lines, a new discount reprices the ones it has.
    again = credit_service.update_credit(changed, {"discount": 500})
    assert saved(again)[9:] == (800, 300, 300)
    cent = credit_service.update_credit(again, {"discount": 0}, [{"product": "C", "unit_cost": 1}])
    assert saved(cent)[9:] == (1, 1, 1)  # one cent is worth more than zero


@pytest.mark.parametrize("fields, lines, refusal", [
    ({"reason": "gift"}, None, REASON_REFUSED),
    ({}, [], ("lines", "A credit needs at least one line.")),
    ({}, [{"product": "Nothing", "unit_cost": 0}],
     ("lines", "A credit must be worth more than zero.")),
    ({"discount": 900}, None, ("lines", "A credit must be worth more than zero.")),
])
def test_a_change_that_cannot_be_made_is_refused_and_nothing_changes(db, fields, lines,
                                                                     refusal):
    draft = credit(factories.client(), 900, status="draft")
    assert refused(lambda: credit_service.update_credit(draft, fields, lines)) == refusal


def test_an_issued_credit_cannot_be_changed(db):
    issued = credit(factories.client(), 900)
    assert refused(lambda: credit_service.update_credit(issued, {"notes": "x"})) == (
        None, "Credit CR-00001 has been issued: only draft credits can be changed.")


def test_what_a_client_can_spend_is_summed_per_currency(db):
    client = factories.client(currency="USD")
    credit(client, 5000)
    credit(client, 8000, status="partial", balance=3000)
    credit(client, 4000, status="partial", balance=1)  # a cent left still counts
    credit(client, 2000, status="partial", balance=0)
    credit(client, 2000, status="applied", balance=0)
    credit(client, 2000, status="partial", balance=0, currency="GBP")  # used up: no GBP row
    credit(client, 9900, status="draft")
    credit(client, 6000, status="void")
    credit(client, 1000, currency="EUR")
    credit(factories.client(), 7000)
    archived = credit(client, 4400)
    models.Credit.update(archived_at=models.utcnow()).where(
        models.Credit.id == archived.id).execute()
    assert credit_service.available_totals(client.id) == [("EUR", 1000), ("USD", 8001)]
    assert credit_service.available_totals(factories.client().id) == []


@pytest.mark.parametrize("status, balance, shown", [
    ("sent", 5000, "available"), ("sent", 1, "available"), ("sent", 0, "applied"),
    ("partial", 3000, "partial"), ("partial", 0, "applied"),
    ("draft", 0, "draft"), ("void", 0, "void"), ("applied", 0, "applied"),
])
def test_a_credits_status_as_the_client_sees_it(status, balance, shown):
    assert credit_service.display_status(models.Credit(status=status, balance=balance)) == shown
