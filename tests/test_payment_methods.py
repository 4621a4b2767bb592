"""Payment Methods tab, token modes, and every payment <id> route as the wrong contact."""
import time

import pytest

import models
from tests.conftest import csrf_token, hx
from tests.core_support import QueryCounter
from tests.payments_support import make_gateway, pay, reload, save_card


def test_empty_tab_offers_adding_when_a_gateway_can_save(client, auth, world, demo_gateway):
    auth.login("a1@alpha.example")
    page = client.get("/client/payment_methods")
    html = page.get_data(as_text=True)
    assert "No saved payment methods." in html and "Add payment method" in html
    fragment = hx(client, "/client/payment_methods")
    assert "<html" not in fragment.get_data(as_text=True)


def test_several_methods_default_and_remove(client, auth, world, demo_gateway, conn):
    # Another client's card, ending 5555: never on this client's tab.
    models.GatewayToken.create(client=world["b"], gateway=demo_gateway, token="tok_beta",
                               brand="mastercard", last4="5555", exp_month=12, exp_year=2031)
    auth.login("a1@alpha.example")
    assert save_card(client, demo_gateway).status_code == 303
    assert save_card(client, demo_gateway, "5555555555554444").status_code == 303
    first, second = models.GatewayToken.select().where(
        models.GatewayToken.client == world["a"].id).order_by(models.GatewayToken.id)
    assert first.is_default and not second.is_default
    page = client.get(f"/client/payment_methods/{second.public_id}").get_data(as_text=True)
    assert "Make default" in page and "data-confirm=" in page
    token = csrf_token(client, f"/client/payment_methods/{second.public_id}")
    client.post(f"/client/payment_methods/{second.public_id}/default",
                data={"csrf_token": token})
    assert reload(second).is_default and not reload(first).is_default
    client.post(f"/client/payment_methods/{second.public_id}/remove",
                data={"csrf_token": token})
    assert reload(second).deleted_at is not None
    assert reload(first).is_default  # the remaining card takes over as default
    html = client.get("/client/payment_methods").get_data(as_text=True)
    listing = html.split("was removed")[-1]  # past the flash that names the removed card
    assert "4242" in listing and "4444" not in listing
    assert "5555" not in html


def test_bad_demo_card_is_refused(client, auth, world, demo_gateway):
    auth.login("a1@alpha.example")
    response = save_card(client, demo_gateway, "1234567812345678")
    assert response.status_code == 422
    assert "only test card numbers" in response.get_data(as_text=True)
    assert not models.GatewayToken.select().exists()


@pytest.mark.parametrize("mode,expect", [
    ("always", "will be saved"), ("optin", 'name="save" value="1">'),
    ("optout", 'name="save" value="1" checked'), ("off", None)])
def test_token_mode_decides_the_save_card_choice(client, auth, world, conn, mode, expect):
    gateway = make_gateway("demo", token_mode=mode)
    auth.login("a1@alpha.example")
    html = pay(client, [world["invoices"]["sent"]], f"new:{gateway.id}").get_data(as_text=True)
    if expect:
        assert expect in html
    else:
        assert 'name="save"' not in html and "will be saved" not in html


def test_staff_acting_as_the_contact_is_recorded_as_staff(app, client, auth, world,
                                                          demo_gateway, conn):
    from tests import factories
    staff = factories.staff()
    auth.login("a1@alpha.example")
    with client.session_transaction() as session:
        # A portal view as staff lasts only while the staff session it carries is live.
        session.update(impersonator_id=staff.id, staff_id=staff.id,
                       staff_token=staff.session_token, staff_since=int(time.time()))
    save_card(client, demo_gateway, staff_consent="1")  # tests/test_impersonation.py: consent
    token = models.GatewayToken.get()
    assert token.created_by_staff_id == staff.id and token.created_by_contact_id is None


def test_every_payment_route_is_404_for_another_client(client, auth, world, demo_gateway,
                                                       conn):
    auth.login("b1@beta.example")
    save_card(client, demo_gateway)
    theirs = models.GatewayToken.get()
    done = pay(client, [world["other"]], f"token:{theirs.public_id}")
    payment_url = done.headers["Location"]
    auth.logout()
    auth.login("a1@alpha.example")
    token = csrf_token(client, "/client/payments")
    for path in (payment_url, payment_url + "/pdf",
                 f"/client/payment_methods/{theirs.public_id}"):
        assert client.get(path).status_code == 404, path
    for path in (f"/client/payment_methods/{theirs.public_id}/remove",
                 f"/client/payment_methods/{theirs.public_id}/default",
                 payment_url + "/complete"):
        assert client.post(path, data={"csrf_token": token}).status_code == 404, path
    assert reload(theirs).deleted_at is None


def count_queries(fn):
    with QueryCounter() as counter:
        fn()
    return counter.count


def test_payments_tab_queries_do_not_grow_with_the_list(client, auth, world, conn):
    from billing import payments as payment_service
    from tests import factories
    staff = factories.staff()
    auth.login("a1@alpha.example")

    def add(n):
        for _ in range(n):
            inv = factories.invoice(world["a"])
            payment_service.record_manual(staff, world["a"], "100.00", [inv.id],
                                          method="cash", locale="en_US")

    add(2)
    few = count_queries(lambda: hx(client, "/client/payments"))
    add(20)
    many = count_queries(lambda: hx(client, "/client/payments"))
    assert many == few and many <= 7, (few, many)
    html = hx(client, "/client/payments").get_data(as_text=True)
    assert "<html" not in html and html.count("<tr>") == 23  # header + 22 rows
