"""Helpers and a fixture for the staff document editor's tests
(tests/test_admin_documents_editor.py and tests/test_admin_documents_actions.py);
registered for every test module through conftest's pytest_plugins. `editor_staff` is
`client` logged in to the back office, with `.acme` (a client with a contact) and `.token`
(a CSRF token); `create` posts the editor's form for one kind of document."""
import pytest

import models
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import login_staff, opened

KINDS = ("invoices", "quotes", "credits", "recurring_invoices")
MODELS = {"invoices": models.Invoice, "quotes": models.Quote, "credits": models.Credit,
          "recurring_invoices": models.RecurringInvoice}
EXTRA = {"invoices": {"date": "2026-11-01", "due_date": "2026-12-01", "po_number": "PO-7"},
         "quotes": {"date": "2026-11-01", "valid_until": "2026-12-31"},
         "credits": {"date": "2026-11-01", "reason": "refund"},
         "recurring_invoices": {"start_date": "2026-12-01", "frequency": "monthly",
                                "remaining_cycles": "12", "due_days": "14"}}
LINES = {"product": ["Design", "Hosting", ""], "description": ["Logo design", "Web hosting", ""],
         "quantity": ["2", "1.5", ""], "unit_price": ["400.00", "10.10", ""],
         "discount_percent": ["10", "", ""], "tax_name": ["VAT", "", ""],
         "tax_rate": ["20", "", ""]}


@pytest.fixture
def editor_staff(app, client):
    with opened(app):
        factories.staff("boss@test.example")
        client.acme = factories.client(name="Acme Buyer")
        factories.contact(client.acme, email="buyer@acme.example")
    assert login_staff(client, "boss@test.example").status_code == 302
    client.token = csrf_token(client, "/admin/invoices/new")
    return client


def post(http, path, data=None, htmx=False, **fields):
    body = {"csrf_token": http.token, **(data or {}), **fields}
    headers = {"HX-Request": "true"} if htmx else {}
    return http.post(path, data=body, headers=headers)


def create(http, kind, **fields):
    data = {"client": str(http.acme.id), **LINES, **EXTRA[kind], "discount": "5.00"}
    data.update(fields)
    return post(http, f"/admin/{kind}/new", data)


def text(response):
    return response.get_data(as_text=True)

