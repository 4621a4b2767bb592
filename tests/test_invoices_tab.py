"""The Invoices tab: list rules, sorting, filters, search, pages, fragments, the invoice, PDF."""
import datetime as dt
import re

import pytest

import models
from billing import invoices as invoice_service
from billing import payments
from tests import factories
from tests.conftest import hx
from tests.core_support import QueryCounter, opened, pdf_text

TODAY = models.utcnow().date()
ROW_RE = re.compile(r'<td data-label="Number"><a [^>]*>([^<]+)</a>')


def rows(response):
    return ROW_RE.findall(response.get_data(as_text=True))


def status_of(response, number):
    html = response.get_data(as_text=True)
    match = re.search(re.escape(number) + r'</a>.*?class="status status-([a-z_]+)"', html, re.S)
    return match.group(1)


def bulk_invoices(client_, count, start=1, **fields):
    """Many visible invoices in one statement (the factories go one by one)."""
    models.Invoice.insert_many([{
        "client": client_.id, "number": f"BULK-{n:05d}", "status": "sent",
        "date": TODAY - dt.timedelta(days=n), "due_date": TODAY + dt.timedelta(days=30 - n % 7),
        "currency": "USD", "total": 1000 + n, "balance": 1000 + n, "public_id": f"bulk{n:05d}",
        **fields} for n in range(start, start + count)]).execute()
    models.Client.recount_listed_invoices()  # a bulk load bypasses the services' counter


@pytest.fixture
def varied(app):
    """Client V with invoices that differ in every column; contact v@v.example."""
    with opened(app):
        v = factories.client(name="Varied Inc")
        factories.contact(v, email="v@v.example")
        made = []
        specs = [  # (days ago, due in, unit cost, status, paid part)
            (10, 20, 30000, "sent", 0),
            (40, -10, 12000, "sent", 0),       # overdue
            (25, 5, 50000, "partial", 20000),
            (60, -30, 8000, "paid", None),
            (5, 25, 99000, "cancelled", 0),
            (15, -1, 41000, "partial", 1000),  # overdue, partly paid
        ]
        for days_ago, due_in, cost, status, paid in specs:
            inv = factories.invoice(v, status="draft", lines=[{"product": "W", "unit_cost": cost}],
                                    date=TODAY - dt.timedelta(days_ago),
                                    due_date=TODAY + dt.timedelta(due_in))
            if status == "cancelled":
                invoice_service.mark_sent(inv)
                invoice_service.cancel(inv)
            elif status == "paid":
                invoice_service.mark_paid(inv)
            else:
                invoice_service.mark_sent(inv)
                if paid:
                    inv = models.Invoice.get_by_id(inv.id)
                    payments.record_payment(v, paid, "USD", [(inv, paid)], method="cash")
            made.append(models.Invoice.get_by_id(inv.id))
        draft = factories.invoice(v, status="draft", date=TODAY)
    return {"client": v, "invoices": made, "draft": draft}


def login(auth):
    assert auth.login("v@v.example").status_code == 302


def test_list_never_shows_drafts_and_marks_states(client, auth, varied):
    login(auth)
    response = client.get("/client/invoices")
    numbers = rows(response)
    assert varied["draft"].number not in numbers
    assert sorted(numbers) == sorted(inv.number for inv in varied["invoices"])
    expected = ["sent", "overdue", "partial", "paid", "cancelled", "overdue"]
    assert [status_of(response, inv.number) for inv in varied["invoices"]] == expected
    assert client.get(f"/client/invoices/{varied['draft'].public_id}").status_code == 404


@pytest.mark.parametrize("column", ["number", "date", "due_date", "total", "balance", "status"])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_by_each_column_both_ways(client, auth, varied, column, descending):
    login(auth)
    sort = ("-" if descending else "") + column
    got = rows(client.get(f"/client/invoices?sort={sort}"))
    key = lambda inv: (getattr(inv, column), inv.id)  # noqa: E731
    expected = [inv.number for inv in sorted(varied["invoices"], key=key, reverse=descending)]
    assert got == expected
    # The header link of the sorted column flips the direction.
    html = client.get(f"/client/invoices?sort={sort}").get_data(as_text=True)
    flipped = column if descending else "-" + column
    assert f"sort={flipped}" in html.replace("%2D", "-")


def test_default_sort_is_newest_first(client, auth, varied):
    login(auth)
    got = rows(client.get("/client/invoices"))
    assert got == [inv.number for inv in sorted(varied["invoices"], key=lambda i: i.date,
                                                 reverse=True)]


@pytest.mark.parametrize("status,indexes", [
    ("unpaid", [0, 1, 2, 5]), ("paid", [3]), ("overdue", [1, 5]), ("all", [0, 1, 2, 3, 4, 5]),
    ("bogus", [0, 1, 2, 3, 4, 5]),
])
def test_status_filter(client, auth, varied, status, indexes):
    login(auth)
    got = rows(client.get(f"/client/invoices?status={status}"))
    assert sorted(got) == sorted(varied["invoices"][i].number for i in indexes)


def test_search_by_number(client, auth, varied):
    login(auth)
    target = varied["invoices"][2].number
    assert rows(client.get(f"/client/invoices?q={target}")) == [target]
    assert rows(client.get(f"/client/invoices?q={target.lower()}")) == [target]
    assert sorted(rows(client.get("/client/invoices?q=INV-"))) == sorted(
        inv.number for inv in varied["invoices"])
    # LIKE wildcards are searched for literally.
    none = client.get("/client/invoices?q=%25")
    assert rows(none) == []
    assert rows(client.get("/client/invoices?q=INV_")) == []
    assert rows(client.get("/client/invoices?q=INV_&status=unpaid")) == []
    assert "No invoices match" in none.get_data(as_text=True)


def test_search_by_po_number(client, auth, varied):
    """A buyer looks an invoice up by their own purchase-order number too."""
    target, other = varied["invoices"][1], varied["invoices"][3]
    with opened(client.application):
        models.Invoice.update(po_number="PO-7731-ACME").where(
            models.Invoice.id == target.id).execute()
        models.Invoice.update(po_number="PO-1200").where(models.Invoice.id == other.id).execute()
    login(auth)
    assert rows(client.get("/client/invoices?q=7731")) == [target.number]
    assert rows(client.get("/client/invoices?q=po-7731-acme")) == [target.number]
    assert sorted(rows(client.get("/client/invoices?q=PO-"))) == sorted(
        [target.number, other.number])
    page = client.get("/client/invoices").get_data(as_text=True)
    assert 'placeholder="Invoice or PO number"' in page


def test_empty_and_no_match_states(client, auth, varied):
    login(auth)
    nomatch = client.get("/client/invoices?q=ZZZ&status=paid").get_data(as_text=True)
    assert "No invoices match “ZZZ” among paid invoices." in nomatch
    assert "Show all invoices" in nomatch
    with opened(client.application):
        lonely = factories.client(name="Empty Co")
        factories.contact(lonely, email="e@empty.example")
    auth.logout()
    auth.login("e@empty.example")
    empty = client.get("/client/invoices").get_data(as_text=True)
    assert "You have no invoices yet" in empty and "<table" not in empty


def test_pagination_covers_every_row_once(app, client, auth, varied):
    with opened(app):
        bulk_invoices(varied["client"], 54)  # 6 + 54 = 60 visible
    login(auth)
    assert app.config["PAGE_SIZE"] == 25
    seen = []
    for page in (1, 2, 3):
        response = client.get(f"/client/invoices?page={page}&sort=number")
        html = response.get_data(as_text=True)
        assert f"Page {page} of 3 · 60 in all" in html
        seen += rows(response)
    assert len(seen) == 60 and len(set(seen)) == 60
    assert seen == sorted(seen)
    # Ties (same date) still page without repeats: id breaks them.
    with opened(app):
        models.Invoice.update(date=TODAY).execute()
    tied = []
    for page in (1, 2, 3):
        tied += rows(client.get(f"/client/invoices?page={page}&sort=date"))
    assert len(set(tied)) == 60
    # Past the end: the last page, not an empty "no invoices" answer.
    last = client.get("/client/invoices?page=99&sort=number")
    assert rows(last) == seen[50:]
    pager = client.get("/client/invoices?page=2&sort=number&status=unpaid").get_data(as_text=True)
    assert 'rel="prev"' in pager and 'rel="next"' in pager
    assert "status=unpaid" in re.search(r'href="([^"]*)"[^>]*rel="next"', pager).group(1)


def test_page_or_fragment_and_vary(client, auth, varied):
    login(auth)
    page = client.get("/client/invoices")
    fragment = hx(client, "/client/invoices")
    restore = hx(client, "/client/invoices", headers={"HX-History-Restore-Request": "true"})
    boosted = hx(client, "/client/invoices", headers={"HX-Boosted": "true"})
    for response in (page, fragment, restore, boosted):
        assert response.status_code == 200
        vary = ",".join(response.headers.getlist("Vary"))
        assert vary.count("HX-Request") == 1, vary
    assert "<html" in page.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    assert rows(fragment) == rows(page)
    assert "<html" in restore.get_data(as_text=True) and "<html" in boosted.get_data(as_text=True)
    show = hx(client, f"/client/invoices/{varied['invoices'][0].public_id}")
    assert show.status_code == 200 and "<html" not in show.get_data(as_text=True)
    # A tab switch is small (DESIGN.md §3: under ~4 KB compressed).
    assert len(fragment.data) < 20_000


def test_expired_session_on_htmx_request_redirects_to_login(client, auth, varied):
    login(auth)
    with opened(client.application):
        models.Contact.update(session_token="rotated").where(
            models.Contact.email == "v@v.example").execute()
    response = hx(client, "/client/invoices?page=2", headers={
        "HX-Current-URL": "http://localhost/client/invoices?status=paid"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/client/login?next=/client/invoices?status%3Dpaid"
    assert response.data == b""
    foreign = hx(client, "/client/invoices", headers={"HX-Current-URL": "http://evil.example/x"})
    assert foreign.headers["HX-Redirect"] == "/client/login"
    plain = client.get("/client/invoices")
    assert plain.status_code == 302 and "/client/login" in plain.headers["Location"]


@pytest.fixture
def full_invoice(app):
    with opened(app):
        factories.company(name="Test Studio", address="1 Main St")
        c = factories.client(name="Full Detail GmbH", address="Hauptstrasse 5\nBerlin")
        factories.contact(c, email="f@full.example")
        inv = invoice_service.create_invoice(
            c, [{"product": "Consulting", "description": "Workshop hours", "quantity": "2.5",
                 "unit_cost": 10000, "tax_name": "VAT", "tax_rate": "20"},
                {"product": "Licence", "quantity": 1, "unit_cost": 5000,
                 "discount_percent": "10", "tax_name": "GST", "tax_rate": "5"}],
            date=TODAY, due_date=TODAY + dt.timedelta(14), discount=1000, partial=10000,
            partial_due_date=TODAY + dt.timedelta(7), notes="Thanks for your trust.",
            terms="Net 14 days.", po_number="PO-42", status="sent")
    return inv


def test_invoice_page_shows_everything(client, auth, full_invoice):
    auth.login("f@full.example")
    html = client.get(f"/client/invoices/{full_invoice.public_id}").get_data(as_text=True)
    # 2.5 x 100.00 = 250.00; 50.00 - 10% = 45.00; subtotal 295.00; discount 10.00 shared
    # pro rata: VAT 20% of (250 - 8.47) = 48.31, GST 5% of (45 - 1.53) = 2.17.
    for text in ("Consulting", "Workshop hours", "Licence", "Discount 10%", "$250.00", "$45.00",
                 "Subtotal", "$295.00", "−$10.00", "VAT 20%", "$48.31", "GST 5%", "$2.17",
                 "$335.48", "Deposit due", "$100.00", "Thanks for your trust.", "Net 14 days.",
                 "PO-42", "Full Detail GmbH", "Test Studio"):
        assert text in html, text
    assert full_invoice.total == 33548 and full_invoice.tax_total == 4831 + 217


def test_pdf_is_a_real_invoice(client, auth, full_invoice, tmp_path):
    auth.login("f@full.example")
    response = client.get(f"/client/invoices/{full_invoice.public_id}/pdf")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="invoice-{full_invoice.number}.pdf"')
    text = pdf_text(response.data)
    for expected in (full_invoice.number, "Full Detail GmbH", "Test Studio", "$295.00",
                     "$335.48", "$48.31", "Deposit due", "Net 14 days.", "Consulting"):
        assert expected in text, expected
    inline = client.get(f"/client/invoices/{full_invoice.public_id}/pdf?inline=1")
    assert inline.headers["Content-Disposition"].startswith("inline;")


def test_invoices_tab_query_budget(app, client, auth):
    """STYLE.md pattern 10: a small constant number of queries, whatever the row count."""
    with opened(app):
        c = factories.client(name="Big Co")
        factories.contact(c, email="big@big.example")
        bulk_invoices(c, 20)
    auth.login("big@big.example")
    requests = {"page": lambda: client.get("/client/invoices"),
                "fragment": lambda: hx(client, "/client/invoices"),
                "page 3": lambda: client.get("/client/invoices?page=3&sort=-total"),
                "filtered": lambda: hx(client, "/client/invoices?status=unpaid&q=BULK")}
    counts = {}
    for rows_now in (20, 200):
        if rows_now == 200:
            with opened(app):
                bulk_invoices(c, 180, start=21)
        for name, get in requests.items():
            with QueryCounter() as counter:
                response = get()
            assert response.status_code == 200
            assert counter.count <= 5, (name, counter.statements)
            counts[name, rows_now] = counter.count
    for name in requests:
        assert counts[name, 20] == counts[name, 200], counts
    assert counts["fragment", 200] <= 4


def test_every_htmx_link_and_form_works_without_javascript(client, auth, full_invoice):
    """JS off: each hx-get has the same href, each hx-post form posts to the same action."""
    auth.login("f@full.example")
    for path in ("/client/invoices", f"/client/invoices/{full_invoice.public_id}",
                 "/client/profile", "/client/invoices?status=paid"):
        html = client.get(path).get_data(as_text=True)
        for tag in re.findall(r"<a [^>]*hx-get=[^>]*>", html):
            href = re.search(r'href="([^"]*)"', tag).group(1)
            assert f'hx-get="{href}"' in tag, tag
            assert client.get(href.replace("&amp;", "&")).status_code == 200, href
        for form in re.findall(r"<form [^>]*>", html):
            if "hx-post" in form:
                action = re.search(r'hx-post="([^"]*)"', form).group(1)
                assert 'method="post"' in form and f'action="{action}"' in form, form
            if "hx-get" in form:
                action = re.search(r'hx-get="([^"]*)"', form).group(1)
                assert 'method="get"' in form and f'action="{action}"' in form, form
        assert "<noscript><button>Apply</button></noscript>" in html or "filters" not in html


def test_kept_row_html_follows_the_invoice_and_the_locale(app, client, auth, varied):
    """Rows are rendered once per distinct content: a paid invoice or another locale is a
    different row, never the HTML kept from an earlier view."""
    login(auth)
    target = varied["invoices"][0]
    before = client.get("/client/invoices")
    assert status_of(before, target.number) == "sent"
    assert "$300.00" in before.get_data(as_text=True)
    with opened(app):
        invoice_service.mark_paid(models.Invoice.get_by_id(target.id))
        models.Contact.update(locale="de_DE").where(
            models.Contact.email == "v@v.example").execute()
    after = client.get("/client/invoices")
    assert status_of(after, target.number) == "paid"
    html = after.get_data(as_text=True)
    assert "300,00\xa0$" in html and "$300.00" not in html


def test_sort_menu_for_phones_offers_every_sort_and_shows_the_current_one(client, auth, varied):
    """On a phone the table's headers are hidden (rows become cards): the filter form sorts."""
    login(auth)
    html = client.get("/client/invoices?sort=-total&status=unpaid").get_data(as_text=True)
    menu = re.search(r'<select name="sort"[^>]*>(.*?)</select>', html, re.S).group(1)
    values = re.findall(r'<option value="([^"]+)"', menu)
    assert len(values) == 12 and {v.lstrip("-") for v in values} == {
        "date", "due_date", "number", "total", "balance", "status"}
    assert re.findall(r'<option value="([^"]+)" selected', menu) == ["-total"]
    assert re.findall(r'<option value="([^"]+)" selected',
                      re.search(r'<select name="status">(.*?)</select>', html, re.S).group(1)
                      ) == ["unpaid"]
    # The menu submits with the form: the same GET the headers make.
    got = rows(client.get("/client/invoices?status=all&q=&sort=total"))
    assert got == [inv.number for inv in sorted(varied["invoices"], key=lambda i: i.total)]
