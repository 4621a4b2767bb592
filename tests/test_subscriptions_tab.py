"""Subscriptions tab: the contact's subscriptions, one subscription's page, scoping."""
import datetime as dt
import html

import pytest

import demo
import models
from billing import subscriptions as service
from tests import factories
from tests.conftest import hx
from tests.core_support import opened
from tests.factories import PLAN_FORM as GOOD


def text(response):
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def sworld(app):
    with opened(app):
        people = factories.two_clients()
        today = models.utcnow().date()
        pro = service.create_plan(GOOD, "en_US")
        basic = service.create_plan({**GOOD, "name": "Basic", "price": "5.00",
                                     "trial_days": "0", "frequency": "yearly"}, "en_US")
        trial = service.subscribe(people["a"], pro, quantity=2, start=today)
        active = service.subscribe(people["a"], basic, start=today - dt.timedelta(days=3))
        paid = factories.invoice(people["a"], status="paid")
        service.link_invoice(active, paid)
        unrelated = factories.invoice(people["a"], status="sent")
        draft = factories.invoice(people["a"], status="draft")
        service.link_invoice(active, draft)
        other = service.subscribe(people["b"], basic, start=today)
    return {**people, "trial": trial, "active": active, "paid": paid, "unrelated": unrelated,
            "draft": draft, "other": other}


def test_list_shows_plan_status_price_quantity_and_next_billing(client, auth, sworld):
    auth.login("a1@alpha.example")
    page = client.get("/client/subscriptions")
    assert page.status_code == 200 and "HX-Request" in page.headers["Vary"]
    body = text(page)
    assert "<h1>Subscriptions</h1>" in body and "Pro" in body and "Basic" in body
    assert "Trial until" in body and "Active" in body
    assert "$58.00" in body and "$5.00" in body  # 2 x 29.00; 1 x 5.00
    trial_end = sworld["trial"].trial_ends_on
    assert f"{trial_end:%b} {trial_end.day}, {trial_end.year}" in body
    assert sworld["other"].public_id not in body
    fragment = hx(client, "/client/subscriptions")
    assert fragment.status_code == 200 and "<html" not in text(fragment)
    assert "Pro" in text(fragment)


def test_record_lists_only_its_visible_invoices(client, auth, sworld):
    auth.login("a1@alpha.example")
    page = client.get(f"/client/subscriptions/{sworld['active'].public_id}")
    assert page.status_code == 200
    body = text(page)
    assert "Basic" in body and "yearly" in body
    assert "Invoices from this subscription" in body
    assert sworld["paid"].number in body
    assert sworld["unrelated"].number not in body and sworld["draft"].number not in body
    trial = text(client.get(f"/client/subscriptions/{sworld['trial'].public_id}"))
    assert "No invoices yet. The next one is issued on" in trial
    assert "At the end of the paid period" in trial


def test_ending_and_cancelled_show_no_next_billing(client, auth, sworld, app):
    with opened(app):
        models.Subscription.update(cancel_at_period_end=True).where(
            models.Subscription.id == sworld["active"].id).execute()
    auth.login("a1@alpha.example")
    body = text(client.get(f"/client/subscriptions/{sworld['active'].public_id}"))
    end = sworld["active"].current_period_end
    assert f"Ends on {end:%b} {end.day}, {end.year}" in body
    assert "The next one is issued" not in body


def test_foreign_and_malformed_ids_are_not_found(client, auth, sworld):
    auth.login("a1@alpha.example")
    for public_id in (sworld["other"].public_id, "x" * 30, "..%2F", "nope"):
        assert client.get(f"/client/subscriptions/{public_id}").status_code == 404


def test_empty_state(client, auth, app):
    with opened(app):
        factories.contact(factories.client(), email="empty@test.example")
    auth.login("empty@test.example")
    body = text(client.get("/client/subscriptions"))
    assert "You have no subscriptions." in body


def test_logged_out_is_sent_to_login(client):
    response = client.get("/client/subscriptions")
    assert response.status_code == 302 and "/client/login" in response.headers["Location"]


def test_demo_client_sees_its_subscription_and_invoice(client, auth, db):
    demo.seed()
    counts = (models.Plan.select().count(), models.Subscription.select().count(),
              models.Invoice.select().count())
    demo.seed()
    assert (models.Plan.select().count(), models.Subscription.select().count(),
            models.Invoice.select().count()) == counts == (1, 1, counts[2])
    subscription = models.Subscription.get()
    assert subscription.invoices.count() == 1
    assert subscription.invoices.get().status == "paid"
    assert auth.login(demo.CLIENTS[0][3][0][2], demo.PASSWORD).status_code == 302
    body = text(client.get("/client/subscriptions"))
    assert "Studio Care" in body and "Active" in body
    detail = text(client.get(f"/client/subscriptions/{subscription.public_id}"))
    assert subscription.invoices.get().number in detail
