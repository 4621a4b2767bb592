"""Changing plan or quantity, pausing and resuming, from the portal's Subscriptions tab: the
form, the prorated amount shown before confirming, 422 + message + nothing changed."""
import datetime as dt
import html
import re

import pytest

import models
from billing import plan_changes
from billing import subscriptions as service
from tests import factories
from tests.conftest import csrf_token, hx
from tests.core_support import opened, snapshot
from tests.payments_support import demo_card


def text(response):
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def vworld(app):
    with opened(app):
        factories.company()
        people = factories.two_clients()
        today = models.utcnow().date()
        plans = {"basic": factories.plan("Basic", 1000), "pro": factories.plan("Pro", 3000),
                 "other": factories.plan("Other", 5000, plan_group="other"),
                 "locked": factories.plan("Locked", 1000, plan_group="locked",
                                          allow_plan_changes=False, allow_pause=False)}
        sub = service.subscribe(people["a"], plans["basic"], start=today - dt.timedelta(days=3),
                                contact=people["a1"])
        locked = service.subscribe(people["a"], plans["locked"], start=today)
        theirs = service.subscribe(people["b"], plans["basic"], start=today)
        sub = models.Subscription.get_by_id(sub.id)
        left, total = plan_changes.days_left(sub, today)
    return {**people, **plans, "sub": sub, "locked": locked, "theirs": theirs, "left": left,
            "total": total, "today": today}


def path(sub, action=""):
    return f"/client/subscriptions/{sub.public_id}" + (f"/{action}" if action else "")


def send(client, sub, action="change", **data):
    token = csrf_token(client, path(sub))
    return client.post(path(sub, action), data={"csrf_token": token, **data})


def fresh(sub):
    return models.Subscription.get_by_id(sub.id)


def expected(vworld, new_price, quantity=1):
    return plan_changes.share(new_price * quantity - 1000, vworld["left"], vworld["total"])


def test_show_offers_change_and_pause(client, auth, vworld):
    auth.login("a1@alpha.example")
    page = text(client.get(path(vworld["sub"])))
    assert "Change plan or quantity" in page and f'href="{path(vworld["sub"], "change")}"' in page
    assert "Pause billing" in page
    locked = text(client.get(path(vworld["locked"])))
    assert "Change plan or quantity" not in locked and "Pause billing" not in locked


def test_the_change_form_lists_the_group_only(client, auth, vworld):
    auth.login("a1@alpha.example")
    for response in (client.get(path(vworld["sub"], "change")),
                     hx(client, path(vworld["sub"], "change"))):
        body = text(response)
        assert response.status_code == 200 and body.count("<h1") == 1
        assert 'name="csrf_token"' in body and 'for="change-quantity"' in body
        assert "<legend>Plan</legend>" in body
        assert vworld["pro"].public_id in body and vworld["basic"].public_id in body
        assert vworld["other"].public_id not in body
    fragment = text(hx(client, path(vworld["sub"], "change")))
    assert fragment.startswith("<title>Change Basic · ")


def test_preview_then_confirm_an_upgrade_without_a_saved_method(client, auth, vworld):
    sub, pro = vworld["sub"], vworld["pro"]
    auth.login("a1@alpha.example")
    amount = expected(vworld, 3000, 2)
    before = snapshot()
    preview = send(client, sub, plan=pro.public_id, quantity="2")
    page = text(preview)
    assert preview.status_code == 200, page[:2000]
    assert snapshot() == before  # showing the price changes nothing
    assert "<title>Confirm the change to Pro · " in page
    assert f"To pay now: ${amount / 100:,.2f}" in page
    assert f"{vworld['left']} of {vworld['total']}" in page
    assert "An invoice for this amount is issued" in page
    assert f'name="expected_difference" value="{amount}"' in page
    assert 'name="confirmed" value="1"' in page

    done = send(client, sub, plan=pro.public_id, quantity="2", expected_difference=str(amount),
                confirmed="1")
    invoice = models.Invoice.get()
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/client/invoices/{invoice.public_id}")
    assert (invoice.total, invoice.status, invoice.subscription_id) == (amount, "sent", sub.id)
    after = fresh(sub)
    assert (after.plan_id, after.quantity, after.unit_price) == (pro.id, 2, 3000)
    page = text(client.get(done.headers["Location"]))
    assert f"Invoice {invoice.number}" in page and "Pay" in page
    # the same confirmation again is stale: nothing more is invoiced
    before = snapshot()
    again = send(client, sub, plan=pro.public_id, quantity="2",
                 expected_difference=str(amount), confirmed="1")
    assert again.status_code == 422 and "different plan or quantity" in text(again)
    assert snapshot() == before


def test_an_upgrade_with_a_saved_card_is_charged_once(client, auth, vworld, demo_gateway):
    sub, pro = vworld["sub"], vworld["pro"]
    with opened(client.application):
        demo_card(vworld["a"], demo_gateway)
    auth.login("a1@alpha.example")
    amount = expected(vworld, 3000)
    page = text(send(client, sub, plan=pro.public_id, quantity="1"))
    assert "charged to your saved payment method, Visa ending 4242" in page
    form = {"plan": pro.public_id, "quantity": "1", "expected_difference": str(amount),
            "confirmed": "1"}
    first = send(client, sub, **form)
    assert first.status_code == 303 and first.headers["Location"].endswith(path(sub))
    assert "was charged to your saved payment method" in text(client.get(path(sub)))
    second = send(client, sub, **form)  # a double submit
    assert second.status_code == 422
    with opened(client.application):
        assert models.DemoCharge.select().count() == 1
        assert models.Payment.select().count() == 1 and models.Invoice.get().balance == 0


def test_a_downgrade_shows_and_gives_a_credit(client, auth, vworld):
    sub = vworld["sub"]
    with opened(client.application):
        models.Subscription.update(quantity=3).where(models.Subscription.id == sub.id).execute()
    auth.login("a1@alpha.example")
    amount = plan_changes.share(1000 - 3000, vworld["left"], vworld["total"])
    page = text(send(client, sub, plan=vworld["basic"].public_id, quantity="1"))
    assert f"Credit to you: ${-amount / 100:,.2f}" in page
    done = send(client, sub, plan=vworld["basic"].public_id, quantity="1",
                expected_difference=str(amount), confirmed="1")
    assert done.status_code == 303
    with opened(client.application):
        credit = models.Credit.get()
        assert credit.total == -amount and credit.client_id == vworld["a"].id
    assert "A credit of" in text(client.get(path(sub)))


@pytest.mark.parametrize("data, message", [
    ({}, "Choose a plan from the list."),
    ({"plan": "nosuchplan", "quantity": "1"}, "Choose a plan from the list."),
    ({"plan": "OTHER", "quantity": "1"}, "same group"),
    ({"plan": "PRO", "quantity": ""}, "whole number"),
    ({"plan": "PRO", "quantity": "two"}, "whole number"),
    ({"plan": "PRO", "quantity": "1.5"}, "whole number"),
    ({"plan": "PRO", "quantity": "-1"}, "whole number"),
    ({"plan": "PRO", "quantity": "0"}, "at least 1"),
    ({"plan": "PRO", "quantity": "11"}, "at most 10"),
    ({"plan": "BASIC", "quantity": "1"}, "different plan or quantity"),
    ({"plan": "PRO", "quantity": "1", "expected_difference": "1", "confirmed": "1"},
     "has changed since it was shown"),
    ({"plan": "PRO", "quantity": "1", "expected_difference": "", "confirmed": "1"},
     "has changed since it was shown"),
])
def test_bad_input_is_422_with_the_form_and_changes_nothing(client, auth, vworld, data,
                                                             message):
    ids = {"OTHER": vworld["other"].public_id, "PRO": vworld["pro"].public_id,
           "BASIC": vworld["basic"].public_id}
    data = {k: ids.get(v, v) for k, v in data.items()}
    auth.login("a1@alpha.example")
    before = snapshot()
    # A bad choice is refused at both steps; a stale amount only when confirming.
    for confirmed in ([data["confirmed"]] if "confirmed" in data else ["", "1"]):
        response = send(client, vworld["sub"], **{**data, "confirmed": confirmed})
        body = text(response)
        assert response.status_code == 422, body[:1500]
        assert message in body and 'role="alert"' in body
        assert 'for="change-quantity"' in body and body.count("<h1") == 1
        assert 'aria-describedby="change-error"' in body or "has changed" in message
    assert snapshot() == before


def test_a_plan_that_does_not_allow_changes_refuses_get_and_post(client, auth, vworld):
    locked = vworld["locked"]
    auth.login("a1@alpha.example")
    before = snapshot()
    for response in (client.get(path(locked, "change")),
                     send(client, locked, plan=vworld["locked"].plan.public_id, quantity="2"),
                     send(client, locked, plan=vworld["locked"].plan.public_id, quantity="2",
                          expected_difference="0", confirmed="1")):
        assert response.status_code == 422
        assert "cannot be changed from the portal" in text(response)
    assert snapshot() == before


def test_another_clients_subscription_is_not_found(client, auth, vworld):
    auth.login("a1@alpha.example")
    other = vworld["theirs"]
    assert client.get(path(other, "change")).status_code == 404
    token = csrf_token(client, path(vworld["sub"]))
    for action in ("change", "pause", "resume"):
        assert client.post(path(other, action), data={"csrf_token": token}).status_code == 404


def test_posts_need_the_csrf_token(client, auth, vworld):
    auth.login("a1@alpha.example")
    before = snapshot()
    for action in ("change", "pause"):
        response = client.post(path(vworld["sub"], action), data={"confirmed": "1"})
        assert response.status_code == 400
    assert snapshot() == before


def test_pause_and_resume_with_confirmation(client, auth, vworld):
    sub = vworld["sub"]
    auth.login("a1@alpha.example")
    before = snapshot()
    confirm = send(client, sub, "pause")
    page = text(confirm)
    assert confirm.status_code == 200 and "Yes, pause billing" in page
    assert page.count("<title>") == 1 and "<title>Pause Basic · " in page
    assert snapshot() == before
    done = send(client, sub, "pause", confirmed="1")
    assert done.status_code == 303
    with opened(client.application):
        assert fresh(sub).status == "paused"
    page = text(client.get(path(sub)))
    assert "Paused" in page and "Resume billing" in page and "Pause billing" not in page
    assert "Change plan or quantity" not in page
    refused = send(client, sub, "pause", confirmed="1")
    assert refused.status_code == 422 and "already paused" in text(refused)
    assert "Yes, resume billing" in text(send(client, sub, "resume"))
    assert send(client, sub, "resume", confirmed="1").status_code == 303
    with opened(client.application):
        assert fresh(sub).status == "active"
    refused = send(client, sub, "resume")
    assert refused.status_code == 422 and "not paused" in text(refused)


def test_a_plan_without_pausing_refuses_it(client, auth, vworld):
    auth.login("a1@alpha.example")
    before = snapshot()
    for data in ({}, {"confirmed": "1"}):
        response = send(client, vworld["locked"], "pause", **data)
        assert response.status_code == 422
        assert "cannot be paused from the portal" in text(response)
    assert snapshot() == before


def test_new_pages_have_distinct_titles(client, auth, vworld):
    auth.login("a1@alpha.example")
    sub = vworld["sub"]
    titles = set()
    for response in (client.get(path(sub)), client.get(path(sub, "change")),
                     send(client, sub, plan=vworld["pro"].public_id, quantity="1"),
                     send(client, sub, "pause")):
        titles.add(re.search(r"<title>([^<]*)</title>", text(response)).group(1))
    assert len(titles) == 4
