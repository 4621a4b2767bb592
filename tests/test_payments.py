"""Paying invoices in the portal with the demo gateway: the happy paths and bad input."""
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


def refusal(world, items, **kw):
    """plan()'s DomainError for these items, as (message, field)."""
    with pytest.raises(checkout.DomainError) as caught:
        allocation.plan(world["a"].id, items, models.Company.current(), **kw)
    return caught.value.message, caught.value.field


def test_plan_refuses_the_selection_naming_the_invoices_field(world, conn):
    sent, paid = world["invoices"]["sent"], world["invoices"]["paid"]
    assert refusal(world, []) == ("Select at least one invoice to pay.", "invoices")
    many = [(f"x{n}", None) for n in range(allocation.MAX_INVOICES + 1)]
    assert refusal(world, many) == ("Pay at most 100 invoices at once.", "invoices")
    twice = [(sent.public_id, None), (sent.public_id, "10.00")]
    assert refusal(world, twice) == ("An invoice was selected twice.", "invoices")
    for missing in (world["other"].public_id, world["invoices"]["draft"].public_id,
                    sent.public_id + "x" * 300):
        assert refusal(world, [(missing, None)]) == (
            "One of the selected invoices could not be found.", "invoices")
    assert refusal(world, [(paid.public_id, None)]) == (
        f"Invoice {paid.number} is already paid.", f"amount_{paid.public_id}")
    cancelled = world["invoices"]["cancelled"]
    assert refusal(world, [(cancelled.public_id, None)]) == (
        f"Invoice {cancelled.number} is not open for payment.", f"amount_{cancelled.public_id}")
    eur = factories.invoice(world["a"], currency="EUR")
    assert refusal(world, [(sent.public_id, None), (eur.public_id, None)]) == (
        "Invoices in different currencies must be paid separately.", "invoices")


def test_plan_refuses_amounts_naming_the_invoice_and_its_field(world, conn):
    sent = world["invoices"]["sent"]
    field, n = f"amount_{sent.public_id}", sent.number
    assert refusal(world, [(sent.public_id, "ten")]) == (
        f"Invoice {n}: Enter the amount as a number, for example 1,250.00.", field)
    assert refusal(world, [(sent.public_id, "0")]) == (
        f"Invoice {n}: the amount must be above zero.", field)
    assert refusal(world, [(sent.public_id, "100.01")]) == (
        f"Invoice {n} has a balance of $100.00; you cannot pay more than that.", field)
    assert refusal(world, [(sent.public_id, "99.99")]) == (
        f"Invoice {n} must be paid in full: pay the balance of $100.00.", field)
    deposit = factories.invoice(world["a"], partial=3000)
    assert refusal(world, [(deposit.public_id, "40.00")]) == (
        f"Invoice {deposit.number} must be paid in full: pay its deposit of $30.00 or the "
        "balance of $100.00.", f"amount_{deposit.public_id}")


def test_plan_lines_split_what_settles_from_what_becomes_credit(world, conn):
    company = models.Company.current()
    sent = world["invoices"]["sent"]
    deposit = factories.invoice(world["a"], partial=3000)

    def lines(items, **kw):
        made = allocation.plan(world["a"].id, items, models.Company.current(), **kw)
        return made, [(ln.amount, ln.applied, ln.excess) for ln in made.lines]

    # Without partial payments: the balance, or the deposit (the choice or typed).
    assert lines([(sent.public_id, "100.00")])[1] == [(10000, 10000, 0)]
    made, split = lines([(sent.public_id, allocation.DUE), (deposit.public_id, None)])
    assert split == [(10000, 10000, 0), (3000, 3000, 0)]
    assert (made.total, made.credit, made.charge, made.excess) == (13000, 0, 13000, 0)
    assert (made.client_id, made.currency) == (world["a"].id, "USD")
    assert lines([(deposit.public_id, "30.00")])[1] == [(3000, 3000, 0)]
    assert lines([(deposit.public_id, allocation.FULL)])[1] == [(10000, 10000, 0)]
    # A person's own locale, else the company's.
    assert lines([(sent.public_id, "100,00")], locale="de_DE")[1] == [(10000, 10000, 0)]
    factories.company(locale="de_DE")
    assert lines([(sent.public_id, "100,00")])[1] == [(10000, 10000, 0)]
    factories.company(locale="en_US", allow_over_payment=True, allow_partial_payments=True,
                      minimum_partial_payment=2000)
    made, split = lines([(sent.public_id, "150.00")])
    assert split == [(15000, 10000, 5000)] and (made.total, made.excess) == (15000, 5000)
    assert lines([(sent.public_id, "20.00")])[1] == [(2000, 2000, 0)]
    assert refusal(world, [(sent.public_id, "19.99")]) == (
        f"Invoice {sent.number}: the minimum payment is $20.00.", f"amount_{sent.public_id}")
    # A minimum above the balance asks for the balance.
    factories.company(minimum_partial_payment=50000)
    assert refusal(world, [(sent.public_id, "99.99")])[0] == (
        f"Invoice {sent.number}: the minimum payment is $100.00.")
    factories.company(minimum_partial_payment=0)
    assert lines([(sent.public_id, "0.01")])[1] == [(1, 1, 0)]
    assert company.id == models.Company.current().id


def test_plan_spends_only_usable_credit_and_never_on_the_excess(world, conn):
    def credit(number, balance, **kw):
        models.Credit.create(**{"client": world["a"], "number": number, "status": "sent",
                                "date": models.utcnow().date(), "currency": "USD",
                                "total": balance, "balance": balance, **kw})

    credit("CR-1", 1500)
    credit("CR-2", 2500, status="partial")
    credit("CR-3", 9000, status="draft")
    credit("CR-4", 9000, status="applied")
    credit("CR-5", 9000, currency="EUR")
    credit("CR-6", 0)
    credit("CR-7", 9000, client=world["b"])
    sent = world["invoices"]["sent"]
    factories.company(allow_over_payment=True, allow_partial_payments=True)
    items = [(sent.public_id, "30.00")]
    made = allocation.plan(world["a"].id, items, models.Company.current(), use_credit=True)
    assert (made.total, made.credit, made.charge) == (3000, 3000, 0)
    made = allocation.plan(world["a"].id, [(sent.public_id, "150.00")],
                           models.Company.current(), use_credit=True)
    assert (made.total, made.credit, made.charge, made.excess) == (15000, 4000, 11000, 5000)
    made = allocation.plan(world["a"].id, items, models.Company.current())
    assert (made.credit, made.charge) == (0, 3000)
    assert [c.number for c in allocation.available_credit(world["a"].id, "USD")] == [
        "CR-1", "CR-2"]


def test_apply_plan_spends_credit_first_then_cash_and_keeps_the_rest(world, conn):
    a = world["a"]
    first = factories.invoice(a, partial=3000)
    second = factories.invoice(a)
    for number, balance in (("CR-1", 1500), ("CR-2", 2500)):
        models.Credit.create(client=a, number=number, status="sent", currency="USD",
                             date=models.utcnow().date(), total=balance, balance=balance)
    before = models.Client.get_by_id(a.id)
    contact = models.Contact.get(models.Contact.email == "a1@alpha.example")
    with models.db.atomic():
        payment = models.Payment.create(client=a, number="PAY-CASH", date=models.utcnow().date(),
                                        currency="USD", amount=16500, idempotency_key="k1")
        spent, extra = allocation.apply_plan(
            payment, {"lines": [[first.id, 10000], [second.id, 10000]], "credit": 4000},
            contact=contact)
    assert (spent.amount, spent.applied, spent.status, spent.method) == (
        4000, 4000, "completed", "credit")
    assert (spent.method_label, spent.idempotency_key, spent.contact_id) == (
        "Credit CR-1, CR-2", "k1/credit", contact.id)
    # A payment number of its own, from the payments' sequence.
    assert re.fullmatch(r"PAY-\d{5}", spent.number)
    assert sorted((al.credit.number, al.invoice_id, al.amount) for al in spent.allocations) == [
        ("CR-1", first.id, 1500), ("CR-2", first.id, 2500)]
    assert [(c.balance, c.status) for c in models.Credit.select().where(
        models.Credit.number.in_(("CR-1", "CR-2"))).order_by(models.Credit.number)] == [
        (0, "applied"), (0, "applied")]
    first, second = reload(first), reload(second)
    assert (first.balance, first.partial, first.status) == (0, 0, "paid")
    assert (second.balance, second.status) == (0, "paid")
    assert sorted((al.invoice_id, al.amount) for al in payment.allocations
                  if al.invoice_id) == sorted([(first.id, 6000), (second.id, 10000)])
    # 500 beyond both balances: a credit for the client, allocated from this payment.
    assert (extra.total, extra.balance, extra.status, extra.reason, extra.currency) == (
        500, 500, "sent", "overpayment", "USD")
    assert extra.notes == "Over-payment from payment PAY-CASH."
    assert extra.subtotal == 500 and re.fullmatch(r"CR-\d{5}", extra.number)
    logged_credit = models.Activity.get(models.Activity.action == "credit.overpayment")
    assert (logged_credit.subject_type, logged_credit.subject_id, logged_credit.client_id) == (
        "credit", extra.id, a.id)
    line = extra.lines.get()
    assert (line.product, line.description, line.quantity, line.unit_cost, line.amount) == (
        "Over-payment", "Payment PAY-CASH", 1, 500, 500)
    assert [(al.credit_id, al.amount) for al in payment.allocations if al.credit_id] == [
        (extra.id, 500)]
    assert payment.applied == 16500  # the caller saves the payment
    after = models.Client.get_by_id(a.id)
    assert after.paid_to_date - before.paid_to_date == 20000
    assert before.balance - after.balance == 20000
    logged = {(act.action, act.detail) for act in models.Activity.select()}
    assert {("credit.applied", "4000 USD"), ("credit.overpayment", "500 USD")} <= logged


def test_spend_credit_leaves_a_partial_credit_and_stops_at_the_budget(world, conn):
    a, sent = world["a"], world["invoices"]["sent"]
    models.Credit.create(client=a, number="CR-3", status="sent", currency="USD",
                         date=models.utcnow().date(), total=5000, balance=5000)
    with models.db.atomic():
        invoice = allocation.locked(models.Invoice, sent.id)
        payment, spent = allocation.spend_credit(a.id, "USD", None, [(invoice, 10000)], 3000)
    assert spent == {sent.id: 3000}
    assert (payment.amount, payment.method_label, payment.idempotency_key) == (
        3000, "Credit CR-3", None)
    credit = models.Credit.get(models.Credit.number == "CR-3")
    assert (credit.balance, credit.status) == (2000, "partial")
    assert (reload(sent).balance, reload(sent).status) == (7000, "partial")
    with models.db.atomic():
        invoice = allocation.locked(models.Invoice, sent.id)
        payment, _ = allocation.spend_credit(a.id, "USD", "k9", [(invoice, 1000)], 1000)
    assert (payment.amount, payment.idempotency_key) == (1000, "k9")
    # Nothing to spend on (a paid invoice): no payment is left behind.
    with models.db.atomic():
        paid = allocation.locked(models.Invoice, world["invoices"]["paid"].id)
        assert allocation.spend_credit(a.id, "USD", "k", [(paid, 5000)], 5000) == (None, {})
    assert models.Payment.select().where(models.Payment.method == "credit").count() == 2


def test_spend_credit_gives_each_invoice_what_it_wants_from_the_credits_in_turn(world, conn):
    a, b = world["a"], world["b"]
    first, second = factories.invoice(a), factories.invoice(a, partial=3000)
    for number, balance in (("CR-1", 1500), ("CR-2", 2500)):
        models.Credit.create(client=a, number=number, status="sent", currency="USD",
                             date=models.utcnow().date(), total=balance, balance=balance)
    before_a, before_b = models.Client.get_by_id(a.id), models.Client.get_by_id(b.id)
    contact = models.Contact.get(models.Contact.email == "a1@alpha.example")
    staff = factories.staff()
    with models.db.atomic():
        lines = [(allocation.locked(models.Invoice, first.id), 2000),
                 (allocation.locked(models.Invoice, second.id), 3000)]
        payment, spent = allocation.spend_credit(a.id, "USD", "k" * 200, lines, 3000,
                                                 contact=contact, staff=staff)
    # The first invoice takes CR-1 whole and the rest of what it wants from CR-2; the second
    # finds CR-1 empty, goes on to CR-2 and gets what is left of the budget.
    assert spent == {first.id: 2000, second.id: 1000}
    assert sorted((al.credit.number, al.invoice_id, al.amount) for al in payment.allocations) == [
        ("CR-1", first.id, 1500), ("CR-2", first.id, 500), ("CR-2", second.id, 1000)]
    assert (payment.amount, payment.applied, payment.method_label) == (
        3000, 3000, "Credit CR-1, CR-2")
    assert payment.idempotency_key == "k" * 100
    logged = models.Activity.get(models.Activity.action == "credit.applied")
    assert (logged.subject_type, logged.subject_id, logged.client_id, logged.contact_id,
            logged.staff_id, logged.detail) == (
        "payment", payment.id, a.id, contact.id, staff.id, "3000 USD")
    assert [(c.balance, c.status) for c in models.Credit.select().where(
        models.Credit.number.in_(("CR-1", "CR-2"))).order_by(models.Credit.number)] == [
        (0, "applied"), (1000, "partial")]
    first, second = reload(first), reload(second)
    assert (first.balance, first.partial, first.status) == (8000, 0, "partial")
    assert (second.balance, second.partial, second.status) == (9000, 2000, "partial")
    after_a, after_b = models.Client.get_by_id(a.id), models.Client.get_by_id(b.id)
    assert (before_a.balance - after_a.balance, after_a.paid_to_date - before_a.paid_to_date) == (
        3000, 3000)
    assert (after_b.balance, after_b.paid_to_date) == (before_b.balance, before_b.paid_to_date)
    # The smallest amount there is, one cent, is still spent.
    with models.db.atomic():
        invoice = allocation.locked(models.Invoice, first.id)
        payment, spent = allocation.spend_credit(a.id, "USD", None, [(invoice, 1)], 1)
    assert (payment.amount, spent) == (1, {first.id: 1})


def test_credit_that_pays_a_subscription_invoice_reactivates_the_subscription(world, conn):
    a = world["a"]
    subscription = models.Subscription.create(
        client=a, plan=factories.plan("Basic", 10000), started_at=models.utcnow().date(),
        status="past_due")
    invoice = factories.invoice(a)
    models.Invoice.update(subscription=subscription).where(
        models.Invoice.id == invoice.id).execute()
    models.Credit.create(client=a, number="CR-1", status="sent", currency="USD",
                         date=models.utcnow().date(), total=20000, balance=20000)

    def spend(amount):
        with models.db.atomic():
            locked = allocation.locked(models.Invoice, invoice.id)
            allocation.spend_credit(a.id, "USD", None, [(locked, amount)], amount)
        return reload(invoice).status, models.Subscription.get_by_id(subscription.id).status

    # Part of the invoice is still owed: the subscription stays held.
    assert spend(4000) == ("partial", "past_due")
    assert spend(6000) == ("paid", "active")
    assert models.Activity.select().where(
        models.Activity.action == "subscription.reactivated").count() == 1


def test_a_credit_payment_label_names_its_credits_within_80_characters(world, conn):
    a, sent = world["a"], world["invoices"]["sent"]
    numbers = [f"CR-{n:05d}" for n in range(1, 11)]
    for number in numbers:
        models.Credit.create(client=a, number=number, status="sent", currency="USD",
                             date=models.utcnow().date(), total=100, balance=100)
    with models.db.atomic():
        invoice = allocation.locked(models.Invoice, sent.id)
        payment, _ = allocation.spend_credit(a.id, "USD", None, [(invoice, 1000)], 1000)
    assert payment.amount == 1000
    assert payment.method_label == "Credit " + ", ".join(numbers)[:80]


def test_apply_plan_pays_in_cash_only_what_the_credit_left_of_each_line(world, conn):
    a = world["a"]
    first, second = factories.invoice(a), factories.invoice(a)
    models.Credit.create(client=a, number="CR-1", status="sent", currency="USD",
                         date=models.utcnow().date(), total=9000, balance=9000)
    staff = factories.staff()
    with models.db.atomic():
        payment = models.Payment.create(client=a, number="PAY-CASH", date=models.utcnow().date(),
                                        currency="USD", amount=8000)
        spent, extra = allocation.apply_plan(
            payment, {"lines": [[first.id, 5000], [second.id, 5000]], "credit": 2000},
            staff=staff)
    # 2000 of credit on the first line, so cash pays 3000 there and 5000 on the second.
    assert sorted((al.invoice_id, al.amount) for al in payment.allocations) == sorted(
        [(first.id, 3000), (second.id, 5000)])
    assert (reload(first).balance, reload(second).balance, spent.amount, extra) == (
        5000, 5000, 2000, None)
    logged = models.Activity.get(models.Activity.action == "credit.applied")
    assert (logged.subject_id, logged.staff_id) == (spent.id, staff.id)
    # A plan naming no credit spends none, though the client has some.
    with models.db.atomic():
        payment = models.Payment.create(client=a, number="PAY-TWO", date=models.utcnow().date(),
                                        currency="USD", amount=1000)
        assert allocation.apply_plan(payment, {"lines": [[first.id, 1000]]}) == (None, None)
    assert models.Credit.get(models.Credit.number == "CR-1").balance == 7000
    assert reload(first).balance == 4000


def test_apply_plan_skips_unpayable_invoices_and_never_applies_more_than_arrived(world, conn):
    a, invoices = world["a"], world["invoices"]
    first, second = factories.invoice(a), factories.invoice(a)

    def apply(amount, lines):
        with models.db.atomic():
            payment = models.Payment.create(client=a, number="PAY-X", currency="USD",
                                            date=models.utcnow().date(), amount=amount)
            _, extra = allocation.apply_plan(payment, {"lines": lines, "credit": 0})
        paid = sorted((al.invoice_id, al.amount) for al in payment.allocations if al.invoice_id)
        return paid, extra and extra.total

    # Cancelled and paid invoices take nothing: their share becomes credit; one cent is paid.
    lines = [[invoices["cancelled"].id, 3000], [invoices["paid"].id, 2000], [first.id, 1]]
    assert apply(5001, lines) == ([(first.id, 1)], 5000)
    assert reload(invoices["cancelled"]).balance == 10000
    # Less money than the lines want (credit gone meanwhile): the later line gets the rest.
    assert apply(3000, [[first.id, 2000], [second.id, 2000]]) == (
        sorted([(first.id, 2000), (second.id, 1000)]), None)
    # One cent beyond the balances is still kept as credit.
    assert apply(1001, [[second.id, 1000]]) == ([(second.id, 1000)], 1)


def test_plan_reads_an_amount_in_the_language_a_visitor_picked(app, world, conn):
    sent = world["invoices"]["sent"]
    with app.test_request_context("/?lang=de"):
        made = allocation.plan(world["a"].id, [(sent.public_id, "100,00")],
                               models.Company.current())
    assert made.total == 10000
