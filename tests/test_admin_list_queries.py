"""Every back-office list is a Listing (billing/admin_lists.py): its page and total in one
statement, whatever the search, filter, sort or page, and searchable where staff look.

The budget: the staff session's own lookup, measured at two queries (the staff member, then
the company the shell names), plus at most three for the list (its page with its total, and
at most one or two more for what its rows or form show besides their own columns)."""
import re

import pytest

import models
from tests import factories
from tests.core_support import QueryCounter, login_staff, opened
from tests.factories import insert, rows_in_every_tab

SESSION_QUERIES = 2  # StaffUser.for_session, Company.current
MAX_QUERIES = SESSION_QUERIES + 3
PER_PAGE = 50
ROWS = 30  # per client; two clients make 60 of each record, more than a page

LISTS = {
    "clients": "/admin/clients",
    "invoices": "/admin/invoices",
    "quotes": "/admin/quotes",
    "credits": "/admin/credits",
    "recurring": "/admin/recurring_invoices",
    "payments": "/admin/payments",
    "documents": "/admin/documents/",
    "products": "/admin/products",
    "plans": "/admin/subscriptions",
    "outbox": "/admin/outbox",
    "activity": "/admin/activity",
}
# A search that finds some rows of each list (the budget must hold for it too).
SEARCHES = {"clients": "Bulk", "invoices": "INV-0001", "quotes": "QUO-0001",
            "credits": "CR-0001", "recurring": "REC-0001", "payments": "PAY-0001",
            "documents": "file-1", "products": "Widget 1", "plans": "Plan 1",
            "outbox": "Reminder 1", "activity": ""}


@pytest.fixture
def many(app, client):
    """Two clients with 30 of every record each, 55 more clients, products, plans, e-mails
    and activity: every list has a second page."""
    with opened(app):
        alpha = factories.client(name="Alpha Works", number="C-ALPHA", email="ap@alpha.example")
        factories.contact(alpha, email="pat@alpha.example", first_name="Pat")
        beta = factories.client(name="Beta Trading", number="C-BETA")
        factories.contact(beta, email="sam@beta.example", first_name="Sam")
        rows_in_every_tab(alpha, ROWS)
        rows_in_every_tab(beta, ROWS, start=ROWS)
        models.Invoice.update(po_number="PO-" + models.Invoice.number).execute()
        models.Payment.update(reference="REF-" + models.Payment.number).execute()
        insert(models.Client, [{"name": f"Bulk client {n:02d}", "number": f"B{n:02d}",
                                "currency": "USD"} for n in range(55)])
        insert(models.Product, [{"name": f"Widget {n:02d}", "price": 100 * n}
                                for n in range(55)])
        insert(models.Plan, [{"name": f"Plan {n:02d}", "price": 1000 + n, "currency": "USD"}
                             for n in range(55)])
        insert(models.EmailMessage, [{"to": f"to{n}@mail.example", "subject": f"Reminder {n:02d}",
                                      "body_text": "Hello"} for n in range(55)])
        invoice_ids = [i.id for i in models.Invoice.select(models.Invoice.id).limit(30)]
        payment_ids = [p.id for p in models.Payment.select(models.Payment.id).limit(30)]
        contact = models.Contact.get(models.Contact.email == "pat@alpha.example")
        insert(models.Activity, [
            {"client": alpha.id, "contact": contact.id, "actor": "contact",
             "action": "invoice.viewed", "subject_type": "invoice", "subject_id": i}
            for i in invoice_ids] + [
            {"client": alpha.id, "actor": "system", "action": "payment.recorded",
             "subject_type": "payment", "subject_id": p} for p in payment_ids])
        factories.staff("lists@staff.example")
    login_staff(client, "lists@staff.example")
    return {"alpha": alpha, "beta": beta}


def get(client, path):
    with QueryCounter() as counter:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True), counter


def test_the_staff_session_costs_what_the_budget_says(client, many):
    """The outbox of no e-mails is the session's lookup and one list statement."""
    with opened(client.application):
        models.EmailMessage.delete().execute()
    html, counter = get(client, "/admin/outbox")
    assert counter.count == SESSION_QUERIES + 1, counter.statements
    assert "No messages yet." in html


@pytest.mark.parametrize("name", LISTS)
def test_each_list_stays_within_the_budget(client, many, name):
    for variant in ("", f"?q={SEARCHES[name]}", "?page=2"):
        html, counter = get(client, LISTS[name] + variant)
        assert counter.count <= MAX_QUERIES, (name, variant, counter.statements)
        if variant == "?page=2":
            assert "Page 2 of" in html, name


@pytest.mark.parametrize("name", [n for n in LISTS if n != "activity"])
def test_each_list_pages_with_one_statement_for_its_rows_and_total(client, many, name):
    """No separate COUNT: the total rides along with the page."""
    _, counter = get(client, LISTS[name] + "?page=2")
    assert not [s for s in counter.statements if s[0].startswith("SELECT COUNT")], name


def numbers(html, prefix):
    return re.findall(rf">({prefix}-\d+)<", html)


def test_page_two_shows_the_next_rows_without_repeats(client, many):
    first, _ = get(client, "/admin/invoices?sort=number")
    second, _ = get(client, "/admin/invoices?sort=number&page=2")
    one, two = numbers(first, "INV"), numbers(second, "INV")
    assert len(one) == PER_PAGE and len(two) == 2 * ROWS - PER_PAGE
    assert not set(one) & set(two)
    assert one + two == sorted(one + two) == [f"INV-{n:05d}" for n in range(2 * ROWS)]
    assert "Page 2 of 2 · 60 in all" in second
    assert "sort=number" in re.search(r'href="([^"]+)"[^>]* rel="prev"', second).group(1)


def test_pager_links_keep_the_search_and_sort(client, many):
    html, _ = get(client, "/admin/clients?q=Bulk&sort=-created")
    assert "Page 1 of 2 · 55 in all" in html and "Alpha Works" not in html
    link = re.search(r'<a href="([^"]+)"[^>]* rel="next">', html).group(1)
    assert "q=Bulk" in link and "sort=-created" in link and "page=2" in link
    second, _ = get(client, link.replace("&amp;", "&"))
    assert "Bulk client 00" in second and "Bulk client 54" not in second


def test_sorting(client, many):
    html, _ = get(client, "/admin/invoices?sort=-total")
    listed = numbers(html, "INV")
    assert listed[0] == "INV-00059" and listed[:3] == ["INV-00059", "INV-00058", "INV-00057"]
    html, _ = get(client, "/admin/payments?sort=number")
    assert numbers(html, "PAY")[:2] == ["PAY-00000", "PAY-00001"]
    html, _ = get(client, "/admin/products?sort=-price")
    assert html.index("Widget 54") < html.index("Widget 53")
    html, _ = get(client, "/admin/clients?sort=-nonsense")  # unknown: the default, by name
    assert html.index("Alpha Works") < html.index("Beta Trading") < html.index("Bulk client")
    assert 'value="name" selected' in html


@pytest.mark.parametrize("name, query, found, not_found", [
    ("clients", "Alpha", "Alpha Works", "Beta Trading"),
    ("clients", "C-BETA", "Beta Trading", "Alpha Works"),
    ("clients", "ap@alpha", "Alpha Works", "Beta Trading"),
    ("clients", "sam@beta", "Beta Trading", "Alpha Works"),  # a contact's e-mail
    ("invoices", "INV-00007", ">INV-00007<", ">INV-00008<"),
    ("invoices", "PO-INV-00008", ">INV-00008<", ">INV-00007<"),
    ("invoices", "beta trading", ">INV-00031<", ">INV-00001<"),  # the client's name
    ("quotes", "QUO-00012", ">QUO-00012<", ">QUO-00011<"),
    ("credits", "CR-00013", ">CR-00013<", ">CR-00014<"),
    ("recurring", "REC-00014", ">REC-00014<", ">REC-00015<"),
    ("payments", "PAY-00015", ">PAY-00015<", ">PAY-00016<"),
    ("payments", "REF-PAY-00016", ">PAY-00016<", ">PAY-00015<"),  # the payment's reference
    ("documents", "file-17.pdf", "file-17.pdf", "file-18.pdf"),
    ("products", "Widget 09", "Widget 09", "Widget 10"),
    ("plans", "Plan 10", "Plan 10", "Plan 11"),
    ("outbox", "Reminder 11", "Reminder 11", "Reminder 12"),
    ("outbox", "to12@mail", "Reminder 12", "Reminder 11"),
])
def test_search_finds_by_each_searchable_field(client, many, name, query, found, not_found):
    html, _ = get(client, f"{LISTS[name]}?q={query}")
    assert found in html and not_found not in html, (name, query)


def test_search_is_scoped_to_the_matching_client_and_keeps_its_filters(client, many):
    html, _ = get(client, "/admin/invoices?q=Alpha+Works&status=paid")
    listed = numbers(html, "INV")
    assert listed and all(int(n[4:]) < ROWS and int(n[4:]) % 2 for n in listed)
    assert "Page 1 of" not in html  # 15 rows: one page
    assert 'value="Alpha Works"' in html and "<option selected>paid</option>" in html


@pytest.mark.parametrize("name", [n for n in LISTS if n != "activity"])
def test_a_search_that_finds_nothing_says_so(client, many, name):
    html, _ = get(client, f"{LISTS[name]}?q=zz%25nothing")
    assert "match “zz%nothing”." in html, name
    assert f'<a href="{LISTS[name]}">Show all ' in html, name
    assert '<table class="records">' not in html


def test_like_wildcards_are_matched_literally(client, many):
    html, _ = get(client, "/admin/invoices?q=%25")
    assert "No invoices match “%”." in html
    html, _ = get(client, "/admin/products?q=_")
    assert "No products match “_”." in html


def test_an_unknown_status_is_ignored_and_archived_lists_stay_apart(client, many):
    html, _ = get(client, "/admin/invoices?status=bogus")
    assert "Page 1 of 2" in html
    with opened(client.application):
        models.Product.update(archived_at=models.utcnow()).where(
            models.Product.name == "Widget 05").execute()
    current, _ = get(client, "/admin/products?q=Widget+05")
    archived, _ = get(client, "/admin/products?q=Widget+05&archived=1")
    assert "No products match" in current and "Widget 05" in archived
    assert 'name="archived" value="1"' in archived  # the search keeps to archived ones


def test_plans_show_their_live_subscribers(client, many):
    html, _ = get(client, "/admin/subscriptions?q=Support+plan")
    row = re.search(r"<strong>Support plan</strong>.*?</tr>", html, re.S).group(0)
    assert '<td data-label="Subscribers" class="num">60</td>' in row



def test_activity_names_its_people_and_records_in_the_same_statement(client, many):
    html, counter = get(client, f"/admin/activity?client={many['alpha'].id}&page=2")
    assert "Page 2 of 2 · 60 in all" in html
    assert "Invoice INV-000" in html and "Pat Contact" in html
    assert '<td data-label="Client"><a href="/admin/activity?client=' in html
    assert ">Alpha Works</a></td>" in html
    first, _ = get(client, "/admin/activity?subject_type=payment")
    assert "Payment PAY-000" in first and ">Alpha Works</a></td>" in first
    assert f"client={many['alpha'].id}" in re.search(
        r'href="([^"]+)"[^>]* rel="prev"', html).group(1)
    assert not [s for s in counter.statements if "IN (" in s[0]]  # no name look-ups by id
