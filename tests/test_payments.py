"""Paying invoices in the portal with the demo gateway: the happy paths and bad input. The
plan's own rules (billing.allocation, driven without a request) are tests/test_allocation.py."""
import re

import pytest

import models
import money
from billing import allocation, checkout
from tests import factories
from tests.conftest import CSRF_RE, csrf_token
from tests.core_support import pdf_text
from tests.payments_support import KEY_RE, pay, reload, review, save_card

CARD = {"card_number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2035",
        "cvc": "123"}


def test_pay_selected_from_invoice_list(client, auth, world, demo_gateway):
    auth.login("a1@alpha.example")
    html = client.get("/client/invoices").get_data(as_text=True)
    sent = world["invoices"]["sent"]
    assert f'value="{sent.public_id}"' in html and "Pay all" in html
    # paid invoices get no checkbox
    assert f'name="invoices" value="{world["invoices"]["paid"].public_id}"' not in html
    page = review(client, [sent])
    assert page.status_code == 200
    assert "New card · Demo gateway" in page.get_data(as_text=True)


def test_review_of_several_invoices_shows_the_total_it_charges(client, auth, world,
                                                                demo_gateway):
    auth.login("a1@alpha.example")
    sent, partial = world["invoices"]["sent"], world["invoices"]["partial"]
    total = sent.amount_due_now + partial.amount_due_now
    html = review(client, [sent, partial]).get_data(as_text=True)
    shown = money.format_money(total, "USD", "en_US")
    assert re.search(r"<tfoot>.*Total.*" + re.escape(shown) + r".*</tfoot>", html, re.S)
    assert f"Pay {shown}</button>" in html
    single = review(client, [sent]).get_data(as_text=True)
    assert "<tfoot>" not in single
    assert f"Pay {money.format_money(sent.amount_due_now, 'USD', 'en_US')}</button>" in single


def test_new_card_payment_then_saved_card_in_one_tap(client, auth, world, demo_gateway):
    auth.login("a1@alpha.example")
    sent, partial = world["invoices"]["sent"], world["invoices"]["partial"]
    capture = pay(client, [sent], f"new:{demo_gateway.id}")
    html = capture.get_data(as_text=True)
    assert capture.status_code == 200 and "Demo gateway" in html and "card_number" in html
    data = {"csrf_token": CSRF_RE.search(html).group(1), "step": "capture",
            "key": KEY_RE.search(html).group(1), "method": f"new:{demo_gateway.id}",
            "invoices": sent.public_id, "save": "1", "gateway": demo_gateway.id, **CARD}
    done = client.post("/client/invoices/payment", data=data)
    assert done.status_code == 303 and "/client/payments/" in done.headers["Location"]
    payment = models.Payment.get(models.Payment.status == "completed",
                                 models.Payment.method_label.contains("4242"))
    assert payment.amount == 10000 and payment.number.startswith("PAY-")
    assert reload(sent).status == "paid" and reload(sent).balance == 0
    token = models.GatewayToken.get()
    assert (token.last4, token.brand, token.is_default) == ("4242", "visa", True)
    assert token.created_by_contact_id == world["a1"].id and "4242424242" not in token.token
    # One tap with the saved card.
    done = pay(client, [partial], f"token:{token.public_id}")
    assert done.status_code == 303
    assert reload(partial).status == "paid"
    show = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Payment received" in show and partial.number in show
    receipt = client.get(done.headers["Location"] + "/pdf")
    assert receipt.status_code == 200
    paid_with_token = models.Payment.select().order_by(models.Payment.id.desc()).get()
    text = pdf_text(receipt.data)
    for expected in (paid_with_token.number, "Alpha Ltd", partial.number, "$100.00", "4242"):
        assert expected in text, (expected, text)
    assert sent.number not in text  # paid by the first payment, not this one


def test_pay_all_pays_every_unpaid_invoice(client, auth, world, demo_gateway):
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway)
    token = models.GatewayToken.get()
    balance_before = reload(world["a"]).balance
    page = review(client, [], all="1")
    html = page.get_data(as_text=True)
    assert world["invoices"]["sent"].number in html and world["invoices"]["partial"].number in html
    data = {"csrf_token": CSRF_RE.search(html).group(1), "step": "pay",
            "key": KEY_RE.search(html).group(1), "method": f"token:{token.public_id}",
            "invoices": [world["invoices"]["sent"].public_id,
                         world["invoices"]["partial"].public_id]}
    assert client.post("/client/invoices/payment", data=data).status_code == 303
    client_a = reload(world["a"])
    assert client_a.balance == balance_before - 20000 and client_a.paid_to_date == 20000
    assert reload(world["invoices"]["partial"]).status == "paid"


def test_deposit_or_full_balance(client, auth, world, demo_gateway, conn):
    inv = factories.invoice(world["a"], partial=3000)
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway)
    token = models.GatewayToken.get()
    html = review(client, [inv]).get_data(as_text=True)
    assert "Deposit $30.00" in html and "Full balance $100.00" in html
    assert pay(client, [inv], f"token:{token.public_id}").status_code == 303  # deposit
    inv = reload(inv)
    assert (inv.balance, inv.partial, inv.status) == (7000, 0, "partial")
    inv2 = factories.invoice(world["a"], partial=3000)
    pay(client, [inv2], f"token:{token.public_id}", **{f"choice_{inv2.public_id}": "full"})
    assert reload(inv2).status == "paid"


def test_partial_and_over_payment_rules(client, auth, world, demo_gateway, conn):
    factories.company(allow_partial_payments=True, minimum_partial_payment=2000,
                      allow_over_payment=True)
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway)
    token = models.GatewayToken.get()
    sent = world["invoices"]["sent"]
    below = pay(client, [sent], f"token:{token.public_id}", amounts={sent: "10.00"})
    assert below.status_code == 422 and "minimum payment is $20.00" in below.get_data(True)
    assert pay(client, [sent], f"token:{token.public_id}", amounts={sent: "25.00"}) \
        .status_code == 303
    assert reload(sent).balance == 7500
    over = pay(client, [sent], f"token:{token.public_id}", amounts={sent: "100.00"})
    assert over.status_code == 303
    credit = models.Credit.get(models.Credit.reason == "overpayment")
    assert (credit.balance, credit.status) == (2500, "sent")
    assert reload(sent).status == "paid"


BAD = [
    ({"amount": "-5"}, "cannot be negative"),
    ({"amount": "abc"}, "as a number"),
    ({"amount": "0"}, "above zero"),
    ({"amount": "12.345"}, "at most 2 decimal places"),
    ({"amount": "150.00"}, "cannot pay more than that"),
    ({"amount": "50.00"}, "must be paid in full"),
]


@pytest.mark.parametrize("change,message", BAD)
def test_bad_amounts_are_refused_and_change_nothing(client, auth, world, demo_gateway,
                                                    change, message):
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway)
    token = models.GatewayToken.get()
    sent = world["invoices"]["sent"]
    before = models.Payment.select().count()
    response = pay(client, [sent], f"token:{token.public_id}", amounts={sent: change["amount"]})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert models.Payment.select().count() == before
    assert reload(sent).balance == 10000


@pytest.mark.parametrize("which,message", [
    ("paid", "already paid"), ("draft", "could not be found"),
    ("other", "could not be found"), ("cancelled", "not open for payment")])
def test_unpayable_invoices_are_refused(client, auth, world, demo_gateway, which, message):
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway)
    token = models.GatewayToken.get()
    inv = world["other"] if which == "other" else world["invoices"][which]
    response = pay(client, [world["invoices"]["sent"], inv], f"token:{token.public_id}")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert models.Payment.select().count() == 0
    assert reload(world["invoices"]["sent"]).balance == 10000


def test_other_currency_in_one_payment_is_refused(client, auth, world, demo_gateway, conn):
    eur = factories.invoice(world["a"], currency="EUR")
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway)
    token = models.GatewayToken.get()
    response = pay(client, [world["invoices"]["sent"], eur], f"token:{token.public_id}")
    assert response.status_code == 422
    assert "different currencies" in response.get_data(as_text=True)
    assert models.Payment.select().count() == 0


def test_removed_or_foreign_method_is_refused(client, auth, world, demo_gateway, conn):
    auth.login("b1@beta.example")
    save_card(client, demo_gateway)
    foreign = models.GatewayToken.get()
    auth.logout()
    auth.login("a1@alpha.example")
    sent = world["invoices"]["sent"]
    response = pay(client, [sent], f"token:{foreign.public_id}")
    assert response.status_code == 422 and "no longer available" in response.get_data(True)
    save_card(client, demo_gateway)
    mine = models.GatewayToken.get(models.GatewayToken.client == world["a"].id)
    token = csrf_token(client, f"/client/payment_methods/{mine.public_id}")
    client.post(f"/client/payment_methods/{mine.public_id}/remove", data={"csrf_token": token})
    response = pay(client, [sent], f"token:{mine.public_id}")
    assert response.status_code == 422 and "no longer available" in response.get_data(True)
    assert models.Payment.select().count() == 0 and reload(sent).balance == 10000


def test_declined_card_says_why_and_records_nothing(client, auth, world, demo_gateway):
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway, "4000000000000341")  # saves, then every charge declines
    token = models.GatewayToken.get()
    sent = world["invoices"]["sent"]
    response = pay(client, [sent], f"token:{token.public_id}")
    assert response.status_code == 422 and "declined" in response.get_data(as_text=True)
    assert not models.Payment.select().where(models.Payment.status == "completed").exists()
    assert not models.PaymentAllocation.select().exists()
    assert reload(sent).balance == 10000 and reload(world["a"]).paid_to_date == 0


def test_gateway_error_is_retryable_with_the_same_key(client, auth, world, demo_gateway):
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway, "4000000000000119")  # the gateway fails on charge
    token = models.GatewayToken.get()
    sent = world["invoices"]["sent"]
    response = pay(client, [sent], f"token:{token.public_id}", key="k" * 32)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "try again" in html
    assert 'value="' + "k" * 32 + '"' in html  # the retry is the same attempt
    assert not models.PaymentAllocation.select().exists()
    assert reload(sent).balance == 10000 and reload(sent).status == "sent"


def test_duplicate_submission_records_one_payment(client, auth, world, demo_gateway):
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway)
    token = models.GatewayToken.get()
    sent = world["invoices"]["sent"]
    first = pay(client, [sent], f"token:{token.public_id}", key="d" * 32)
    second = pay(client, [sent], f"token:{token.public_id}", key="d" * 32)
    assert first.headers["Location"] == second.headers["Location"]
    assert models.Payment.select().where(models.Payment.method != "manual").count() == 1


def test_apply_credit_first(client, auth, world, demo_gateway, conn):
    credit = models.Credit.create(client=world["a"], number="CR-1", status="sent",
                                  date=models.utcnow().date(), currency="USD", total=4000,
                                  balance=4000)
    other_currency = models.Credit.create(client=world["a"], number="CR-2", status="sent",
                                          date=models.utcnow().date(), currency="EUR",
                                          total=9000, balance=9000)
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway)
    token = models.GatewayToken.get()
    sent = world["invoices"]["sent"]
    html = review(client, [sent]).get_data(as_text=True)
    assert "Apply my available credit first ($40.00)" in html
    assert pay(client, [sent], f"token:{token.public_id}", use_credit="1").status_code == 303
    card = models.Payment.get(models.Payment.method == "card")
    spent = models.Payment.get(models.Payment.method == "credit")
    assert (card.amount, spent.amount) == (6000, 4000)
    assert (reload(credit).balance, reload(credit).status) == (0, "applied")
    assert reload(other_currency).balance == 9000
    assert reload(sent).status == "paid"
    assert reload(world["a"]).paid_to_date == 10000


def test_credit_covering_everything_needs_no_card(client, auth, world, conn):
    models.Credit.create(client=world["a"], number="CR-1", status="sent",
                         date=models.utcnow().date(), currency="USD", total=50000,
                         balance=50000)
    auth.login("a1@alpha.example")
    sent = world["invoices"]["sent"]
    response = pay(client, [sent], "", use_credit="1")
    assert response.status_code == 303
    assert reload(sent).status == "paid"
    assert models.Credit.get().balance == 40000


def test_credit_from_two_notes_lists_the_invoice_once(client, auth, world, conn):
    for number in ("CR-1", "CR-2"):
        models.Credit.create(client=world["a"], number=number, status="sent",
                             date=models.utcnow().date(), currency="USD", total=6000,
                             balance=6000)
    auth.login("a1@alpha.example")
    sent = world["invoices"]["sent"]
    assert pay(client, [sent], "", use_credit="1").status_code == 303
    credit_payment = models.Payment.get(models.Payment.method == "credit")
    assert len(credit_payment.allocations) == 2  # one from each credit note
    html = client.get("/client/payments").get_data(as_text=True)
    row = re.search(r"<tr>(?:(?!</tr>).)*" + re.escape(credit_payment.number) + r".*?</tr>",
                    html, re.S).group(0)
    assert row.count(f">{sent.number}</a>") == 1


def test_manual_gateway_shows_instructions_and_records_nothing(client, auth, world, conn):
    from tests.payments_support import make_gateway
    manual = make_gateway("manual", token_mode="off", instructions="IBAN DE00 1234")
    auth.login("a1@alpha.example")
    response = pay(client, [world["invoices"]["sent"]], f"offline:{manual.id}")
    assert response.status_code == 200 and "IBAN DE00 1234" in response.get_data(True)
    assert models.Payment.select().count() == 0
    tab = client.get("/client/payment_methods").get_data(as_text=True)
    assert "Add payment method" not in tab and "don't store cards" in tab


def test_payments_tab_lists_staff_and_online_payments(client, auth, world, demo_gateway, conn):
    from billing import payments as payment_service
    staff = factories.staff()
    payment_service.record_manual(staff, world["a"], "40.00", [world["invoices"]["sent"].id],
                                  method="cheque", locale="en_US", reference="CHQ-77")
    auth.login("a1@alpha.example")
    html = client.get("/client/payments").get_data(as_text=True)
    assert "CHQ-77" in html and "Cheque" in html and world["invoices"]["sent"].number in html
    payment = models.Payment.get(models.Payment.reference == "CHQ-77")
    assert client.get(f"/client/payments/{payment.public_id}").status_code == 200
    auth.logout()
    auth.login("b1@beta.example")
    assert client.get(f"/client/payments/{payment.public_id}").status_code == 404
    assert client.get(f"/client/payments/{payment.public_id}/pdf").status_code == 404
    assert "CHQ-77" not in client.get("/client/payments").get_data(as_text=True)


def test_plan_is_one_validator_for_every_caller(world, conn):
    company = models.Company.current()
    sent = world["invoices"]["sent"]
    plan = allocation.plan(world["a"].id, [(sent.public_id, None)], company)
    assert (plan.total, plan.charge, plan.currency) == (10000, 10000, "USD")
    with pytest.raises(checkout.DomainError):
        allocation.plan(world["b"].id, [(sent.public_id, None)], company)


def test_nothing_selected_says_so(client, auth, world, demo_gateway):
    auth.login("a1@alpha.example")
    response = review(client, [])
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Select at least one unpaid invoice" in html
    assert "Pay 0" not in html and "<h1>Pay invoices</h1>" in html


def test_a_key_from_another_client_is_refused(client, auth, world, demo_gateway, conn):
    auth.login("b1@beta.example")
    save_card(client, demo_gateway)
    theirs = models.GatewayToken.get()
    pay(client, [world["other"]], f"token:{theirs.public_id}", key="z" * 32)
    auth.logout()
    auth.login("a1@alpha.example")
    save_card(client, demo_gateway)
    mine = models.GatewayToken.get(models.GatewayToken.client == world["a"].id)
    response = pay(client, [world["invoices"]["sent"]], f"token:{mine.public_id}",
                   key="z" * 32)
    assert response.status_code == 422 and "expired" in response.get_data(as_text=True)
    assert reload(world["invoices"]["sent"]).balance == 10000
