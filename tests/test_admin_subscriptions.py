"""Subscription plans in the back office: list, create, edit, archive with confirmation."""
import html
import re

import pytest

import models
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import login_staff, opened, snapshot

FORM = {"name": "Pro", "description": "Everything", "price": "29.00", "currency": "USD",
        "frequency": "monthly", "trial_days": "14", "setup_fee": "", "min_quantity": "1",
        "max_quantity": "", "cancellation": "immediately", "allow_plan_changes": "1",
        "plan_group": "main"}


@pytest.fixture
def staff(app, client):
    with opened(app):
        factories.staff("boss@test.example")
    login_staff(client, "boss@test.example")
    client.token = csrf_token(client, "/admin/subscriptions/new")
    return client


def post(http, path, data, **kw):
    return http.post(path, data={"csrf_token": http.token, **data}, **kw)


def text(response):
    return html.unescape(response.get_data(as_text=True))


def test_staff_only(client):
    response = client.get("/admin/subscriptions")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_create_list_edit_archive_restore(app, staff):
    assert 'href="/admin/subscriptions"' in text(staff.get("/admin/subscriptions"))
    assert post(staff, "/admin/subscriptions/new", FORM).status_code == 303
    with opened(app):
        plan = models.Plan.get()
        assert (plan.name, plan.price, plan.trial_days, plan.cancellation) == (
            "Pro", 2900, 14, "immediately")
        assert plan.allow_plan_changes and plan.max_quantity is None
    listing = text(staff.get("/admin/subscriptions"))
    assert "Pro" in listing and "$29.00" in listing and "14 days" in listing
    form = text(staff.get(f"/admin/subscriptions/{plan.id}/edit"))
    assert 'value="29.00"' in form and 'value="immediately" selected' in form
    # Unticking the box is sending nothing for it: the plan then refuses switching.
    edited = {**FORM, "price": "35.00", "max_quantity": "3"}
    del edited["allow_plan_changes"]
    assert post(staff, f"/admin/subscriptions/{plan.id}/edit", edited).status_code == 303
    with opened(app):
        plan = models.Plan.get_by_id(plan.id)
        assert (plan.price, plan.max_quantity, plan.allow_plan_changes) == (3500, 3, False)
    # Without the browser's confirmation the server asks first, and changes nothing.
    with opened(app):
        before = snapshot()
    asked = post(staff, f"/admin/subscriptions/{plan.id}/archive", {})
    assert asked.status_code == 200 and "Archive the plan Pro?" in text(asked)
    assert 'name="confirmed" value="1"' in text(asked)
    with opened(app):
        assert snapshot() == before
    assert post(staff, f"/admin/subscriptions/{plan.id}/archive",
                {"confirmed": "1"}).status_code == 303
    with opened(app):
        assert models.Plan.get_by_id(plan.id).archived_at is not None
    assert "Pro" not in text(staff.get("/admin/subscriptions")).split("<h1>")[1]
    assert "Pro" in text(staff.get("/admin/subscriptions?archived=1"))
    assert post(staff, f"/admin/subscriptions/{plan.id}/restore", {}).status_code == 303
    with opened(app):
        assert models.Plan.get_by_id(plan.id).archived_at is None


@pytest.mark.parametrize("change,field,message", [
    ({"name": ""}, "name", "Enter the plan's name."),
    ({"price": "abc"}, "price", "as a number"),
    ({"price": "-3"}, "price", "cannot be negative"),
    ({"currency": "ABC"}, "currency", "ISO 4217"),
    ({"frequency": "hourly"}, "frequency", "Choose how often"),
    ({"trial_days": "two"}, "trial_days", "whole number"),
    ({"min_quantity": "4", "max_quantity": "2"}, "max_quantity", "less than the minimum"),
    ({"cancellation": "never"}, "cancellation", "whether and when"),
])
def test_bad_input_answers_422_with_the_message_at_its_field(app, staff, change, field,
                                                             message):
    with opened(app):
        before = snapshot()
    response = post(staff, "/admin/subscriptions/new", {**FORM, **change})
    assert response.status_code == 422
    body = text(response)
    error = re.search(rf'<p class="flash flash-error" id="f-{field}-error" role="alert">'
                      r'([^<]*)</p>', body)
    assert error and message in error.group(1)
    assert re.search(rf'id="f-{field}"[^>]*aria-describedby="[^"]*f-{field}-error"[^>]*'
                     r'aria-invalid="true"', body)
    with opened(app):
        assert snapshot() == before


def test_edit_refusal_keeps_the_plan(app, staff):
    post(staff, "/admin/subscriptions/new", FORM)
    with opened(app):
        plan = models.Plan.get()
        before = snapshot()
    response = post(staff, f"/admin/subscriptions/{plan.id}/edit",
                    {**FORM, "price": "1.001", "name": ""})
    assert response.status_code == 422
    assert "f-price-error" in text(response) and "f-name-error" in text(response)
    with opened(app):
        assert snapshot() == before


def test_unknown_plan_is_404(staff):
    assert staff.get("/admin/subscriptions/999/edit").status_code == 404
    assert post(staff, "/admin/subscriptions/999/archive", {"confirmed": "1"}).status_code == 404


def test_client_page_shows_its_subscriptions(app, staff):
    with opened(app):
        from billing import subscriptions as service
        customer = factories.client(name="Subscriber Ltd")
        plan = models.Plan.create(name="Gold", price=1500, currency="USD")
        service.subscribe(customer, plan, quantity=2)
        empty = factories.client(name="Nobody Ltd")
    page = text(staff.get(f"/admin/clients/{customer.id}"))
    assert "Gold" in page and "$30.00" in page and "Active" in page
    assert "No subscriptions." in text(staff.get(f"/admin/clients/{empty.id}"))
