"""Who decides whether a recurring invoice is auto-billed: the mode set through the services
(and an older yes/no read as a mode), the staff editor's choice, and the contact's choice
on the Recurring tab (only where the mode leaves it to them, scoped to their account, with
a CSRF token), which decides the next invoice's charge.

The charging itself (retries, e-mails, overlapping runs, Stripe) is tests/test_autobill.py and
tests/test_autobill_outcomes.py;
shared helpers are tests/autobill_support.py."""
import pytest

import models
from billing import autobill, recurring
from tests import factories
from tests.autobill_support import DAY, LINES, customer, template, tick
from tests.conftest import csrf_token
from tests.core_support import opened, refusal, snapshot
from tests.payments_support import demo_card, reload

# -- the mode through the services, and a setting from before the modes ------------------

def test_legacy_yes_means_always_after_upgrade(db):
    client, _ = customer()
    r = template(client, "off")
    models.RecurringInvoice.update(auto_bill=True).execute()  # written before the modes
    models.create_tables()
    assert reload(r).auto_bill_mode == "always"
    models.create_tables()
    assert reload(r).auto_bill_mode == "always"


def test_modes_through_the_services(db):
    client, _ = customer()
    r = recurring.create_recurring(client, LINES, start_date=DAY, auto_bill=True)
    assert (r.auto_bill_mode, r.auto_bill) == ("always", True)
    r = recurring.update_recurring(r, {"auto_bill_mode": "optout"})
    assert (r.auto_bill_mode, r.auto_bill) == ("optout", True)
    r = recurring.update_recurring(r, {"auto_bill": False})
    assert (r.auto_bill_mode, r.auto_bill) == ("off", False)
    before = snapshot()
    for bad in ("sometimes", "", 1, "OFF"):
        refused = refusal(lambda b=bad: recurring.update_recurring(r, {"auto_bill_mode": b}))
        assert (refused.message, refused.field) == (
            "Choose an auto-bill setting from the list.", "auto_bill_mode")
        with pytest.raises(autobill.DomainError, match="auto-bill setting"):
            recurring.create_recurring(client, LINES, start_date=DAY, auto_bill_mode=bad)
    assert snapshot() == before


def test_set_choice_records_who_chose_on_the_schedule(db):
    client, primary = customer()
    r = template(client, "optin")
    who = factories.staff()
    assert autobill.set_choice(r, True, contact=primary.id).auto_bill_choice == "yes"
    assert autobill.set_choice(r, False, staff=who).auto_bill_choice == "no"
    assert reload(r).auto_bill_choice == "no"
    A = models.Activity
    rows = [(a.action, a.subject_type, a.subject_id, a.client_id, a.contact_id, a.staff_id,
             a.actor) for a in A.select().order_by(A.id)]
    assert rows == [
        ("recurring.auto_bill_on", "recurringinvoice", r.id, client.id, primary.id, None,
         "contact"),
        ("recurring.auto_bill_off", "recurringinvoice", r.id, client.id, None, who.id,
         "staff")]


@pytest.mark.parametrize("mode", ["off", "always"])
def test_set_choice_refused_where_the_business_decides(db, mode):
    client, primary = customer()
    r = template(client, mode)
    refused = refusal(lambda: autobill.set_choice(r, True, contact=primary.id))
    assert refused.message == "Automatic payment for this schedule is set by the business."
    assert refused.field == "auto_bill"


# -- the contact's choice on the Recurring tab -------------------------------------------

def choose(http, r, value, token_from=None):
    token = csrf_token(http, token_from or f"/client/recurring_invoices/{r.public_id}")
    return http.post(f"/client/recurring_invoices/{r.public_id}/auto_bill",
                     data={"csrf_token": token, "auto_bill": value})


def test_contact_turns_auto_bill_on_and_off(client, auth, world, app):
    with opened(app):
        optin = template(world["a"], "optin")
        optout = template(world["a"], "optout")
    auth.login("a2@alpha.example")
    page = client.get(f"/client/recurring_invoices/{optin.public_id}").get_data(as_text=True)
    assert "Turn automatic payment on" in page and 'name="csrf_token"' in page
    response = choose(client, optin, "on")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Automatic payment is on" in page and "Turn automatic payment off" in page
    assert "no saved payment method yet" in page
    response = choose(client, optout, "off")
    assert response.status_code == 303
    with opened(app):
        assert reload(optin).auto_bill_choice == "yes"
        assert reload(optout).auto_bill_choice == "no"
        assert autobill.applies(reload(optin)) and not autobill.applies(reload(optout))
        activity = models.Activity.select().where(
            models.Activity.action.startswith("recurring.auto_bill")).count()
        assert activity == 2
    page = client.get(f"/client/recurring_invoices/{optout.public_id}").get_data(as_text=True)
    assert "Turn automatic payment on" in page


@pytest.mark.parametrize("mode", ["off", "always"])
def test_no_choice_where_the_business_decides(client, auth, world, app, mode):
    with opened(app):
        r = template(world["a"], mode)
    auth.login("a1@alpha.example")
    page = client.get(f"/client/recurring_invoices/{r.public_id}").get_data(as_text=True)
    assert "Turn automatic payment" not in page
    with opened(app):
        before = snapshot()
    response = choose(client, r, "off")
    assert response.status_code == 303
    assert "set by the business" in client.get(response.headers["Location"]).get_data(
        as_text=True)
    with opened(app):
        assert snapshot() == before


def test_choice_is_scoped_checked_and_needs_csrf(client, auth, world, app):
    with opened(app):
        theirs = template(world["b"], "optin")
        ours = template(world["a"], "optin")
        draft = template(world["a"], "optin", status="draft")
    auth.login("a1@alpha.example")
    with opened(app):
        before = snapshot()
    assert choose(client, theirs, "on", "/client/recurring_invoices").status_code == 404
    assert choose(client, draft, "on", "/client/recurring_invoices").status_code == 404
    assert client.post(f"/client/recurring_invoices/{ours.public_id}/auto_bill",
                       data={"auto_bill": "on"}).status_code == 400  # no CSRF token
    for bad in ("yes", "", "ON"):
        assert choose(client, ours, bad).status_code == 400
    with opened(app):
        assert snapshot() == before


def test_contact_choice_decides_the_next_invoice(client, auth, world, app, demo_gateway):
    with opened(app):
        demo_card(world["a"], demo_gateway)
        r = template(world["a"], "optin")
    auth.login("a1@alpha.example")
    assert choose(client, r, "on").status_code == 303
    with opened(app):
        (invoice,), done = tick()
        assert done == {"paid": 1} and reload(invoice).status == "paid"
        assert models.Payment.get().contact_id == world["a1"].id  # first contact, no primary


# -- the staff editor ------------------------------------------------------------------

@pytest.fixture
def staff(editor_staff):
    """`client` logged in as staff, with a client Acme Buyer (tests/document_editor_support.py)."""
    return editor_staff


def editor_post(http, **fields):
    token = csrf_token(http, "/admin/recurring_invoices/new")
    return http.post("/admin/recurring_invoices/new", data={
        "csrf_token": token, "client": str(http.acme.id), "start_date": "2026-12-01",
        "frequency": "monthly", "product": ["Retainer"], "description": [""],
        "quantity": ["1"], "unit_price": ["500.00"], "discount_percent": [""],
        "tax_name": [""], "tax_rate": [""], **fields})


def test_staff_choose_the_mode_in_the_editor(app, staff):
    page = staff.get("/admin/recurring_invoices/new").get_data(as_text=True)
    assert 'name="auto_bill_mode"' in page and "Opt-out: on until the client turns it off" \
        in page
    response = editor_post(staff, auto_bill_mode="optout")
    assert response.status_code == 303, response.get_data(as_text=True)
    with opened(app):
        r = models.RecurringInvoice.get()
        assert (r.auto_bill_mode, r.auto_bill) == ("optout", True)
    shown = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "Opt-out: on until the client turns it off" in shown
    edit = staff.get(f"/admin/recurring_invoices/{r.id}/edit").get_data(as_text=True)
    assert '<option value="optout" selected>' in edit


def test_editor_refuses_an_unknown_mode(app, staff):
    with opened(app):
        before = snapshot()
    response = editor_post(staff, auto_bill_mode="sometimes")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Choose an auto-bill setting" in html
    assert 'name="auto_bill_mode" aria-invalid="true"' in html
    with opened(app):
        assert snapshot() == before
