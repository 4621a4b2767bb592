"""Back office: record a payment for one client, an amount per open invoice."""
import pytest

import models
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import login_staff, snapshot
from tests.payments_support import reload

PATH = "/admin/payments/new"


@pytest.fixture
def staff_http(client, world, conn):
    factories.staff(email="boss@test.example")
    login_staff(client, "boss@test.example")
    return client


def submit(http, world, key="k" * 32, **fields):
    a = world["a"]
    sent, partial = world["invoices"]["sent"], world["invoices"]["partial"]
    data = {"csrf_token": csrf_token(http, PATH), "key": key, "client": str(a.id),
            "invoice": [str(sent.id), str(partial.id)], f"amount_{sent.id}": "",
            f"amount_{partial.id}": "", "amount": "100.00", "method": "bank_transfer",
            "reference": "TRX-1", "date": "2026-11-02", "notes": ""}
    data.update(fields)
    return http.post(PATH, data=data)


def test_step_one_lists_clients_and_step_two_only_that_clients_open_invoices(staff_http, world):
    page = staff_http.get(PATH)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Alpha Ltd" in html and "Beta GmbH" in html
    assert 'name="amount"' not in html  # no payment fields before a client is chosen
    a_invoices = world["invoices"]
    page = staff_http.get(f"{PATH}?client={world['a'].id}").get_data(as_text=True)
    assert a_invoices["sent"].number in page and a_invoices["partial"].number in page
    for status in ("draft", "paid", "cancelled"):
        assert f'name="amount_{a_invoices[status].id}"' not in page
    assert world["other"].number not in page
    assert 'name="key"' in page and 'name="csrf_token"' in page
    assert page.count("<h1") == 1


def test_htmx_gets_the_fragment_with_vary_and_a_page_otherwise(staff_http, world):
    url = f"{PATH}?client={world['a'].id}"
    fragment = staff_http.get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert 'id="payment-step"' in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    page = staff_http.get(url)
    assert "<html" in page.get_data(as_text=True) and 'id="site-nav"' in page.get_data(True)
    boosted = staff_http.get(url, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


def test_record_amounts_per_invoice_and_keep_the_rest_as_credit(staff_http, world):
    sent, partial = world["invoices"]["sent"], world["invoices"]["partial"]
    response = submit(staff_http, world, **{f"amount_{sent.id}": "60.00",
                                            f"amount_{partial.id}": "25.50",
                                            "amount": "100.00", "notes": "Wire from AP"})
    assert response.status_code == 303 and response.location.endswith("/admin/payments")
    payment = models.Payment.get()
    assert (payment.amount, payment.method, payment.reference) == (10000, "bank_transfer",
                                                                    "TRX-1")
    assert payment.notes == "Wire from AP" and str(payment.date) == "2026-11-02"
    assert reload(sent).balance == 4000 and reload(sent).status == "partial"
    assert reload(partial).balance == 10000 - 2550
    credit = models.Credit.get(models.Credit.reason == "overpayment")
    assert credit.balance == 10000 - 6000 - 2550
    listing = staff_http.get("/admin/payments").get_data(as_text=True)
    assert payment.number in listing and "recorded" in listing


def test_blank_amounts_apply_nothing_and_a_full_balance_pays_the_invoice(staff_http, world):
    sent, partial = world["invoices"]["sent"], world["invoices"]["partial"]
    assert submit(staff_http, world, **{f"amount_{sent.id}": "100.00"}).status_code == 303
    assert reload(sent).status == "paid" and reload(partial).balance == 10000
    assert not models.Credit.select().exists()


def test_double_submit_records_one_payment(staff_http, world):
    sent = world["invoices"]["sent"]
    # The full balance: the second submit finds the invoice paid, and the key answers.
    fields = {f"amount_{sent.id}": "100.00", "amount": "100.00"}
    assert submit(staff_http, world, **fields).status_code == 303
    assert submit(staff_http, world, **fields).status_code == 303
    assert models.Payment.select().count() == 1 and reload(sent).balance == 0


def test_german_staff_type_amounts_in_their_locale(staff_http, world):
    factories.company(locale="de_DE")
    sent = world["invoices"]["sent"]
    assert submit(staff_http, world, **{f"amount_{sent.id}": "40,00",
                                        "amount": "40,00"}).status_code == 303
    assert reload(sent).balance == 6000


@pytest.mark.parametrize("row, typed, message", [
    ("sent", "100.01", "has a balance of"),
    ("sent", "-5.00", "cannot be negative"),
    ("sent", "12.345", "decimal places"),
    ("partial", "abc", "as a number"),
    ("sent", "9" * 30, "too large"),
])
def test_bad_amount_on_a_row_is_422_next_to_that_row_and_records_nothing(
        staff_http, world, row, typed, message):
    invoice = world["invoices"][row]
    before = snapshot()
    other = world["invoices"]["partial" if row == "sent" else "sent"]
    response = submit(staff_http, world, **{f"amount_{invoice.id}": typed,
                                            f"amount_{other.id}": "1.00"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    # The message sits by the offending input, tied to it; entered values are kept.
    assert f'id="amount_{invoice.id}-error"' in html
    assert f'aria-describedby="amount_{invoice.id}-error"' in html
    assert f'id="amount_{other.id}-error"' not in html
    assert 'value="1.00"' in html and 'value="TRX-1"' in html
    assert snapshot() == before


@pytest.mark.parametrize("fields, field, message", [
    ({"amount": ""}, "amount", "Enter an amount"),
    ({"amount": "0"}, "amount", "above zero"),
    ({"amount": "-10"}, "amount", "negative"),
    ({"amount": "1O.00"}, "amount", "as a number"),
    ({"method": "bitcoin"}, "method", "how the money arrived"),
    ({"date": "2026-13-40"}, "date", "valid date"),
    ({"amount": "50.00", "amount_SENT": "30.00", "amount_PARTIAL": "30.00"}, "amount",
     "more than the amount received"),
])
def test_bad_payment_fields_are_422_with_the_message_by_the_field(staff_http, world, fields,
                                                                  field, message):
    ids = {"SENT": world["invoices"]["sent"].id, "PARTIAL": world["invoices"]["partial"].id}
    fields = {k.replace("SENT", str(ids["SENT"])).replace("PARTIAL", str(ids["PARTIAL"])): v
              for k, v in fields.items()}
    before = snapshot()
    response = submit(staff_http, world, **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert f'id="{field}-error"' in html and f'aria-describedby="{field}-error"' in html
    assert snapshot() == before


def test_another_clients_or_closed_invoice_is_refused(staff_http, world):
    before = snapshot()
    other, paid = world["other"], world["invoices"]["paid"]
    response = submit(staff_http, world, invoice=[str(other.id)],
                      **{f"amount_{other.id}": "10.00"})
    assert response.status_code == 422 and "another client" in response.get_data(True)
    response = submit(staff_http, world, invoice=[str(paid.id)],
                      **{f"amount_{paid.id}": "10.00"})
    assert response.status_code == 422 and "cannot take a payment" in response.get_data(True)
    assert snapshot() == before


def test_tampered_invoice_row_is_422_and_named_at_the_top(staff_http, world):
    before = snapshot()
    response = submit(staff_http, world, invoice=["9" * 25])
    assert response.status_code == 422
    assert "One of the invoices could not be found" in response.get_data(as_text=True)
    gone = submit(staff_http, world, invoice=["999999"], amount_999999="5.00")
    assert gone.status_code == 422 and "another client" in gone.get_data(as_text=True)
    assert snapshot() == before


def test_missing_or_unknown_client_is_422(staff_http, world):
    before = snapshot()
    for client_value in ("", "999999", "9" * 25, "abc"):
        response = submit(staff_http, world, client=client_value)
        assert response.status_code == 422, client_value
        assert "Choose the client who paid." in response.get_data(as_text=True)
    assert snapshot() == before


def test_post_without_csrf_is_refused(staff_http, world):
    response = staff_http.post(PATH, data={"client": world["a"].id, "amount": "10.00",
                                           "method": "cash"})
    assert response.status_code == 400 and not models.Payment.select().exists()


def test_expired_staff_session_on_htmx_answers_hx_redirect(client, world):
    response = client.get(f"{PATH}?client={world['a'].id}", headers={
        "HX-Request": "true", "HX-Current-URL": f"http://localhost{PATH}"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/admin/login")
    assert client.get(PATH).status_code == 302


def test_one_menu_button_on_every_back_office_page_and_the_portal(staff_http, world, auth):
    # Pages rendered the plain way (extending admin/_shell.html) get it too.
    for path in ("/admin/invoices", "/admin/outbox", PATH, "/admin/payments", "/admin/gateways"):
        html = staff_http.get(path).get_data(as_text=True)
        assert '<button type="button" class="menu-button" aria-expanded="false" ' \
               'aria-controls="site-nav">' in html, path
        assert 'id="site-nav"' in html and ">Log out</button>" in html, path
        assert 'class="no-js"' in html  # portal.js swaps it: without JS the nav shows
    staff_http.post("/admin/logout", data={"csrf_token": csrf_token(staff_http, PATH)})
    auth.login("a1@alpha.example")
    portal = staff_http.get("/client/invoices").get_data(as_text=True)
    assert 'aria-controls="site-nav"' in portal and 'type="checkbox" id="menu-toggle"' not in portal
