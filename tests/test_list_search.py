"""Searching the Payments, Quotes and Documents tabs: by what a person has in hand (a number,
a reference, a file name), only their client's."""
import re

import pytest

import models
from tests import factories
from tests.conftest import hx
from tests.core_support import opened
from tests.quotes_support import quote


def pay(client_, number, reference="", gateway_reference=None):
    return models.Payment.create(client=client_, number=number, status="completed",
                                 date=models.utcnow().date(),
                                 currency="USD", amount=1000, applied=0, method="card",
                                 reference=reference, gateway_reference=gateway_reference)


@pytest.fixture
def searchable(app, auth):
    with opened(app):
        people = factories.two_clients()
        a, b = people["a"], people["b"]
        mine = {"wire": pay(a, "PAY-00101", reference="Wire 7731-ACME"),
                "card": pay(a, "PAY-00102", gateway_reference="ch_3MtwBwLkdIwHu7ix28a3tqPa"),
                "cash": pay(a, "PAY-00103")}
        theirs = pay(b, "PAY-00901", reference="Wire 7731-ACME")
        quotes = {"first": quote(a).number, "second": quote(a).number}
        their_quote = quote(b).number
    auth.login("a1@alpha.example")
    return {"payments": mine, "theirs": theirs, "quotes": quotes, "their_quote": their_quote}


def numbers(response, prefix):
    assert response.status_code == 200
    return sorted(set(re.findall(rf">({prefix}-\d+)<", response.get_data(as_text=True))))


def test_payments_search_by_number_reference_and_gateway_reference(client, searchable):
    mine = searchable["payments"]
    assert numbers(hx(client, "/client/payments?q=00102"), "PAY") == ["PAY-00102"]
    # Case-insensitive, anywhere in the client's own reference.
    assert numbers(hx(client, "/client/payments?q=7731-acme"), "PAY") == ["PAY-00101"]
    assert numbers(hx(client, "/client/payments?q=LkdIwHu7"), "PAY") == ["PAY-00102"]
    assert numbers(hx(client, "/client/payments?q=PAY-"), "PAY") == sorted(
        p.number for p in mine.values())
    # Another client's payment with the same reference never shows.
    assert searchable["theirs"].number not in hx(
        client, "/client/payments?q=7731").get_data(as_text=True)


def test_payments_search_with_no_match_says_so_and_keeps_the_box(client, searchable):
    html = hx(client, "/client/payments?q=ZZZ%25").get_data(as_text=True)
    assert "No payments match “ZZZ%”." in html and "Show all payments" in html
    assert 'name="q" value="ZZZ%"' in html
    assert numbers(hx(client, "/client/payments?q=%25"), "PAY") == []  # % is literal
    assert "No payments yet." not in html


def test_quotes_search_by_number_within_the_status_filter(client, searchable):
    first, second = searchable["quotes"]["first"], searchable["quotes"]["second"]
    assert numbers(hx(client, f"/client/quotes?q={first}"), "QUO") == [first]
    assert numbers(hx(client, f"/client/quotes?q={first.lower()}&status=sent"), "QUO") == [first]
    assert numbers(hx(client, "/client/quotes?q=QUO"), "QUO") == sorted([first, second])
    assert numbers(hx(client, f"/client/quotes?q={searchable['their_quote']}"), "QUO") == []
    html = hx(client, f"/client/quotes?q={first}&status=declined").get_data(as_text=True)
    assert f"No quotes match “{first}”." in html and "Show all quotes" in html


def test_search_text_survives_the_pager(app, client, auth, searchable):
    with opened(app):
        a = models.Client.get(models.Client.name == "Alpha Ltd")
        for n in range(app.config["PAGE_SIZE"] + 1):
            pay(a, f"PAY-5{n:04d}")
    html = hx(client, "/client/payments?q=PAY-5").get_data(as_text=True)
    assert "Page 1 of 2" in html and "q=PAY-5" in html and "page=2" in html
    second = hx(client, "/client/payments?q=PAY-5&page=2").get_data(as_text=True)
    assert numbers(client.get("/client/payments?q=PAY-5&page=2",
                              headers={"HX-Request": "true"}), "PAY") == ["PAY-50000"]
    assert "Page 2 of 2" in second


def share(client_, filename):
    return models.Document.create(client=client_, filename=filename, storage_name="z" * 32,
                                  is_public=True, size=1024)


@pytest.fixture
def shared(app, auth):
    with opened(app):
        people = factories.two_clients()
        for name in ("Master Services Agreement.pdf", "SOW-2026-Q4.docx", "logo_final.png",
                     "100%_done.txt"):
            share(people["a"], name)
        share(people["b"], "Beta Master Agreement.pdf")
        models.Document.create(client=people["a"], filename="Master plan (draft).pdf",
                               storage_name="d" * 32, is_public=False)
    auth.login("a1@alpha.example")


def files(response):
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return sorted(re.findall(r'<td data-label="File">([^<]+)</td>', html))


def test_documents_search_by_file_name(client, shared):
    assert files(hx(client, "/client/documents?q=master")) == ["Master Services Agreement.pdf"]
    assert files(hx(client, "/client/documents?q=SOW-2026")) == ["SOW-2026-Q4.docx"]
    # Wildcards are literal: "_" and "%" match themselves only.
    assert files(hx(client, "/client/documents?q=o_f")) == ["logo_final.png"]
    assert files(hx(client, "/client/documents?q=100%25")) == ["100%_done.txt"]
    assert files(hx(client, "/client/documents?q=%25")) == ["100%_done.txt"]
    # Another client's file and a file not shared never show.
    assert files(hx(client, "/client/documents?q=Agreement")) == ["Master Services Agreement.pdf"]
    assert files(hx(client, "/client/documents?q=plan")) == []


def test_documents_search_with_no_match_says_so_and_keeps_the_box(client, shared):
    html = hx(client, "/client/documents?q=invoice-2019").get_data(as_text=True)
    assert "No documents match “invoice-2019”." in html and "Show all documents" in html
    assert 'name="q" value="invoice-2019"' in html
    assert "No documents have been shared with you." not in html
    assert 'name="q"' in hx(client, "/client/documents").get_data(as_text=True)
