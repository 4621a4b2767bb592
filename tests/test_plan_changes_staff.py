"""Staff change, pause, resume and cancel a client's subscription from the back office and
the API (/api/v1/client_subscriptions bulk actions), through billing.plan_changes."""
import datetime as dt
import html

import pytest

import models
from billing import company_settings as settings
from billing import plan_changes
from billing import subscriptions as service
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import login_staff, opened, snapshot

REASON = settings.DEFAULT_CANCELLATION_REASONS[0]


def text(response):
    return html.unescape(response.get_data(as_text=True))


def staff_only_plan(name, price, **kw):
    return factories.plan(name, price, allow_plan_changes=False, allow_pause=False,
                          cancellation="not_allowed", **kw)


@pytest.fixture
def sworld(app):
    """Plans that let clients do nothing themselves: staff still may."""
    with opened(app):
        factories.company()
        customer = factories.client(name="Alpha Ltd")
        factories.contact(customer, email="a1@alpha.example", is_primary=True)
        basic, pro = staff_only_plan("Basic", 1000), staff_only_plan("Pro", 3000)
        other = staff_only_plan("Other", 9000, plan_group="other")
        today = models.utcnow().date()
        sub = service.subscribe(customer, basic, start=today - dt.timedelta(days=3))
        sub = models.Subscription.get_by_id(sub.id)
        left, total = plan_changes.days_left(sub, today)
    return {"client": customer, "basic": basic, "pro": pro, "other": other, "sub": sub,
            "left": left, "total": total}


@pytest.fixture
def staff(app, client):
    with opened(app):
        factories.staff("boss@test.example")
    login_staff(client, "boss@test.example")
    return client


def held(sub, action=""):
    return f"/admin/subscriptions/held/{sub.id}" + (f"/{action}" if action else "")


def send(http, path, **data):
    token = csrf_token(http, "/admin/subscriptions")
    return http.post(path, data={"csrf_token": token, **data})


def fresh(sub):
    return models.Subscription.get_by_id(sub.id)


# ---------------------------------------------------------------- back office

def test_staff_only(client, sworld):
    response = client.get(held(sworld["sub"]))
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_client_page_links_to_the_subscription(staff, sworld):
    page = text(staff.get(f"/admin/clients/{sworld['client'].id}"))
    assert f'href="{held(sworld["sub"])}"' in page
    assert staff.get(held(sworld["sub"])).status_code == 200
    assert staff.get("/admin/subscriptions/held/999999").status_code == 404


def test_staff_change_a_locked_plan_with_a_preview(staff, sworld):
    sub, pro = sworld["sub"], sworld["pro"]
    amount = plan_changes.share(2000, sworld["left"], sworld["total"])
    before = snapshot()
    preview = send(staff, held(sub, "change"), plan=pro.public_id, quantity="1")
    page = text(preview)
    assert preview.status_code == 200 and "Confirm the change" in page
    assert f'name="expected_difference" value="{amount}"' in page
    assert snapshot() == before
    done = send(staff, held(sub, "change"), plan=pro.public_id, quantity="1",
                expected_difference=str(amount), confirmed="1")
    assert done.status_code == 303
    with opened(staff.application):
        assert fresh(sub).plan_id == pro.id
        invoice = models.Invoice.get()
        assert invoice.total == amount and invoice.subscription_id == sub.id
        logged = models.Activity.get(models.Activity.action == "subscription.plan_changed")
        assert logged.staff_id is not None
    assert invoice.number in text(staff.get(held(sub)))


@pytest.mark.parametrize("data, message", [
    ({"plan": "OTHER", "quantity": "1"}, "same group"),
    ({"plan": "PRO", "quantity": "11"}, "at most 10"),
    ({"plan": "PRO", "quantity": "x"}, "whole number"),
    ({"plan": "PRO", "quantity": "1", "expected_difference": "1", "confirmed": "1"},
     "has changed since it was shown"),
])
def test_staff_bad_changes_are_422_and_change_nothing(staff, sworld, data, message):
    ids = {"OTHER": sworld["other"].public_id, "PRO": sworld["pro"].public_id}
    data = {k: ids.get(v, v) for k, v in data.items()}
    before = snapshot()
    response = send(staff, held(sworld["sub"], "change"), **data)
    assert response.status_code == 422 and message in text(response)
    assert 'role="alert"' in text(response)
    assert snapshot() == before


def test_staff_pause_resume_with_confirmation(staff, sworld):
    sub = sworld["sub"]
    before = snapshot()
    confirm = send(staff, held(sub, "pause"))
    assert confirm.status_code == 200 and "Pause billing?" in text(confirm)
    assert snapshot() == before
    assert send(staff, held(sub, "pause"), confirmed="1").status_code == 303
    with opened(staff.application):
        assert fresh(sub).status == "paused"
    assert "Resume billing" in text(staff.get(held(sub)))
    refused = send(staff, held(sub, "pause"), confirmed="1")
    assert refused.status_code == 422 and "already paused" in text(refused)
    assert send(staff, held(sub, "resume"), confirmed="1").status_code == 303
    with opened(staff.application):
        assert fresh(sub).status == "active"


def test_staff_cancel_a_plan_clients_cannot_cancel(staff, sworld):
    sub = sworld["sub"]
    before = snapshot()
    missing = send(staff, held(sub, "cancel"), reason="", when="immediately")
    assert missing.status_code == 422 and "Choose a reason" in text(missing)
    bad_when = send(staff, held(sub, "cancel"), reason=REASON, when="tomorrow")
    assert bad_when.status_code == 422 and "Choose when" in text(bad_when)
    confirm = send(staff, held(sub, "cancel"), reason=REASON, when="immediately")
    assert confirm.status_code == 200 and "Cancel this subscription?" in text(confirm)
    assert snapshot() == before
    done = send(staff, held(sub, "cancel"), reason=REASON, when="immediately", confirmed="1")
    assert done.status_code == 303
    with opened(staff.application):
        after = fresh(sub)
        assert after.status == "cancelled" and after.cancelled_at is not None


# ---------------------------------------------------------------- API

def bulk(api, action, sub, **data):
    return api.post("client_subscriptions/bulk", json={"action": action,
                                                       "ids": [sub.public_id], **data})


def test_api_lists_and_shows(api, sworld):
    listed = api.get(f"client_subscriptions?client_id={sworld['client'].public_id}")
    assert listed.status_code == 200, listed.json
    (row,) = listed.json["data"]
    assert (row["id"], row["plan_name"], row["amount"], row["status"]) == (
        sworld["sub"].public_id, "Basic", "10.00", "active")
    assert api.get(f"client_subscriptions/{row['id']}").json["data"] == row
    assert api.delete(f"client_subscriptions/{row['id']}").status_code == 405


def test_api_change_pause_resume_cancel(api, app, sworld):
    sub, pro = sworld["sub"], sworld["pro"]
    amount = plan_changes.share(2 * 3000 - 1000, sworld["left"], sworld["total"])
    changed = bulk(api, "change", sub, plan_id=pro.public_id, quantity=2,
                   expected_difference=f"{amount / 100:.2f}")
    assert changed.status_code == 200, changed.json
    (row,) = changed.json["data"]
    assert (row["plan_id"], row["quantity"], row["amount"]) == (pro.public_id, 2, "60.00")
    down = bulk(api, "change", sub, plan_id=sworld["basic"].public_id, quantity=1)
    assert down.status_code == 200, down.json
    with opened(app):
        assert models.Invoice.get().total == amount
        assert models.Credit.select().count() == 1
    assert bulk(api, "pause", sub).json["data"][0]["status"] == "paused"
    assert bulk(api, "resume", sub).json["data"][0]["status"] == "active"
    cancelled = bulk(api, "cancel", sub, reason=REASON)
    assert cancelled.status_code == 200, cancelled.json
    assert cancelled.json["data"][0]["cancel_at_period_end"]


@pytest.mark.parametrize("action, data, field", [
    ("change", {"plan_id": "OTHER"}, "plan_id"),
    ("change", {"plan_id": "nosuchplan"}, "plan_id"),
    ("change", {"quantity": 11}, "quantity"),
    ("change", {"quantity": 0}, "quantity"),
    ("change", {"quantity": 2, "expected_difference": "0.01"}, "expected_difference"),
    ("change", {"quantity": 2, "expected_difference": "ten"}, "expected_difference"),
    ("change", {"quantity": 2, "colour": "red"}, "colour"),
    ("cancel", {"reason": "Because"}, "reason"),
    ("cancel", {"reason": REASON, "when": "later"}, "when"),
    ("resume", {}, "subscription"),
])
def test_api_refusals_are_422_and_change_nothing(api, app, sworld, action, data, field):
    ids = {"OTHER": sworld["other"].public_id}
    data = {k: ids.get(v, v) for k, v in data.items()}
    with opened(app):
        before = snapshot()
    response = bulk(api, action, sworld["sub"], **data)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json
    with opened(app):
        assert snapshot() == before


def test_api_change_takes_one_id(api, app, sworld):
    with opened(app):
        second = service.subscribe(sworld["client"], sworld["basic"])
    response = api.post("client_subscriptions/bulk", json={
        "action": "change", "ids": [sworld["sub"].public_id, second.public_id], "quantity": 2})
    assert response.status_code == 422 and "ids" in response.json["errors"]


# ---------------------------------------------------------------- the allow_pause flag

def test_plans_say_whether_clients_may_pause(api, app, staff):
    created = api.post("subscriptions", json={"name": "Pausable", "price": "9.00",
                                              "currency": "USD", "allow_pause": True})
    assert created.status_code == 201 and created.json["data"]["allow_pause"] is True
    plain = api.post("subscriptions", json={"name": "Plain", "price": "9.00",
                                            "currency": "USD"})
    assert plain.json["data"]["allow_pause"] is False
    off = api.patch(f"subscriptions/{created.json['data']['id']}", json={"allow_pause": False})
    assert off.json["data"]["allow_pause"] is False
    assert 'name="allow_pause"' in text(staff.get("/admin/subscriptions/new"))
    with opened(app):
        plan_id = models.Plan.get(models.Plan.name == "Plain").id
    token = csrf_token(staff, f"/admin/subscriptions/{plan_id}/edit")
    saved = staff.post(f"/admin/subscriptions/{plan_id}/edit", data={
        "csrf_token": token, "name": "Plain", "price": "9.00", "currency": "USD",
        "frequency": "monthly", "cancellation": "at_period_end", "min_quantity": "1",
        "allow_pause": "1"})
    assert saved.status_code == 303
    with opened(app):
        assert models.Plan.get_by_id(plan_id).allow_pause


def test_a_paused_subscription_is_resumed_before_it_is_cancelled(api, app, sworld):
    assert bulk(api, "pause", sworld["sub"]).status_code == 200
    with opened(app):
        before = snapshot()
    refused = bulk(api, "cancel", sworld["sub"], reason=REASON, when="immediately")
    assert refused.status_code == 422 and "Resume it first" in refused.json["message"]
    with opened(app):
        assert snapshot() == before
