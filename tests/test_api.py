"""The JSON API as an accounting integration uses it."""
import io
import re

import pytest

import models
from tests import factories
from tests.api_support import NEW_CLIENT
from tests.core_support import opened


def test_token_is_required(client):
    assert client.get("/api/v1/clients").status_code == 401
    response = client.get("/api/v1/clients", headers={"X-API-TOKEN": "x" * 43})
    assert response.status_code == 401 and response.json["message"]


def test_clients_crud_with_nested_contacts(api):
    created = api.post("clients", json=NEW_CLIENT)
    assert created.status_code == 201, created.json
    data = created.json["data"]
    assert data["currency"] == "EUR" and data["balance"] == "0.00"
    assert [c["email"] for c in data["contacts"]] == ["bill@initech.example",
                                                      "peter@initech.example"]
    assert data["contacts"][0]["is_primary"] and not data["contacts"][1]["is_primary"]
    bill = data["contacts"][0]["id"]
    updated = api.put(f"clients/{data['id']}", json={
        "name": "Initech Inc", "contacts": [{"id": bill, "email": "bill@initech.example",
                                             "phone": "555-0100"}]})
    assert updated.json["data"]["name"] == "Initech Inc"
    assert updated.json["data"]["contacts"][0]["phone"] == "555-0100"
    listed = api.get("clients?per_page=1")
    assert listed.json["meta"]["pagination"]["total"] == 1
    assert api.delete(f"clients/{data['id']}").json["data"]["archived_at"]
    assert api.get("clients").json["meta"]["pagination"]["total"] == 0


@pytest.mark.parametrize("payload,field", [
    ({"currency": "EUR"}, "name"),
    ({"name": "X", "currency": "EURO"}, "currency"),
    ({"name": "X", "contacts": [{"email": "not-an-email"}]}, "contacts[0].email"),
    ({"name": "X", "contacts": "bill"}, "contacts"),
])
def test_bad_clients_are_refused_and_nothing_is_written(api, app, payload, field):
    response = api.post("clients", json=payload)
    assert response.status_code == 422
    assert field in response.json["errors"] and response.json["message"]
    with opened(app):
        assert models.Client.select().count() == 0
        assert models.Contact.select().count() == 0


def test_invoice_from_api_to_portal(api, client, auth):
    c = api.post("clients", json=NEW_CLIENT).json["data"]
    response = api.post("invoices", json={
        "client_id": c["id"], "date": "2026-11-01", "due_date": "2026-12-01",
        "discount": "10.00", "line_items": [
            {"product": "Audit", "quantity": "2", "cost": "150.00", "tax_rate": "20"},
            {"product": "Travel", "quantity": 1, "cost": "45.50"}]})
    assert response.status_code == 201, response.json
    invoice = response.json["data"]
    assert invoice["status"] == "draft" and invoice["currency"] == "EUR"
    assert invoice["subtotal"] == "345.50" and invoice["discount"] == "10.00"
    # tax on 300.00 less its share of the discount: 300 - 10*300/345.5 = 291.32 -> 58.26
    assert invoice["tax_total"] == "58.26" and invoice["total"] == "393.76"
    assert invoice["line_items"][0]["amount"] == "300.00"
    edited = api.patch(f"invoices/{invoice['id']}", json={"po_number": "PO-1"})
    assert edited.json["data"]["po_number"] == "PO-1"
    sent = api.post("invoices/bulk", json={"action": "mark_sent", "ids": [invoice["id"]]})
    assert sent.json["data"][0]["status"] == "sent"
    locked = api.patch(f"invoices/{invoice['id']}", json={"po_number": "PO-2"})
    assert locked.status_code == 422 and "only drafts" in locked.json["message"]
    # The contact created over the API sees it once a password is set.
    api.put(f"clients/{c['id']}", json={"contacts": [
        {"id": c["contacts"][0]["id"], "email": "bill@initech.example",
         "password": factories.PASSWORD}]})
    auth.login("bill@initech.example")
    assert invoice["number"] in client.get("/client/invoices").get_data(as_text=True)
    paid = api.post("invoices/bulk", json={"action": "mark_paid", "ids": [invoice["id"]]})
    assert paid.json["data"][0]["status"] == "paid" and paid.json["data"][0]["balance"] == "0.00"
    assert api.get(f"clients/{c['id']}").json["data"]["paid_to_date"] == "393.76"


@pytest.mark.parametrize("line,field", [
    ({"product": "x", "cost": 10.5}, "line_items[0].cost"),      # a float, not a string
    ({"product": "x", "cost": "10.555"}, "line_items[0].cost"),  # more decimals than EUR has
    ({"product": "x", "cost": "abc"}, "line_items[0].cost"),
    ({"product": "x", "cost": "1", "quantity": "NaN"}, "line_items[0].quantity"),
])
def test_bad_money_is_refused(api, app, line, field):
    c = api.post("clients", json=NEW_CLIENT).json["data"]
    response = api.post("invoices", json={"client_id": c["id"], "line_items": [line]})
    assert response.status_code == 422 and field in response.json["errors"]
    with opened(app):
        assert models.Invoice.select().count() == 0


def test_bulk_email_and_refusals(api, app):
    c = api.post("clients", json=NEW_CLIENT).json["data"]
    inv = api.post("invoices", json={"client_id": c["id"], "line_items": [
        {"product": "A", "cost": "1.00"}]}).json["data"]
    emailed = api.post("invoices/bulk", json={"action": "email", "ids": [inv["id"]]})
    assert emailed.status_code == 200 and emailed.json["data"][0]["status"] == "sent"
    with opened(app):
        assert sorted(m.to for m in models.EmailMessage.select()) == [
            "bill@initech.example", "peter@initech.example"]
    assert api.post("invoices/bulk", json={"action": "explode", "ids": [inv["id"]]}
                    ).status_code == 422
    assert api.post("invoices/bulk", json={"action": "email", "ids": ["nope"]}
                    ).status_code == 404
    assert api.post("invoices", data="not json").status_code == 400


def test_recurring_and_documents(api, app):
    c = api.post("clients", json=NEW_CLIENT).json["data"]
    r = api.post("recurring_invoices", json={
        "client_id": c["id"], "start_date": "2026-12-01", "frequency": "monthly",
        "remaining_cycles": 12, "line_items": [{"product": "Hosting", "cost": "20.00"}]})
    assert r.status_code == 201, r.json
    assert r.json["data"]["next_send_date"] == "2026-12-01"
    paused = api.put(f"recurring_invoices/{r.json['data']['id']}", json={"status": "paused"})
    assert paused.json["data"]["status"] == "paused"
    up = api.post(f"clients/{c['id']}/upload", data={
        "file": (io.BytesIO(b"%PDF-1.4"), "contract.pdf"), "is_public": "true"},
        content_type="multipart/form-data")
    assert up.status_code == 201 and up.json["data"]["is_public"] is True
    doc = up.json["data"]["id"]
    hidden = api.put(f"documents/{doc}", json={"is_public": False})
    assert hidden.json["data"]["is_public"] is False
    assert api.get("documents").json["meta"]["pagination"]["total"] == 1
    api.delete(f"documents/{doc}")
    assert api.get("documents").json["meta"]["pagination"]["total"] == 0


# What each resource supports: a method not listed here answers 405 with Allow.
SUPPORTED = {
    "clients": {"list", "create", "show", "update", "delete", "upload"},
    "invoices": {"list", "create", "show", "update", "delete", "bulk", "upload"},
    "recurring_invoices": {"list", "create", "show", "update", "delete"},
    "quotes": {"list", "create", "show", "delete", "bulk", "upload"},
    "credits": {"list", "create", "show", "delete"},
    "payments": {"list", "create", "show", "bulk"},
    "documents": {"list", "show", "update", "delete"},
    "subscriptions": {"list", "create", "show", "update", "delete"},
    "client_subscriptions": {"list", "show", "bulk"},
}
SHAPES = {"list": ("", "GET"), "create": ("", "POST"), "show": ("/{id}", "GET"),
          "update": ("/{id}", "PUT PATCH"), "delete": ("/{id}", "DELETE"),
          "bulk": ("/bulk", "POST"), "upload": ("/{id}/upload", "POST")}


def test_openapi_lists_exactly_the_routes_that_exist(app, client):
    spec = client.get("/api/v1/openapi.json").json
    documented = {(path, method.upper()) for path, item in spec["paths"].items()
                  for method in item if method != "parameters"}
    expected = {(f"/api/v1/{name}{SHAPES[op][0]}", method)
                for name, ops in SUPPORTED.items() for op in ops
                for method in SHAPES[op][1].split()}
    assert documented == expected
    routed = {(re.sub(r"<[^>]*public_id>", "{id}", r.rule), method)
              for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")
              and r.rule != "/api/v1/openapi.json"
              for method in r.methods - {"HEAD", "OPTIONS"}}
    assert routed == documented


def _schema(spec, schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_openapi_types_every_body_and_answer(client):
    spec = client.get("/api/v1/openapi.json").json
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            body = op.get("requestBody")
            if body:
                schema = _schema(spec, next(iter(body["content"].values()))["schema"])
                assert schema["properties"] and schema["additionalProperties"] is False, path
            for status, answer in op["responses"].items():
                schema = _schema(spec, answer["content"]["application/json"]["schema"])
                if status.startswith("4"):
                    assert schema["required"] == ["message", "errors"], (path, status)
                else:
                    data = _schema(spec, schema["properties"]["data"])
                    record = _schema(spec, data.get("items", data))
                    assert record["properties"] and record["required"], (path, method)
            if method == "get" and "{id}" not in path:
                paging = {p["name"]: p["schema"] for p in op["parameters"]}
                assert paging["page"]["minimum"] == 1 and paging["page"]["maximum"]
                assert paging["per_page"]["maximum"] == 100
    line = spec["components"]["schemas"]["InvoicesCreate"]["properties"]["line_items"]["items"]
    assert {"description", "quantity", "cost", "discount_percent", "tax_rate"} <= set(
        line["properties"]) and line["additionalProperties"] is False
    assert line["properties"]["cost"]["type"] == "string" and line["properties"]["cost"]["pattern"]
    assert spec["components"]["schemas"]["InvoicesCreate"]["properties"]["due_date"][
        "format"] == "date"


def test_no_documented_operation_answers_405(api, client):
    spec = client.get("/api/v1/openapi.json").json
    for path, item in spec["paths"].items():
        for method in item:
            if method != "parameters":
                url = path.removeprefix("/api/v1/").replace("{id}", "nosuchid")
                assert getattr(api, method)(url, json={}).status_code != 405, (method, path)


def test_quotes_approve_and_credits(api, app):
    c = api.post("clients", json=NEW_CLIENT).json["data"]
    q = api.post("quotes", json={"client_id": c["id"], "valid_until": "2099-01-01",
                                 "status": "sent", "line_items": [
                                     {"product": "Plan", "cost": "500.00", "tax_rate": "10"}]})
    assert q.status_code == 201, q.json
    assert q.json["data"]["status"] == "sent" and q.json["data"]["total"] == "550.00"
    approved = api.post("quotes/bulk", json={"action": "approve", "ids": [q.json["data"]["id"]]})
    assert approved.status_code == 200, approved.json
    quote = approved.json["data"][0]
    assert quote["status"] == "converted" and quote["invoice_id"]
    invoice = api.get(f"invoices/{quote['invoice_id']}").json["data"]
    assert invoice["status"] == "sent" and invoice["total"] == "550.00"
    again = api.post("quotes/bulk", json={"action": "approve", "ids": [quote["id"]]})
    assert again.status_code == 422 and "already" in again.json["message"]
    with opened(app):
        assert models.Invoice.select().count() == 1
    credit = api.post("credits", json={"client_id": c["id"], "reason": "refund",
                                       "line_items": [{"product": "Refund", "cost": "25.00"}]})
    assert credit.status_code == 201 and credit.json["data"]["balance"] == "25.00"
    bad = api.post("credits", json={"client_id": c["id"], "reason": "gift",
                                    "line_items": [{"product": "x", "cost": "1.00"}]})
    assert bad.status_code == 422 and "reason" in bad.json["errors"]


def test_record_a_bank_transfer_once(api, app):
    c = api.post("clients", json=NEW_CLIENT).json["data"]
    inv = api.post("invoices", json={"client_id": c["id"], "status": "sent", "line_items": [
        {"product": "Audit", "cost": "100.00"}]}).json["data"]
    body = {"client_id": c["id"], "amount": "130.00", "method": "bank_transfer",
            "invoice_ids": [inv["id"]], "reference": "SEPA-77",
            "idempotency_key": "import-row-0001-abcdef"}
    first = api.post("payments", json=body)
    assert first.status_code == 201, first.json
    payment = first.json["data"]
    assert payment["amount"] == "130.00" and payment["reference"] == "SEPA-77"
    assert payment["invoices"] == [{"invoice_id": inv["id"], "amount": "100.00"}]
    again = api.post("payments", json=body)  # the integration retried: nothing new
    assert again.json["data"]["id"] == payment["id"]
    assert api.get(f"invoices/{inv['id']}").json["data"]["status"] == "paid"
    credits = api.get(f"credits?client_id={c['id']}").json["data"]
    assert [(cr["reason"], cr["balance"]) for cr in credits] == [("overpayment", "30.00")]
    assert api.delete(f"payments/{payment['id']}").status_code == 405
    listed = api.get(f"payments?client_id={c['id']}").json
    assert listed["meta"]["pagination"]["total"] == 1


@pytest.mark.parametrize("change,field", [
    ({"amount": 130.0}, "amount"),
    ({"amount": "-5.00"}, "amount"),
    ({"method": "bitcoin"}, "method"),
    ({"invoice_ids": ["not-theirs"]}, "invoice_ids"),
])
def test_bad_payments_record_nothing(api, app, change, field):
    c = api.post("clients", json=NEW_CLIENT).json["data"]
    body = {"client_id": c["id"], "amount": "10.00", "method": "cheque", **change}
    response = api.post("payments", json=body)
    assert response.status_code == 422 and field in response.json["errors"], response.json
    with opened(app):
        assert models.Payment.select().count() == 0
