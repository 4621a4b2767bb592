"""Pre-payments (issue 11 parts 1-2), the tab: shown only when the business enables it, one
route for the page and its fragment; a one-off pre-payment with a new or saved card is
recorded as unapplied money and charged once; a declined card and every bad input are
refused with nothing written.

Siblings: tests/test_prepayments_recurring.py (recurring schedules and run-due) and
tests/test_prepayments_stripe.py (through Stripe on localstripe). Shared helpers and the
`enabled` fixture are tests/prepayments_support.py."""
import pytest

import models
from billing import DomainError, checkout, payment_methods, prepayments
from tests import factories
from tests.conftest import csrf_token, hx
from tests.core_support import snapshot
from tests.payments_support import make_gateway, reload, save_card, typed_card
from tests.prepayments_support import TAB, form_page, pay_new_card, prepayments_of, submit

# -- the tab ---------------------------------------------------------------------------------

def test_tab_exists_only_when_prepayments_are_enabled(client, auth, world, conn):
    factories.company(prepayments_enabled=False)
    auth.login("a1@alpha.example")
    assert client.get(TAB).status_code == 404
    assert TAB not in client.get("/client/invoices").get_data(as_text=True)
    factories.company(prepayments_enabled=True)
    page = client.get(TAB)
    assert page.status_code == 200 and "Enable recurring" in page.get_data(as_text=True)
    assert TAB in client.get("/client/invoices").get_data(as_text=True)


def test_tab_is_one_route_for_page_and_fragment(client, auth, world, enabled, demo_gateway):
    auth.login("a1@alpha.example")
    page, fragment = client.get(TAB), hx(client, TAB)
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]
    assert "<html" in page.get_data(as_text=True)
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and "<h1>Pre-Payment</h1>" in html
    assert 'name="csrf_token"' in html and "New card · Demo gateway" in html
    assert "The minimum pre-payment is $10.00." in html


def test_another_clients_saved_card_is_refused(client, auth, world, enabled, demo_gateway):
    auth.login("b1@beta.example")
    save_card(client, demo_gateway)
    theirs = models.GatewayToken.get()
    client.post("/client/logout", data={"csrf_token": csrf_token(client, TAB)})
    auth.login("a1@alpha.example")
    before = snapshot()
    response = submit(client, f"token:{theirs.public_id}", amount="50")
    assert response.status_code == 422
    assert "no longer available" in response.get_data(as_text=True)
    assert snapshot() == before


def test_one_off_prepayment_with_a_new_card_is_unapplied(client, auth, world, enabled,
                                                         demo_gateway):
    auth.login("a1@alpha.example")
    balance_before = reload(world["a"]).balance
    done = pay_new_card(client, demo_gateway, amount="1,250.50", note="For next month")
    assert done.status_code == 303 and "/client/payments/" in done.headers["Location"]
    [payment] = prepayments_of(world["a"])
    assert (payment.status, payment.amount, payment.applied, payment.unapplied) == (
        "completed", 125050, 0, 125050)
    assert payment.notes == "For next month" and payment.number
    assert not payment.allocations.exists()
    assert not models.Credit.select().exists()  # unapplied money, not an over-payment credit
    assert reload(world["a"]).balance == balance_before  # no invoice was touched
    assert not models.PrepaymentSchedule.select().exists()
    listing = client.get("/client/payments").get_data(as_text=True)
    assert "Pre-payment" in listing and "$1,250.50 unapplied" in listing
    show = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "For next month" in show and "unapplied" in show


def test_prepayment_with_a_saved_card_and_a_double_submit_charges_once(client, auth, world,
                                                                       enabled, demo_gateway):
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway)
    token = models.GatewayToken.get()
    csrf, key = form_page(client)
    data = {"csrf_token": csrf, "key": key, "step": "pay", "method": f"token:{token.public_id}",
            "amount": "50"}
    assert client.post(TAB, data=data).status_code == 303
    assert client.post(TAB, data=data).status_code == 303  # the same form again
    assert [p.amount for p in prepayments_of(world["a"])] == [5000]
    assert models.DemoCharge.select().count() == 1


def test_declined_card_records_no_money_and_no_schedule(client, auth, world, enabled,
                                                        demo_gateway):
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway, "4000000000000341")  # saves; every charge is declined
    token = models.GatewayToken.get()
    response = submit(client, f"token:{token.public_id}", amount="50", recurring="1",
                      frequency="monthly")
    assert response.status_code == 422 and "declined" in response.get_data(as_text=True)
    assert not models.Payment.select().where(models.Payment.status == "completed").exists()
    assert not models.PrepaymentSchedule.select().exists()


BAD = [
    ({"amount": "5"}, "amount", "minimum pre-payment is $10.00"),
    ({"amount": "ten"}, "amount", "as a number"),
    ({"amount": "-20"}, "amount", "cannot be negative"),
    ({"amount": ""}, "amount", "Enter an amount"),
    ({"amount": "0"}, "amount", "above zero"),
    ({"amount": "€50"}, "amount", "as a number"),  # another currency: the client's only
    ({"amount": "50.001"}, "amount", "at most 2 decimal places"),
    ({"amount": "50", "recurring": "1", "frequency": "hourly"}, "frequency", "frequency"),
    ({"amount": "50", "recurring": "1", "frequency": "monthly", "cycles": "1.5"}, "cycles",
     "whole number"),
    ({"amount": "50", "recurring": "1", "frequency": "monthly", "cycles": "-3"}, "cycles",
     "whole number"),
    ({"amount": "50", "recurring": "1", "frequency": "monthly", "cycles": "1"}, "cycles",
     "whole number"),
    ({"amount": "50", "note": "x" * 600}, "note", "under 500"),
]


@pytest.mark.parametrize("fields,field,message", BAD)
def test_bad_input_is_refused_at_its_field_and_nothing_is_written(client, auth, world, enabled,
                                                                   demo_gateway, fields, field,
                                                                   message):
    auth.login("a1@alpha.example")
    before = snapshot()
    response = submit(client, f"new:{demo_gateway.id}", **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="err-{field}"' in html and message in html
    assert 'aria-invalid="true" aria-describedby="err-' + field + '"' in html
    assert snapshot() == before


def test_recurrence_needs_a_saved_method(client, auth, world, conn, enabled):
    from tests.payments_support import make_gateway
    gateway = make_gateway("demo", token_mode="off")  # the business keeps no cards
    auth.login("a1@alpha.example")
    before = snapshot()
    response = submit(client, f"new:{gateway.id}", amount="50", recurring="1",
                      frequency="weekly")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "need a saved payment method" in html
    assert 'aria-describedby="err-recurring"' in html
    assert snapshot() == before


def test_german_contact_types_amounts_the_german_way(client, auth, world, enabled,
                                                     demo_gateway):
    models.Contact.update(locale="de_DE").where(models.Contact.id == world["a1"].id).execute()
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway)
    token = models.GatewayToken.get()
    assert submit(client, f"token:{token.public_id}", amount="20,50").status_code == 303
    assert [p.amount for p in prepayments_of(world["a"])] == [2050]


# -- prepay() itself, as the API and the back office call it ---------------------------------

@pytest.fixture
def new_card(conn, enabled):
    """A contact and a card just typed in at the demo gateway: prepay(**new_card.how)."""
    contact = factories.contact()
    gateway = checkout.gateway_settings.get(make_gateway("demo").id)
    card = payment_methods.captured(contact.client, gateway, typed_card("4242424242424242"))

    def prepay(key, form=None, **how):
        return prepayments.prepay(contact, models.Company.current(), form or {"amount": "50"},
                                  locale="en_US", idempotency_key=key, gateway=gateway,
                                  new_method=card, **how)
    return prepay


def test_a_new_card_is_kept_only_when_the_caller_says_so(new_card):
    done = new_card("prepay-unsaved-000000000001")
    assert done.status == "completed" and reload(done.payment).unapplied == 5000
    assert not models.GatewayToken.select().exists()


def test_staff_keep_a_new_card_with_the_clients_consent(new_card):
    staff = factories.staff()
    done = new_card("prepay-staff-consent-0000001", save_method=True, staff=staff,
                    staff_consent=True)
    assert done.status == "completed"
    kept = models.GatewayToken.get()
    assert (kept.created_by_staff_id, kept.created_by_contact_id) == (staff.id, None)
    paid = models.Activity.get(models.Activity.action == "payment.completed")
    assert paid.staff_id == staff.id


def test_staff_without_the_clients_consent_keep_no_card_and_charge_nothing(new_card):
    staff = factories.staff()
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        new_card("prepay-staff-consent-0000001", save_method=True, staff=staff)
    assert refused.value.field == "consent"
    assert snapshot() == before


def test_a_schedule_without_a_card_to_keep_is_refused_before_any_charge(new_card):
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        new_card("prepay-recur-unsaved-000001", form={
            "amount": "50", "recurring": "1", "frequency": "monthly"})
    assert refused.value.field == "recurring"
    assert snapshot() == before  # no payment row, and no charge in the demo gateway's books


# -- the form's rules, word for word ------------------------------------------------------------

CYCLES_WORDS = ("Number of payments must be a whole number from 2 to 1000 (this payment "
                "included), or blank to continue until you stop it.")


@pytest.mark.parametrize("cycles,remaining", [("", -1), ("  ", -1), (None, -1), ("2", 1),
                                              ("1000", 999)])
def test_the_number_of_payments_counts_this_one_and_blank_means_until_stopped(cycles,
                                                                             remaining):
    assert prepayments.parse_recurrence(True, "monthly", cycles) == {
        "frequency": "monthly", "remaining": remaining}


def test_a_one_off_payment_has_no_recurrence_whatever_else_was_sent():
    assert prepayments.parse_recurrence(False, "hourly", "x") is None


@pytest.mark.parametrize("frequency,cycles,field,words", [
    ("hourly", "", "frequency", "Choose a frequency from the list."),
    ("monthly", "1", "cycles", CYCLES_WORDS),
    ("monthly", "1001", "cycles", CYCLES_WORDS),
    ("monthly", "ten", "cycles", CYCLES_WORDS),
])
def test_a_bad_recurrence_is_refused_at_its_field_with_its_words(frequency, cycles, field,
                                                                 words):
    with pytest.raises(DomainError) as refused:
        prepayments.parse_recurrence(True, frequency, cycles)
    assert (refused.value.field, refused.value.message) == (field, words)


def test_a_schedule_needs_a_card_that_is_kept(demo_gateway):
    gateway = checkout.gateway_settings.get(demo_gateway.id)
    monthly = {"frequency": "monthly", "remaining": -1}
    with pytest.raises(DomainError) as refused:
        prepayments.check_can_recur(monthly, gateway=gateway)  # the new card is not kept
    assert (refused.value.field, refused.value.message) == (
        "recurring", "Recurring pre-payments need a saved payment method: choose a saved "
        "card, or save the new card with this payment.")
    prepayments.check_can_recur(monthly, gateway=gateway, save_method=True)
    prepayments.check_can_recur(None, gateway=gateway)  # a one-off needs nothing kept


def test_the_smallest_amount_and_the_minimum_itself_are_taken(conn, enabled):
    client = factories.client()
    company = models.Company.current()  # USD, a $10.00 minimum
    assert prepayments.parse_amount("10.00", client, company, "en_US") == 1000
    company.minimum_prepayment = 0
    assert prepayments.parse_amount("0.01", client, company, "en_US") == 1


@pytest.mark.parametrize("text,locale,words", [
    ("0", "en_US", "Enter an amount above zero."),
    ("9.99", "en_US", "The minimum pre-payment is $10.00."),
    ("9,99", "de_DE", "The minimum pre-payment is 10,00\xa0$."),  # the amount in their way
])
def test_an_amount_below_the_floor_is_refused_with_its_words(conn, enabled, text, locale,
                                                            words):
    client = factories.client()
    with pytest.raises(DomainError) as refused:
        prepayments.parse_amount(text, client, models.Company.current(), locale)
    assert (refused.value.field, refused.value.message) == ("amount", words)


def test_an_amount_too_long_to_be_one_is_refused_not_cut(conn, enabled):
    typed = "0" * 36 + "10.005"  # its first 40 characters read 10.00
    with pytest.raises(DomainError, match="as a number"):
        prepayments.parse_amount(typed, factories.client(), models.Company.current(), "en_US")


def test_a_note_is_trimmed_and_may_be_500_characters_but_no_more():
    assert prepayments.check_note(None) == ""
    assert prepayments.check_note("  Retainer  ") == "Retainer"
    assert prepayments.check_note("x" * 500) == "x" * 500
    with pytest.raises(DomainError) as refused:
        prepayments.check_note("x" * 501)
    assert (refused.value.field, refused.value.message) == (
        "note", "Keep the note under 500 characters.")
