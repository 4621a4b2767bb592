"""The API refuses what its OpenAPI document does not allow (issue 9, §6 and §8)."""
import io

import pytest

import models
from tests.api_support import NEW_CLIENT

LINE = {"product": "Audit", "cost": "100.00"}


@pytest.fixture
def client_id(api):
    return api.post("clients", json=NEW_CLIENT).json["data"]["id"]


def count(app, model):
    with app.app_context():
        models.db.connect(reuse_if_open=True)
        try:
            return model.select().count()
        finally:
            models.db.close()


def test_a_misspelt_line_field_is_refused_not_priced_at_zero(api, app, client_id):
    response = api.post("invoices", json={"client_id": client_id, "status": "sent",
                                          "line_items": [{"product": "Audit",
                                                          "unit_cost": "100.00"}]})
    assert response.status_code == 422
    errors = response.json["errors"]
    assert "unit_cost" in errors["line_items[0].unit_cost"][0]
    assert errors["line_items[0].cost"] == ["This field is required."]
    assert count(app, models.Invoice) == 0


@pytest.mark.parametrize("resource,extra", [
    ("clients", {"name": "X", "nickname": "x"}),
    ("invoices", {"line_items": [LINE], "po": "1"}),
    ("quotes", {"line_items": [LINE], "expires": "2099-01-01"}),
    ("credits", {"line_items": [LINE], "amount": "1.00"}),
    ("payments", {"amount": "1.00", "method": "cash", "invoices": []}),
])
def test_unknown_fields_are_refused_and_nothing_is_written(api, app, client_id, resource,
                                                           extra):
    body = {"client_id": client_id, **extra} if resource != "clients" else extra
    before = count(app, models.Client)
    response = api.post(resource, json=body)
    assert response.status_code == 422, response.json
    unknown = set(extra) - {"name", "line_items", "amount", "method"}
    assert unknown <= set(response.json["errors"]) and response.json["message"]
    assert count(app, models.Client) == before
    assert count(app, models.Invoice) + count(app, models.Quote) + count(app, models.Credit) \
        + count(app, models.Payment) == 0


@pytest.mark.parametrize("cycles", [True, False, "12", 12.5, 0, -2, 10 ** 30])
def test_remaining_cycles_is_a_whole_number(api, app, client_id, cycles):
    response = api.post("recurring_invoices", json={
        "client_id": client_id, "start_date": "2026-12-01", "remaining_cycles": cycles,
        "line_items": [LINE]})
    assert response.status_code == 422 and "remaining_cycles" in response.json["errors"]
    assert count(app, models.RecurringInvoice) == 0


@pytest.mark.parametrize("line,field", [
    ({"cost": "1.00", "quantity": True}, "quantity"),  # booleans are not numbers
    ({"cost": "1.00", "tax_rate": 101}, "tax_rate"),
    ({"cost": "1.00", "discount_percent": "-1"}, "discount_percent"),
    ({"cost": "-1.00"}, "cost"),
    ({"cost": "1.00", "product": "two\nlines"}, "product"),
])
def test_line_values_are_typed(api, app, client_id, line, field):
    response = api.post("invoices", json={"client_id": client_id, "line_items": [line]})
    assert response.status_code == 422 and f"line_items[0].{field}" in response.json["errors"]


def test_a_number_too_large_for_a_float_is_refused(api, app, client_id):
    # Python's json reads 1e400 as infinity; the schema's maximum refuses it.
    body = ('{"client_id": "' + client_id
            + '", "line_items": [{"cost": "1.00", "quantity": 1e400}]}')
    response = api.post("invoices", data=body, content_type="application/json")
    assert response.status_code == 422 and "line_items[0].quantity" in response.json["errors"]
    assert count(app, models.Invoice) == 0


def test_a_due_date_must_be_a_real_date(api, client_id):
    response = api.post("invoices", json={"client_id": client_id, "due_date": "2026-02-30",
                                          "line_items": [LINE]})
    assert response.status_code == 422 and "due_date" in response.json["errors"]


@pytest.mark.parametrize("query", [
    "page=1e20", "page=99999999999999999999", "page=-1", "page=0", "page=1.5", "page=",
    "per_page=101", "per_page=0", "per_page=abc", "status=lost", "client_id=" + "x" * 25,
])
def test_paging_and_filters_out_of_range_are_4xx(api, query):
    response = api.get(f"invoices?{query}")
    assert response.status_code == 422, (query, response.status_code)
    assert response.json["errors"] and response.json["message"]


def test_paging_within_range_answers_an_empty_page(api):
    response = api.get("invoices?page=1000000&per_page=100")
    assert response.status_code == 200 and response.json["data"] == []
    assert response.json["meta"]["pagination"]["current_page"] == 1000000


# 100,000 levels fit under the JSON size limit and reach the decoder's RecursionError.
@pytest.mark.parametrize("depth", [33, 100_000])
def test_deeply_nested_json_is_a_clean_400(api, app, depth):
    body = '{"name": "x", "contacts": ' + "[" * depth + "]" * depth + "}"
    response = api.post("clients", data=body, content_type="application/json")
    assert response.status_code == 400 and "nested" in response.json["message"]
    assert count(app, models.Client) == 0


@pytest.mark.parametrize("body", ['{"name": NaN}', '{"name": "x"', "[]", '"x"'])
def test_what_is_not_a_json_object_is_a_400(api, body):
    response = api.post("clients", data=body, content_type="application/json")
    assert response.status_code == 400 and response.json["message"]


def test_a_body_over_2_mb_is_a_413(api):
    body = '{"name": "' + "x" * (2 * 1024 * 1024) + '"}'
    response = api.post("clients", data=body, content_type="application/json")
    assert response.status_code == 413


@pytest.mark.parametrize("method,path,allowed", [
    ("delete", "payments/abc", {"GET"}),
    ("put", "payments/abc", {"GET"}),
    ("post", "documents", {"GET"}),
    ("put", "quotes/abc", {"GET", "DELETE"}),
    ("get", "invoices/bulk", {"POST"}),
    ("trace", "clients", {"GET", "POST"}),
])
def test_unsupported_methods_are_405_with_allow(api, method, path, allowed):
    response = api.open(path, method=method.upper(), json={})
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) - {"HEAD", "OPTIONS"} == allowed
    assert response.json["message"] and response.json["errors"] == {}


def test_a_portal_405_keeps_its_allow_header(client):
    response = client.put("/client/login")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]


def test_upload_refuses_unknown_fields_and_odd_flags(api, app, client_id):
    def upload(**form):
        return api.post(f"clients/{client_id}/upload", content_type="multipart/form-data",
                        data={"file": (io.BytesIO(b"%PDF-1.4"), "a.pdf"), **form})
    assert upload(is_public="maybe").json["errors"].keys() == {"is_public"}
    assert upload(folder="x").json["errors"].keys() == {"folder"}
    assert count(app, models.Document) == 0
    assert upload(is_public="false").status_code == 201


def test_upload_refuses_a_part_with_no_name(api, app, client_id):
    # Found by schemathesis: a nameless part made the refusal itself fail (500).
    body = (b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n"
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\r\n--b--\r\n")
    before = count(app, models.Document)
    response = api.post(f"clients/{client_id}/upload", data=body,
                        content_type="multipart/form-data; boundary=b")
    assert response.status_code == 422
    assert response.json["message"] == (
        ": A part with no name is not a field here; send file and is_public.")
    assert count(app, models.Document) == before


def test_times_are_rfc3339_utc(api, client_id):
    created = api.get(f"clients/{client_id}").json["data"]["created_at"]
    assert created.endswith("Z") and "T" in created


def test_quantity_times_price_too_large_is_refused(api, app, client_id):
    # Found by schemathesis: this overflowed SQLite's 64-bit INTEGER and answered 500.
    response = api.post("invoices", json={"client_id": client_id, "line_items": [
        {"cost": "200000000", "quantity": 461168602}]})
    assert response.status_code == 422 and "too large" in response.json["message"]
    assert count(app, models.Invoice) == 0 and count(app, models.LineItem) == 0
