"""Credits tab: every issued credit with its remaining balance, totals, pages, PDF."""
import datetime as dt

import pytest

import models
import money
from billing import DomainError
from billing import credits as credit_service
from tests import factories
from tests.conftest import hx
from tests.core_support import opened, pdf_text
from tests.quotes_support import credit


@pytest.fixture
def cworld(app):
    with opened(app):
        people = factories.two_clients()
        a, b = people["a"], people["b"]
        records = {
            "refund": credit(a, 5000, reason="refund"),
            "partial": credit(a, 8000, status="partial", balance=3000, reason="adjustment"),
            "applied": credit(a, 2000, status="applied", balance=0, reason="overpayment"),
            "draft": credit(a, 9900, status="draft"),
            "eur": credit(a, 1000, currency="EUR"),
        }
        other = credit(b, 7000)
    return {"a": a, "b": b, "credits": records, "other": other}


def text(response):
    return response.get_data(as_text=True)


def test_credit_list_balances_and_totals(client, auth, cworld):
    auth.login("a1@alpha.example")
    page = client.get("/client/credits")
    body = text(page)
    c = cworld["credits"]
    assert page.status_code == 200 and "<html" in body
    for key in ("refund", "partial", "applied", "eur"):
        assert c[key].number in body
    assert c["draft"].number not in body and cworld["other"].number not in body
    # Remaining: 50.00 + 30.00 USD available (the used-up one adds nothing), 10.00 EUR apart.
    assert "$80.00" in body and "€10.00" in body
    assert "Partly used" in body and "Used up" in body and "Refund" in body
    assert "$30.00" in body  # the partly used credit's remaining balance
    fragment = hx(client, "/client/credits")
    assert "<html" not in text(fragment) and c["refund"].number in text(fragment)
    available = text(hx(client, "/client/credits?status=available"))
    assert c["applied"].number not in available and c["partial"].number in available
    used = text(hx(client, "/client/credits?status=applied"))
    assert c["applied"].number in used and c["refund"].number not in used


def test_available_totals_per_currency(db, cworld):
    assert credit_service.available_totals(cworld["a"].id) == [("EUR", 1000), ("USD", 8000)]
    assert credit_service.available_totals(cworld["b"].id) == [("USD", 7000)]


def test_credit_page_pdf_and_404s(client, auth, cworld):
    auth.login("a1@alpha.example")
    c = cworld["credits"]["partial"]
    page = text(client.get(f"/client/credits/{c.public_id}"))
    assert "Remaining" in page and "$30.00" in page and "Balance due" not in page
    pdf = client.get(f"/client/credits/{c.public_id}/pdf")
    assert pdf.status_code == 200
    words = pdf_text(pdf.data)
    for expected in (c.number, cworld["a"].name, "Test Studio", "Remaining credit", "$30.00",
                     money.format_money(c.total, c.currency)):
        assert expected in words, (expected, words)
    for public_id in (cworld["other"].public_id, cworld["credits"]["draft"].public_id):
        for suffix in ("", "/pdf"):
            assert client.get(f"/client/credits/{public_id}{suffix}").status_code == 404


def test_pagination_and_empty_state(app, client, auth):
    with opened(app):
        c = factories.client()
        factories.contact(c, email="many@c.example")
        factories.contact(factories.client(), email="none@c.example")
        today = models.utcnow().date()
        made = [credit(c, 100 + n, date=today - dt.timedelta(days=n)) for n in range(27)]
    auth.login("many@c.example")
    first = text(client.get("/client/credits"))
    assert "Page 1 of 2 · 27 in all" in first and made[0].number in first
    assert made[26].number not in first
    assert made[26].number in text(hx(client, "/client/credits?page=2"))
    auth.logout()
    auth.login("none@c.example")
    assert "You have no credits" in text(client.get("/client/credits"))


def test_create_credit_refuses_bad_input(db):
    c = factories.client()
    with pytest.raises(DomainError, match="refund, adjustment"):
        credit_service.create_credit(c, [{"unit_cost": 100}], reason="gift")
    with pytest.raises(DomainError, match="more than zero"):
        credit_service.create_credit(c, [{"unit_cost": 0}])
    assert models.Credit.select().count() == 0
