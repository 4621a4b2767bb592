"""Apply Payment (issue 11, part 3): unapplied money applied to a client's invoices through
one service, from the back office and the API; and applied automatically on issue."""
import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import models
from billing import DomainError, FieldErrors, applying, invoices
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import login_staff, opened, snapshot
from tests.payments_support import reload

_numbers = itertools.count(1)


def unapplied_payment(client, amount=10000, currency=None, status="completed", **kw):
    """What the Pre-Payment tab leaves: money received, matched to no invoice."""
    return models.Payment.create(
        client=client, number=f"PRE-{next(_numbers)}", status=status,
        date=kw.pop("date", models.utcnow().date()), currency=currency or client.currency,
        amount=amount, method="card", method_label="Visa •••• 4242", is_prepayment=True, **kw)


def invoice_for(client, total, status="sent", **kw):
    return factories.invoice(client, status=status,
                             lines=[{"product": "Work", "quantity": 1, "unit_cost": total}], **kw)


def allocated(invoice):
    A = models.PaymentAllocation
    return sum(a.amount for a in A.select().where(A.invoice == invoice.id))


# -- the service ---------------------------------------------------------------------------

def test_partial_full_and_several_invoices_keep_the_rest_unapplied(db):
    client = factories.client()
    one, two = invoice_for(client, 4000), invoice_for(client, 3000)
    payment = unapplied_payment(client, 10000)
    done = applying.apply_payment(payment, [(one.public_id, "40.00"), (two.public_id, "12.50")],
                                  staff=None, locale="en_US")
    assert done.total == 5250 and [amount for _, amount in done.lines] == [4000, 1250]
    payment = reload(payment)
    assert (payment.applied, payment.unapplied) == (5250, 4750)
    assert reload(one).status == "paid" and reload(one).balance == 0
    assert reload(two).status == "partial" and reload(two).balance == 1750
    assert reload(client).paid_to_date == 5250 and reload(client).balance == 1750
    assert models.Activity.get(models.Activity.action == "payment.applied").subject_id \
        == payment.id
    # The rest, later, by row id: applying twice adds up.
    applying.apply_payment(payment, [(two.id, 1750)])
    assert reload(payment).unapplied == 4750 - 1750 and reload(two).status == "paid"


def test_blank_rows_are_skipped_but_all_blank_is_refused(db):
    client = factories.client()
    one, two = invoice_for(client, 4000), invoice_for(client, 3000)
    payment = unapplied_payment(client, 10000)
    applying.apply_payment(payment, [(one.public_id, ""), (two.public_id, "30")],
                           locale="en_US")
    assert reload(one).balance == 4000 and reload(two).balance == 0
    with pytest.raises(DomainError, match="at least one invoice"):
        applying.apply_payment(payment, [(one.public_id, " ")], locale="en_US")



def test_an_amount_too_long_to_be_an_amount_is_refused_not_cut(db):
    """What is typed is read whole and refused by money.parse's own length limit; it is never
    cut to its first characters first (which could read zeros, then 1.00, as 1.00)."""
    client = factories.client()
    invoice = invoice_for(client, 5000)
    payment = unapplied_payment(client, 6000)
    before = snapshot()
    typed = "0" * 46 + "1.00" + "5"  # its first 50 characters read 1.00
    with pytest.raises(DomainError, match="too large|as a number"):
        applying.apply_payment(payment, [(invoice.public_id, typed)], locale="en_US")
    assert snapshot() == before

def _refusal_world():
    people = factories.two_clients()
    a, b = people["a"], people["b"]
    open_ = invoice_for(a, 5000)
    return {
        "payment": unapplied_payment(a, 6000),
        "open": open_,
        "other_client": invoice_for(b, 5000),
        "cancelled": invoice_for(a, 5000, status="cancelled"),
        "void": invoice_for(a, 5000, status="void"),
        "draft": invoice_for(a, 5000, status="draft"),
        "paid": invoice_for(a, 5000, status="paid"),
        "euro": invoice_for(a, 5000, currency="EUR"),
        "a": a,
    }


REFUSALS = [  # (invoice, amount typed, message)
    ("other_client", "10.00", "could not be found"),
    ("cancelled", "10.00", "cancelled"),
    ("void", "10.00", "void"),
    ("draft", "10.00", "draft"),
    ("paid", "10.00", "already paid"),
    ("euro", "10.00", "in EUR"),
    ("open", "ten", "as a number"),
    ("open", "0", "above zero"),
    ("open", "-1", "negative"),
    ("open", "50.01", "left to pay"),
    ("open", "1.234", "decimal places"),
]


def test_more_than_unapplied_and_not_completed_payments_are_refused(db):
    world = _refusal_world()
    second = invoice_for(world["a"], 5000)
    before = snapshot()
    with pytest.raises(DomainError, match="more than") as refused:
        applying.apply_payment(world["payment"], [(world["open"].public_id, "50.00"),
                                                  (second.public_id, "10.01")], locale="en_US")
    assert refused.value.field == "invoices"
    for status in ("pending", "failed", "refunded"):
        pending = unapplied_payment(world["a"], 1000, status=status)
        before = snapshot()
        with pytest.raises(DomainError, match="only a completed payment") as refused:
            applying.apply_payment(pending, [(world["open"].public_id, "1.00")], locale="en_US")
        assert refused.value.field == "payment" and snapshot() == before
    with pytest.raises(DomainError, match="twice"):
        applying.apply_payment(world["payment"], [(world["open"].public_id, "1"),
                                                  (world["open"].public_id, "1")],
                               locale="en_US")


def test_a_partly_refunded_payment_applies_only_what_is_left(db):
    client = factories.client()
    invoice = invoice_for(client, 9000)
    payment = unapplied_payment(client, 5000, status="partially_refunded", refunded=2000)
    with pytest.raises(DomainError, match="more than"):
        applying.apply_payment(payment, [(invoice.public_id, "30.01")], locale="en_US")
    applying.apply_payment(payment, [(invoice.public_id, "30.00")], locale="en_US")
    assert reload(payment).unapplied == 0


def test_two_staff_applying_one_payment_at_once_never_apply_more_than_it_holds(app):
    from tests.core_support import race
    with opened(app):
        client = factories.client()
        targets = [invoice_for(client, 5000) for _ in range(2)]
        payment = unapplied_payment(client, 6000)
    results = race(app, 2, lambda i: applying.apply_payment(
        payment, [(targets[i].public_id, "40.00")], locale="en_US"))
    assert sorted(type(r).__name__ for r in results) == ["Applied", "DomainError"], results
    with opened(app):
        assert reload(payment).unapplied == 2000
        check_books(client)


# -- money is never created or lost --------------------------------------------------------

def check_books(client):
    client = reload(client)
    A = models.PaymentAllocation
    invoice_allocs = list(A.select().join(models.Payment).where(
        (models.Payment.client == client.id) & A.invoice.is_null(False)))
    assert client.paid_to_date == sum(a.amount for a in invoice_allocs)
    sent = 0
    for inv in models.Invoice.select().where(models.Invoice.client == client.id):
        assert 0 <= inv.balance <= inv.total
        assert inv.total == inv.balance + allocated(inv)
        assert inv.status == ("paid" if inv.balance == 0 else
                              "partial" if inv.balance < inv.total else "sent")
        sent += inv.balance
    assert client.balance == sent
    for payment in models.Payment.select().where(models.Payment.client == client.id):
        to_invoices = sum(a.amount for a in payment.allocations)
        assert payment.applied == to_invoices
        # Every minor unit of a payment is applied, unapplied or refunded.
        assert payment.amount == payment.applied + payment.unapplied + payment.refunded
        assert payment.unapplied >= 0


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(totals=st.lists(st.integers(1, 500_00), min_size=1, max_size=4),
       amounts=st.lists(st.integers(1, 800_00), min_size=1, max_size=3), data=st.data())
def test_applying_never_creates_or_loses_money(db, totals, amounts, data):
    client = factories.client()
    invoices_ = [invoice_for(client, t) for t in totals]
    payments_ = [unapplied_payment(client, a) for a in amounts]
    for _ in range(data.draw(st.integers(1, 6))):
        payment = reload(data.draw(st.sampled_from(payments_)))
        chosen = data.draw(st.lists(st.sampled_from(invoices_), min_size=1, max_size=3,
                                    unique_by=lambda inv: inv.id))
        rows = [(inv.public_id, f"{data.draw(st.integers(-100, 600_00)) / 100:.2f}")
                for inv in chosen]
        before = snapshot()
        try:
            done = applying.apply_payment(payment, rows, locale="en_US")
        except DomainError:
            assert snapshot() == before
        else:
            assert reload(payment).applied == payment.applied + done.total
        check_books(client)


# -- automatic application on issue --------------------------------------------------------

def test_auto_apply_takes_unapplied_payments_oldest_first_when_turned_on(db):
    client = factories.client()
    older = unapplied_payment(client, 3000, date=dt.date(2026, 1, 1))
    newer = unapplied_payment(client, 5000, date=dt.date(2026, 2, 1))
    euros = unapplied_payment(client, 9000, currency="EUR")
    first = invoice_for(client, 4000)
    assert reload(first).balance == 4000  # off by default
    factories.company(auto_apply_prepayments=True)
    second = invoice_for(client, 4000)
    assert reload(second).status == "paid"
    assert (reload(older).unapplied, reload(newer).unapplied) == (0, 4000)
    assert reload(euros).unapplied == 9000
    draft = invoice_for(client, 6000, status="draft")
    assert reload(draft).balance == 6000 and reload(newer).unapplied == 4000
    sent = invoices.mark_sent(draft)
    assert sent.balance == 2000 and sent.status == "partial" and reload(newer).unapplied == 0
    check_books(client)


def test_auto_apply_on_a_recurring_invoice_run_due_issues(app, db):
    from billing import recurring
    factories.company(auto_apply_prepayments=True)
    client = factories.client()
    payment = unapplied_payment(client, 2500)
    template = models.RecurringInvoice.create(
        client=client, number="REC-1", status="active", currency="USD",
        start_date=dt.date(2026, 1, 1), next_send_date=dt.date(2026, 1, 1), total=10000)
    models.LineItem.create(recurring=template, product="Hosting", quantity=1,
                           unit_cost=10000, amount=10000)
    made = recurring.generate_due({}, today=dt.date(2026, 1, 1))
    assert len(made) == 1
    assert reload(made[0]).balance == 7500 and reload(payment).unapplied == 0
    check_books(client)


def test_the_setting_is_saved_from_the_back_office(staff_http, conn):
    def save(**fields):
        data = {"csrf_token": csrf_token(staff_http, "/admin/settings"),
                "minimum_prepayment": "", "minimum_partial_payment": "", **fields}
        return staff_http.post("/admin/settings/payments", data=data)
    page = staff_http.get("/admin/settings").get_data(as_text=True)
    assert 'name="auto_apply_prepayments"' in page
    assert save(auto_apply_prepayments="1").status_code in (200, 303)
    assert models.Company.current().auto_apply_prepayments is True
    assert save().status_code in (200, 303)
    assert models.Company.current().auto_apply_prepayments is False


def test_mark_paid_does_not_spend_unapplied_money(db):
    factories.company(auto_apply_prepayments=True)
    client = factories.client()
    payment = unapplied_payment(client, 2500)
    draft = invoice_for(client, 6000, status="draft")
    invoices.mark_paid(draft)
    assert reload(draft).status == "paid" and reload(payment).unapplied == 2500


# -- the API -------------------------------------------------------------------------------

@pytest.fixture
def books(app):
    with opened(app):
        world = _refusal_world()
        world["second"] = invoice_for(world["a"], 5000)
    return world


def bulk(api, payment, rows, **extra):
    return api.post("payments/bulk", json={"action": "apply", "ids": [payment.public_id],
                                           "invoices": rows, **extra})


def test_api_applies_and_answers_the_payment(api, books, conn):
    payment, one, two = books["payment"], books["open"], books["second"]
    answer = bulk(api, payment, [{"invoice_id": one.public_id, "amount": "50.00"},
                                 {"invoice_id": two.public_id, "amount": "5.50"}])
    assert answer.status_code == 200, answer.json
    data = answer.json["data"][0]
    assert (data["applied"], data["unapplied"]) == ("55.50", "4.50")
    assert {row["invoice_id"]: row["amount"] for row in data["invoices"]} == {
        one.public_id: "50.00", two.public_id: "5.50"}
    assert reload(one).status == "paid" and reload(two).balance == 4450
    shown = api.get(f"payments/{payment.public_id}").json["data"]
    assert shown["unapplied"] == "4.50"


@pytest.mark.parametrize("which, typed, message", [
    (w, t, m) for w, t, m in REFUSALS if t in ("10.00", "50.01")])
def test_api_refuses_each_bad_invoice_with_422(api, books, conn, which, typed, message):
    before = snapshot()
    answer = bulk(api, books["payment"], [{"invoice_id": books["second"].public_id,
                                           "amount": "1.00"},
                                          {"invoice_id": books[which].public_id,
                                           "amount": typed}])
    assert answer.status_code == 422
    assert message in answer.json["errors"]["invoices[1].amount"][0]
    assert answer.json["message"]
    assert snapshot() == before


@pytest.mark.parametrize("rows, extra, field", [
    ("over", {}, "invoices"),
    ("zero", {}, "invoices[0].amount"),
    ("float", {}, "invoices[0].amount"),
    ("missing", {}, "invoices"),
    ("unknown", {}, "invoices[0].amount"),
    ("one", {"ids": "two"}, "ids"),
])
def test_api_refuses_bad_bodies_with_422(api, books, conn, rows, extra, field):
    one, two = books["open"].public_id, books["second"].public_id
    body = {"over": [{"invoice_id": one, "amount": "50.00"},
                     {"invoice_id": two, "amount": "10.01"}],
            "zero": [{"invoice_id": one, "amount": "0.00"}],
            "float": [{"invoice_id": one, "amount": 12.5}],
            "missing": None,
            "unknown": [{"invoice_id": "nosuchinvoice", "amount": "1.00"}],
            "one": [{"invoice_id": one, "amount": "1.00"}]}[rows]
    payload = {"action": "apply", "ids": [books["payment"].public_id]}
    if body is not None:
        payload["invoices"] = body
    if extra.get("ids") == "two":
        other = unapplied_payment(reload(books["a"]), 100)
        payload["ids"] = [books["payment"].public_id, other.public_id]
    before = snapshot()
    answer = api.post("payments/bulk", json=payload)
    assert answer.status_code == 422, answer.json
    assert set(answer.json) == {"message", "errors"}
    assert any(key.startswith(field) for key in answer.json["errors"]), answer.json
    assert snapshot() == before


def test_api_refuses_a_payment_not_completed(api, books, conn):
    pending = unapplied_payment(reload(books["a"]), 1000, status="pending")
    before = snapshot()
    answer = bulk(api, pending, [{"invoice_id": books["open"].public_id, "amount": "1.00"}])
    assert answer.status_code == 422 and "completed" in answer.json["errors"]["ids"][0]
    assert snapshot() == before


def test_openapi_documents_the_apply_action(client):
    spec = client.get("/api/v1/openapi.json").json
    schema = spec["components"]["schemas"]["PaymentsBulk"]
    assert schema["properties"]["action"]["enum"] == ["apply"]
    row = schema["properties"]["invoices"]["items"]
    assert row["required"] == ["invoice_id", "amount"] and row["additionalProperties"] is False
    assert "unapplied" in spec["components"]["schemas"]["Payments"]["required"]


# -- the back office -----------------------------------------------------------------------

@pytest.fixture
def staff_http(client, books, conn):
    factories.staff(email="boss@test.example")
    login_staff(client, "boss@test.example")
    return client


def page_of(payment):
    return f"/admin/payments/{payment.id}"


def post_apply(http, payment, amounts):
    data = {"csrf_token": csrf_token(http, page_of(payment)),
            "invoice": list(amounts)}
    data.update({f"amount_{key}": value for key, value in amounts.items()})
    return http.post(f"{page_of(payment)}/apply", data=data)


def test_back_office_page_lists_open_invoices_in_the_currency_and_the_unapplied_amount(
        staff_http, books):
    html = staff_http.get(page_of(books["payment"])).get_data(as_text=True)
    assert "Unapplied" in html and "$60.00" in html
    for key in ("open", "second"):
        assert f'name="amount_{books[key].public_id}"' in html
    for key in ("other_client", "cancelled", "void", "draft", "paid", "euro"):
        assert books[key].number not in html
    assert html.count("<h1") == 1 and 'name="csrf_token"' in html
    listing = staff_http.get("/admin/payments").get_data(as_text=True)
    assert "Unapplied" in listing and "$60.00" in listing


def test_back_office_apply_redirects_with_a_flash_and_keeps_the_rest_visible(staff_http, books):
    payment, one = books["payment"], books["open"]
    answer = post_apply(staff_http, payment, {one.public_id: "20.00",
                                              books["second"].public_id: ""})
    assert answer.status_code == 303 and answer.location.endswith(page_of(payment))
    html = staff_http.get(page_of(payment)).get_data(as_text=True)
    assert "Applied $20.00 of payment" in html and "$40.00 is still unapplied" in html
    assert '<dd id="unapplied"><strong>$40.00' in html
    assert reload(one).balance == 3000 and reload(payment).unapplied == 4000


@pytest.mark.parametrize("which, typed, message", [
    ("open", "abc", "as a number"), ("open", "50.01", "left to pay"),
    ("open", "-2", "negative"), ("open", "0", "above zero"),
    ("other_client", "1.00", "could not be found"), ("cancelled", "1.00", "cancelled")])
def test_back_office_refusals_are_422_next_to_the_row(staff_http, books, which, typed, message):
    invoice = books[which]
    before = snapshot()
    answer = post_apply(staff_http, books["payment"], {invoice.public_id: typed})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and message in html
    if which == "open":
        assert f'aria-describedby="amount_{invoice.public_id}-error"' in html
        assert f'value="{typed}"' in html
    assert snapshot() == before


def test_back_office_refuses_more_than_unapplied(staff_http, books):
    before = snapshot()
    answer = post_apply(staff_http, books["payment"], {books["open"].public_id: "50.00",
                                                       books["second"].public_id: "10.01"})
    assert answer.status_code == 422 and "more than" in answer.get_data(as_text=True)
    assert snapshot() == before


def test_portal_shows_what_is_unapplied(client, auth, books):
    a = reload(books["a"])
    contact = factories.contact(a)
    auth.login(contact.email)
    listing = client.get("/client/payments").get_data(as_text=True)
    assert "Unapplied: $60.00" in listing
    page = client.get(f"/client/payments/{books['payment'].public_id}").get_data(as_text=True)
    assert "Unapplied" in page and "$60.00" in page


# -- the exact words of each refusal, and what a refusal names --------------------------------

EXACT_REFUSALS = [  # (invoice, amount typed, message; {n} is the invoice's number)
    ("other_client", "10.00", "That invoice could not be found."),
    ("cancelled", "10.00", "Invoice {n} is cancelled: it cannot take a payment."),
    ("void", "10.00", "Invoice {n} is void: it cannot take a payment."),
    ("draft", "10.00", "Invoice {n} is a draft: send it before applying a payment to it."),
    ("paid", "10.00", "Invoice {n} is already paid."),
    ("euro", "10.00", "Invoice {n} is in EUR; this payment is in USD."),
    ("open", "ten", "Invoice {n}: Enter the amount as a number, for example 1,250.00."),
    ("open", "0", "Invoice {n}: the amount must be above zero."),
    ("open", "0.00", "Invoice {n}: the amount must be above zero."),
    ("open", "50.01", "Invoice {n} has $50.00 left to pay; apply no more than that."),
    ("open", "-1", "Invoice {n}: The amount cannot be negative."),
    ("open", "1.234", "Invoice {n}: USD amounts have at most 2 decimal places."),
]


@pytest.mark.parametrize("which, typed, message", EXACT_REFUSALS)
def test_each_refusal_says_exactly_what_is_wrong_by_its_row_and_changes_nothing(
        db, which, typed, message):
    world = _refusal_world()
    invoice = world[which]
    before = snapshot()
    with pytest.raises(FieldErrors) as refused:
        applying.apply_payment(world["payment"], [(invoice.public_id, typed)], locale="en_US")
    assert refused.value.errors == {f"amount_{invoice.public_id}": message.format(
        n=invoice.number)}
    assert snapshot() == before


def test_a_cent_is_applied_and_a_whole_balance_is_not_too_much(db):
    client = factories.client()
    one, two = invoice_for(client, 5000), invoice_for(client, 5000)
    payment = unapplied_payment(client, 10000)
    done = applying.apply_payment(payment, [(one.public_id, "0.01"), (two.id, 5000)],
                                  locale="en_US")
    assert [amount for _, amount in done.lines] == [1, 5000]
    assert (reload(one).balance, reload(two).balance) == (4999, 0)


def test_a_held_invoice_says_how_much_is_held_and_what_is_left(db):
    client = factories.client()
    invoice = invoice_for(client, 5000)
    models.Payment.create(client=client, status="pending", date=models.utcnow().date(),
                          currency="USD", amount=3000, plan=f'{{"lines": [[{invoice.id}, 3000]]}}')
    payment = unapplied_payment(client, 6000)
    with pytest.raises(FieldErrors) as refused:
        applying.apply_payment(payment, [(invoice.public_id, "20.01")], locale="en_US")
    assert refused.value.errors == {f"amount_{invoice.public_id}": (
        f"Invoice {invoice.number} has $20.00 left to pay ($30.00 of it is held by a payment "
        "being processed); apply no more than that.")}
    applying.apply_payment(payment, [(invoice.public_id, "20.00")], locale="en_US")
    assert reload(invoice).balance == 3000
    with pytest.raises(FieldErrors) as refused:  # nothing left beside what is held
        applying.apply_payment(payment, [(invoice.public_id, "0.01")], locale="en_US")
    assert "has $0.00 left to pay ($30.00 of it" in refused.value.errors[
        f"amount_{invoice.public_id}"]


def test_every_bad_row_is_named_at_once(db):
    world = _refusal_world()
    rows = [(world["draft"].public_id, "1"), (world["open"].public_id, "5"),
            (world["void"].public_id, "1")]
    before = snapshot()
    with pytest.raises(FieldErrors) as refused:
        applying.apply_payment(world["payment"], rows, locale="en_US")
    assert list(refused.value.errors) == [f"amount_{world['draft'].public_id}",
                                          f"amount_{world['void'].public_id}"]
    assert snapshot() == before


def test_whole_request_refusals_name_the_invoices_field_with_exact_words(db):
    world = _refusal_world()
    payment, open_ = world["payment"], world["open"]
    second = invoice_for(world["a"], 5000)
    cases = [
        ([(open_.public_id, "1"), (open_.public_id, "1")], "An invoice was listed twice."),
        ([(open_.public_id, " "), (second.public_id, None)],
         "Enter an amount to apply to at least one invoice."),
        ([(open_.public_id, "50.00"), (second.public_id, "10.01")],
         f"The amounts add up to $60.01, more than the $60.00 of payment {payment.number} "
         "that is not yet applied."),
        ([(f"inv{i}", "") for i in range(applying.MAX_APPLICATIONS + 1)],
         "Apply to at most 200 invoices at once."),
    ]
    for rows, message in cases:
        before = snapshot()
        with pytest.raises(DomainError) as refused:
            applying.apply_payment(payment, rows, locale="en_US")
        assert (refused.value.message, refused.value.field) == (message, "invoices")
        assert snapshot() == before
    # Exactly the most it takes is not too many (all blank here, so nothing to apply).
    with pytest.raises(DomainError, match="at least one invoice"):
        applying.apply_payment(payment, [(f"inv{i}", "")
                                         for i in range(applying.MAX_APPLICATIONS)])


def test_a_payment_that_is_not_money_received_is_refused_with_its_status(db):
    client = factories.client()
    invoice = invoice_for(client, 5000)
    credit = unapplied_payment(client, 1000, status="partially_refunded")
    models.Payment.update(method="credit").where(models.Payment.id == credit.id).execute()
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        applying.apply_payment(credit, [(invoice.public_id, "1.00")], locale="en_US")
    assert (refused.value.message, refused.value.field) == (
        f"Payment {credit.number} is partially refunded: only a completed payment can be "
        "applied to invoices.", "payment")
    assert snapshot() == before


def test_applying_logs_each_invoice_and_amount_for_who_did_it(db):
    client = factories.client()
    one, two = invoice_for(client, 4000), invoice_for(client, 3000)
    staff = factories.staff(email="applier@test.example")
    payment = unapplied_payment(client, 10000)
    applying.apply_payment(payment, [(one.public_id, "40.00"), (two.public_id, "12.50")],
                           staff=staff, locale="en_US")
    entry = models.Activity.get(models.Activity.action == "payment.applied")
    assert (entry.subject_id, entry.client_id, entry.staff_id) == (payment.id, client.id,
                                                                   staff.id)
    assert entry.detail == f"{one.number} 4000 USD, {two.number} 1250 USD"


def test_an_archived_invoice_cannot_be_found_to_apply_to(db):
    client = factories.client()
    invoice = invoice_for(client, 5000)
    models.Invoice.update(archived_at=models.utcnow()).where(
        models.Invoice.id == invoice.id).execute()
    payment = unapplied_payment(client, 5000)
    for key in (invoice.public_id, invoice.id):
        with pytest.raises(FieldErrors) as refused:
            applying.apply_payment(payment, [(key, "10.00")], locale="en_US")
        assert refused.value.errors == {f"amount_{key}": "That invoice could not be found."}


def test_auto_apply_tries_only_this_clients_money_received_in_the_currency_oldest_first(
        db, caplog):
    """Payments that cannot be applied are never tried: none is refused into the log."""
    people = factories.two_clients()
    a, b = people["a"], people["b"]
    newer = unapplied_payment(a, 2000, date=dt.date(2026, 2, 1))
    older = unapplied_payment(a, 2000, date=dt.date(2026, 1, 1))  # created later, dated first
    cent = unapplied_payment(a, 1000, date=dt.date(2026, 3, 1), status="partially_refunded",
                             refunded=999)
    early = dt.date(2025, 1, 1)
    untouched = [
        unapplied_payment(b, 3000, date=early),
        unapplied_payment(a, 3000, date=early, currency="EUR"),
        unapplied_payment(a, 3000, date=early, status="pending"),
        unapplied_payment(a, 5000, date=early, status="partially_refunded", applied=3000,
                          refunded=2000),
        unapplied_payment(a, 3000, date=early),
    ]
    models.Payment.update(method="credit").where(models.Payment.id == untouched[-1].id).execute()
    factories.company(auto_apply_prepayments=True)
    caplog.set_level("WARNING", logger="portal.billing")
    invoice = invoice_for(a, 10000)
    A = models.PaymentAllocation
    applied = [(row.payment_id, row.amount) for row in
               A.select().where(A.invoice == invoice.id).order_by(A.id)]
    assert applied == [(older.id, 2000), (newer.id, 2000), (cent.id, 1)]
    assert (reload(invoice).balance, reload(invoice).status) == (5999, "partial")
    assert [reload(p).unapplied for p in untouched] == [3000, 3000, 3000, 0, 3000]
    assert [r.getMessage() for r in caplog.records if "not applied" in r.getMessage()] == []


def test_auto_apply_stops_when_the_invoice_is_paid_and_applies_a_last_cent(db, caplog):
    client = factories.client()
    first = unapplied_payment(client, 4000, date=dt.date(2026, 1, 1))
    second = unapplied_payment(client, 5000, date=dt.date(2026, 2, 1))
    third = unapplied_payment(client, 5000, date=dt.date(2026, 3, 1))
    factories.company(auto_apply_prepayments=True)
    caplog.set_level("WARNING", logger="portal.billing")
    one_cent_more = invoice_for(client, 4001)
    assert reload(one_cent_more).status == "paid"
    assert (reload(first).unapplied, reload(second).unapplied) == (0, 4999)
    exact = invoice_for(client, 4999)  # the second pays it all; the third is not asked
    assert reload(exact).status == "paid"
    assert (reload(second).unapplied, reload(third).unapplied) == (0, 5000)
    assert [r.getMessage() for r in caplog.records if "not applied" in r.getMessage()] == []


def test_amounts_are_read_in_the_locale_they_were_typed_in(db):
    client = factories.client()
    invoice = invoice_for(client, 500000)
    payment = unapplied_payment(client, 500000)
    done = applying.apply_payment(payment, [(invoice.public_id, "1.234,50")], locale="de_DE")
    assert done.total == 123450 and reload(invoice).balance == 500000 - 123450
