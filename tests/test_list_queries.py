"""Every portal tab answers in a few queries, however many rows its list holds
(STYLE.md pattern 10, issue 14 §1): the session (contact, client and company), the page of
rows with its total, and at most one more for what the rows show besides their own columns."""
import datetime as dt

import pytest

from tests import factories
from tests.conftest import hx
from tests.core_support import QueryCounter, opened
from tests.factories import rows_in_every_tab

MAX_QUERIES = 3
ROWS = 30  # more than a page (PAGE_SIZE is 25), so every paged list has a second page
TODAY = dt.date.today()

TABS = {
    "invoices": "/client/invoices",
    "recurring": "/client/recurring_invoices",
    "payments": "/client/payments",
    "quotes": "/client/quotes",
    "credits": "/client/credits",
    "payment_methods": "/client/payment_methods",
    "documents": "/client/documents",
    "statement": "/client/statement",
    "subscriptions": "/client/subscriptions",
}
# The filtered and later-page views each tab offers; they must stay within the budget too.
VARIANTS = {
    "invoices": ("?status=unpaid", "?q=INV&sort=-total", "?page=2"),
    "quotes": ("?status=sent", "?page=2", "?q=QUO&status=sent&page=2"),
    "credits": ("?status=available", "?page=2"),
    "payments": ("?page=2", "?q=PAY&page=2"), "recurring": ("?page=2",),
    "documents": ("?page=2", "?q=.pdf&page=2"),
    "subscriptions": ("?page=2",),
    "statement": ("?status=unpaid", f"?start_date={TODAY.replace(day=1) - dt.timedelta(400)}"
                  f"&end_date={TODAY}"),
}


@pytest.fixture
def full(app, auth):
    with opened(app):
        c = factories.client(name="Many Rows Ltd")
        factories.contact(c, email="many@rows.example")
        rows_in_every_tab(c, ROWS)
    auth.login("many@rows.example")
    return c


def queries(get):
    with QueryCounter() as counter:
        response = get()
    assert response.status_code == 200, response.status_code
    return counter


@pytest.mark.parametrize("tab", TABS)
def test_each_tab_fragment_stays_within_the_query_budget(client, full, tab):
    counter = queries(lambda: hx(client, TABS[tab]))
    assert 0 < counter.count <= MAX_QUERIES, (tab, counter.statements)


@pytest.mark.parametrize("tab", TABS)
def test_each_tab_page_costs_no_more_queries_than_its_fragment(client, full, tab):
    fragment = queries(lambda: hx(client, TABS[tab])).count
    page = queries(lambda: client.get(TABS[tab])).count
    assert page <= fragment, (tab, fragment, page)


@pytest.mark.parametrize("tab", [tab for tab in TABS if tab in VARIANTS])
def test_filtered_and_later_pages_stay_within_the_budget(client, full, tab):
    for variant in VARIANTS[tab]:
        counter = queries(lambda: hx(client, TABS[tab] + variant))  # noqa: B023
        assert counter.count <= MAX_QUERIES, (tab, variant, counter.statements)


def test_the_lists_page_and_show_their_rows(client, full):
    """The counted requests are the real lists: a second page, and the rows' own words."""
    for tab, marker in (("invoices", "INV-000"), ("recurring", "REC-000"),
                        ("payments", "PAY-000"), ("quotes", "QUO-000"), ("credits", "CR-000"),
                        ("documents", "file-"), ("subscriptions", "Support plan")):
        html = hx(client, TABS[tab]).get_data(as_text=True)
        assert "Page 1 of 2" in html and marker in html, tab
        second = hx(client, TABS[tab] + "?page=2").get_data(as_text=True)
        assert "Page 2 of 2" in second, tab
    payments = hx(client, TABS["payments"]).get_data(as_text=True)
    assert ">INV-000" in payments  # each payment names the invoice it paid
    documents = hx(client, TABS["documents"]).get_data(as_text=True)
    assert "Invoice INV-000" in documents
    assert "•••• 0004" in hx(client, TABS["payment_methods"]).get_data(as_text=True)
    assert "Invoice INV-000" in hx(client, TABS["statement"]).get_data(as_text=True)


@pytest.mark.parametrize("tab", [tab for tab in TABS if tab != "payment_methods"])
def test_query_count_does_not_grow_with_the_rows(app, client, full, tab):
    before = queries(lambda: hx(client, TABS[tab])).count
    with opened(app):
        rows_in_every_tab(full, ROWS, start=ROWS)
    after = queries(lambda: hx(client, TABS[tab])).count
    assert after == before, (tab, before, after)
