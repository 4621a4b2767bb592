"""Apply Payment over HTTP: the API's bulk apply action and the back office's apply page
(and its auto-apply setting), refusing bad rows with 422. The service itself is
tests/test_apply_payment.py; the books both use are tests/applying_support.py."""
import pytest

import models
from tests import factories
from tests.applying_support import (
    REFUSALS,
    invoice_for,
    refusal_world,
    unapplied_payment,
)
from tests.conftest import csrf_token
from tests.core_support import login_staff, opened, snapshot
from tests.payments_support import reload

# -- the API -------------------------------------------------------------------------------

@pytest.fixture
def books(app):
    with opened(app):
        world = refusal_world()
        world["second"] = invoice_for(world["a"], 5000)
    return world


def bulk(api, payment, rows, **extra):
    return api.post("payments/bulk", json={"action": "apply", "ids": [payment.public_id],
                                           "invoices": rows, **extra})


def test_api_applies_and_answers_the_payment(api, books, conn):
    payment, one, two = books["payment"], books["open"], books["second"]
    answer = bulk(api, payment, [{"invoice_id": one.public_id, "amount": "50.00"},
                                 {"invoice_id": two.public_id, "amount": "5.50"}])
    assert answer.status_code == 200, answer.json
    data = answer.json["data"][0]
    assert (data["applied"], data["unapplied"]) == ("55.50", "4.50")
    assert {row["invoice_id"]: row["amount"] for row in data["invoices"]} == {
        one.public_id: "50.00", two.public_id: "5.50"}
    assert reload(one).status == "paid" and reload(two).balance == 4450
    shown = api.get(f"payments/{payment.public_id}").json["data"]
    assert shown["unapplied"] == "4.50"


@pytest.mark.parametrize("which, typed, message", [
    (w, t, m) for w, t, m in REFUSALS if t in ("10.00", "50.01")])
def test_api_refuses_each_bad_invoice_with_422(api, books, conn, which, typed, message):
    before = snapshot()
    answer = bulk(api, books["payment"], [{"invoice_id": books["second"].public_id,
                                           "amount": "1.00"},
                                          {"invoice_id": books[which].public_id,
                                           "amount": typed}])
    assert answer.status_code == 422
    assert message in answer.json["errors"]["invoices[1].amount"][0]
    assert answer.json["message"]
    assert snapshot() == before


@pytest.mark.parametrize("rows, extra, field", [
    ("over", {}, "invoices"),
    ("zero", {}, "invoices[0].amount"),
    ("float", {}, "invoices[0].amount"),
    ("missing", {}, "invoices"),
    ("unknown", {}, "invoices[0].amount"),
    ("one", {"ids": "two"}, "ids"),
])
def test_api_refuses_bad_bodies_with_422(api, books, conn, rows, extra, field):
    one, two = books["open"].public_id, books["second"].public_id
    body = {"over": [{"invoice_id": one, "amount": "50.00"},
                     {"invoice_id": two, "amount": "10.01"}],
            "zero": [{"invoice_id": one, "amount": "0.00"}],
            "float": [{"invoice_id": one, "amount": 12.5}],
            "missing": None,
            "unknown": [{"invoice_id": "nosuchinvoice", "amount": "1.00"}],
            "one": [{"invoice_id": one, "amount": "1.00"}]}[rows]
    payload = {"action": "apply", "ids": [books["payment"].public_id]}
    if body is not None:
        payload["invoices"] = body
    if extra.get("ids") == "two":
        other = unapplied_payment(reload(books["a"]), 100)
        payload["ids"] = [books["payment"].public_id, other.public_id]
    before = snapshot()
    answer = api.post("payments/bulk", json=payload)
    assert answer.status_code == 422, answer.json
    assert set(answer.json) == {"message", "errors"}
    assert any(key.startswith(field) for key in answer.json["errors"]), answer.json
    assert snapshot() == before


def test_api_refuses_a_payment_not_completed(api, books, conn):
    pending = unapplied_payment(reload(books["a"]), 1000, status="pending")
    before = snapshot()
    answer = bulk(api, pending, [{"invoice_id": books["open"].public_id, "amount": "1.00"}])
    assert answer.status_code == 422 and "completed" in answer.json["errors"]["ids"][0]
    assert snapshot() == before


def test_openapi_documents_the_apply_action(client):
    spec = client.get("/api/v1/openapi.json").json
    schema = spec["components"]["schemas"]["PaymentsBulk"]
    assert schema["properties"]["action"]["enum"] == ["apply"]
    row = schema["properties"]["invoices"]["items"]
    assert row["required"] == ["invoice_id", "amount"] and row["additionalProperties"] is False
    assert "unapplied" in spec["components"]["schemas"]["Payments"]["required"]


# -- the back office -----------------------------------------------------------------------

@pytest.fixture
def staff_http(client, books, conn):
    factories.staff(email="boss@test.example")
    login_staff(client, "boss@test.example")
    return client


def page_of(payment):
    return f"/admin/payments/{payment.id}"


def post_apply(http, payment, amounts):
    data = {"csrf_token": csrf_token(http, page_of(payment)),
            "invoice": list(amounts)}
    data.update({f"amount_{key}": value for key, value in amounts.items()})
    return http.post(f"{page_of(payment)}/apply", data=data)


def test_back_office_page_lists_open_invoices_in_the_currency_and_the_unapplied_amount(
        staff_http, books):
    html = staff_http.get(page_of(books["payment"])).get_data(as_text=True)
    assert "Unapplied" in html and "$60.00" in html
    for key in ("open", "second"):
        assert f'name="amount_{books[key].public_id}"' in html
    for key in ("other_client", "cancelled", "void", "draft", "paid", "euro"):
        assert books[key].number not in html
    assert html.count("<h1") == 1 and 'name="csrf_token"' in html
    listing = staff_http.get("/admin/payments").get_data(as_text=True)
    assert "Unapplied" in listing and "$60.00" in listing


def test_back_office_apply_redirects_with_a_flash_and_keeps_the_rest_visible(staff_http, books):
    payment, one = books["payment"], books["open"]
    answer = post_apply(staff_http, payment, {one.public_id: "20.00",
                                              books["second"].public_id: ""})
    assert answer.status_code == 303 and answer.location.endswith(page_of(payment))
    html = staff_http.get(page_of(payment)).get_data(as_text=True)
    assert "Applied $20.00 of payment" in html and "$40.00 is still unapplied" in html
    assert '<dd id="unapplied"><strong>$40.00' in html
    assert reload(one).balance == 3000 and reload(payment).unapplied == 4000


@pytest.mark.parametrize("which, typed, message", [
    ("open", "abc", "as a number"), ("open", "50.01", "left to pay"),
    ("open", "-2", "negative"), ("open", "0", "above zero"),
    ("other_client", "1.00", "could not be found"), ("cancelled", "1.00", "cancelled")])
def test_back_office_refusals_are_422_next_to_the_row(staff_http, books, which, typed, message):
    invoice = books[which]
    before = snapshot()
    answer = post_apply(staff_http, books["payment"], {invoice.public_id: typed})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and message in html
    if which == "open":
        assert f'aria-describedby="amount_{invoice.public_id}-error"' in html
        assert f'value="{typed}"' in html
    assert snapshot() == before


def test_back_office_refuses_more_than_unapplied(staff_http, books):
    before = snapshot()
    answer = post_apply(staff_http, books["payment"], {books["open"].public_id: "50.00",
                                                       books["second"].public_id: "10.01"})
    assert answer.status_code == 422 and "more than" in answer.get_data(as_text=True)
    assert snapshot() == before


def test_portal_shows_what_is_unapplied(client, auth, books):
    a = reload(books["a"])
    contact = factories.contact(a)
    auth.login(contact.email)
    listing = client.get("/client/payments").get_data(as_text=True)
    assert "Unapplied: $60.00" in listing
    page = client.get(f"/client/payments/{books['payment'].public_id}").get_data(as_text=True)
    assert "Unapplied" in page and "$60.00" in page


def test_the_setting_is_saved_from_the_back_office(staff_http, conn):
    def save(**fields):
        data = {"csrf_token": csrf_token(staff_http, "/admin/settings"),
                "minimum_prepayment": "", "minimum_partial_payment": "", **fields}
        return staff_http.post("/admin/settings/payments", data=data)
    page = staff_http.get("/admin/settings").get_data(as_text=True)
    assert 'name="auto_apply_prepayments"' in page
    assert save(auto_apply_prepayments="1").status_code in (200, 303)
    assert models.Company.current().auto_apply_prepayments is True
    assert save().status_code in (200, 303)
    assert models.Company.current().auto_apply_prepayments is False
