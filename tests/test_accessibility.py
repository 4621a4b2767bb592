"""Accessibility in the HTML the server sends: a title per page (and in htmx fragments), the
skip link, aria-sort on headers, errors tied to fields; a cancelled invoice owes nothing."""
import re

import models
from tests.conftest import hx


def html(response):
    return response.get_data(as_text=True)


def title(text):
    return re.search(r"<title>(.*?)</title>", text, re.S).group(1)


def company_name():
    return (models.Company.current() or models.Company(name="Client Portal")).name


def test_every_page_has_its_own_title_in_the_page_and_in_the_htmx_fragment(client, auth, world):
    auth.login("a1@alpha.example")
    invoice = world["invoices"]["sent"]
    path = f"/client/invoices/{invoice.public_id}"
    page = html(client.get(path))
    name = company_name()
    assert title(page) == f"Invoice {invoice.number} · {name}"
    assert page.count("<title>") == 1  # taken out of the fragment into <head>
    assert page.index("<title>") < page.index("</head>")
    fragment = html(hx(client, path))
    assert fragment.startswith(f"<title>Invoice {invoice.number} · {name}</title>")
    # A list is named after its tab.
    assert title(html(client.get("/client/payments"))) == f"Payments · {name}"
    assert html(hx(client, "/client/payments")).startswith(f"<title>Payments · {name}</title>")
    assert title(html(client.get("/client/profile"))) == f"Your details · {name}"


def test_skip_link_comes_first_and_leads_to_main(client, auth, world):
    auth.login("a1@alpha.example")
    page = html(client.get("/client/invoices"))
    body = page[page.index("<body"):]
    first_link = re.search(r"<a [^>]*>", body).group(0)
    assert 'href="#main"' in first_link and "skip-link" in first_link
    assert '<main id="main">' in page
    staff_login = html(client.get("/admin/login"))  # the sign-in shell has it too
    assert '<a class="skip-link" href="#main">' in staff_login and 'id="main"' in staff_login


def test_sort_state_is_on_the_column_header_not_the_link(client, auth, world):
    auth.login("a1@alpha.example")
    page = html(client.get("/client/invoices?sort=-total"))
    assert re.search(r'<th class="num" aria-sort="descending"><a [^>]*id="sort-total"', page)
    assert not re.search(r"<a [^>]*aria-sort", page)
    assert "<th></th>" not in page


def test_search_form_swaps_its_results_not_itself(client, auth, world):
    auth.login("a1@alpha.example")
    page = html(client.get("/client/invoices"))
    form = re.search(r'<form class="filters"[^>]*>', page).group(0)
    assert 'hx-target="#invoice-results"' in form and 'hx-select="#invoice-results"' in form
    results = page.index('<div id="invoice-results">')
    assert page.index('<form class="filters"') < results < page.index("<table")


def test_statement_error_is_tied_to_its_field_and_swapped_with_the_results(client, auth, world):
    auth.login("a1@alpha.example")
    response = hx(client, "/client/statement?start_date=2025-12-31&end_date=2025-01-01")
    assert response.status_code == 422
    text = html(response)
    assert 'id="statement-error" role="alert"' in text
    start = re.search(r'<input type="date" name="start_date"[^>]*>', text).group(0)
    assert 'aria-invalid="true"' in start and 'aria-describedby="statement-error"' in start
    end = re.search(r'<input type="date" name="end_date"[^>]*>', text).group(0)
    assert "aria-invalid" not in end
    ok = html(hx(client, "/client/statement?start_date=2025-01-01&end_date=2025-12-31"))
    assert "aria-invalid" not in ok


def test_a_cancelled_invoice_owes_nothing_in_the_portal(client, auth, world):
    auth.login("a1@alpha.example")
    cancelled = world["invoices"]["cancelled"]
    assert cancelled.balance > 0  # left over from before it was cancelled
    page = html(client.get(f"/client/invoices/{cancelled.public_id}"))
    due = re.search(r'<dt class="grand">Balance due</dt><dd class="grand">([^<]+)</dd>', page)
    assert due.group(1) == "$0.00"
    assert re.search(r"<dt>Balance</dt><dd><strong>\$0\.00</strong>", page)
    assert ">Pay " not in page
    listed = html(client.get("/client/invoices?status=all&q=" + cancelled.number))
    assert re.search(r'data-label="Balance" class="num">\$0\.00<', listed)
    sent = world["invoices"]["sent"]
    page = html(client.get(f"/client/invoices/{sent.public_id}"))
    assert "<dt class=\"grand\">Balance due</dt><dd class=\"grand\">$0.00" not in page
