"""Payment reminders and the late fee: settings refused or saved through the back office,
and `run-due` sending each reminder once through a real SMTP server (aiosmtpd)."""
import datetime as dt
import json

import pytest

import models
from billing import reminders, scheduler
from tests import factories
from tests.conftest import csrf_token, make_app
from tests.core_support import login_staff, opened, race, snapshot
from tests.mail_support import text_of

TODAY = models.utcnow().date()  # the test company's time zone is UTC


def days(n):
    return TODAY + dt.timedelta(days=n)


def invoice_due(client, due_in, status="sent"):
    return factories.invoice(client, status=status, date=days(min(due_in, 0) - 40),
                             due_date=days(due_in))


def set_rules(rules=(("-3", True), ("1", True), ("", False)), kind="", value=""):
    return reminders.save(models.Company.current(), rule_inputs=list(rules), fee_kind=kind,
                          fee_value=value)


@pytest.fixture
def due_world(tmp_path, smtp):
    url, inbox = smtp
    app = make_app(tmp_path, SMTP_URL=url)
    with opened(app):
        client = factories.client(name="Late Co")
        factories.contact(client, email="late@late.example")
        factories.contact(client, email="off@late.example", is_active=False)
        w = {"client": client,
             "soon": invoice_due(client, 3),          # reminder 1 (-3 days) is due today
             "later": invoice_due(client, 10),        # nothing yet
             "overdue": invoice_due(client, -1),      # reminder 2 (+1 day) and the fee
             "partial": invoice_due(client, -5, "partial"),
             "paid": invoice_due(client, -5, "paid"),
             "cancelled": invoice_due(client, -5, "cancelled"),
             "void": invoice_due(client, -5, "void"),
             "draft": invoice_due(client, -5, "draft")}
    return app, inbox, w


def tick(app):
    with opened(app):
        return scheduler.run_due(app)


def subjects(inbox):
    return sorted(m["Subject"] for _, m in inbox.messages)


def test_reminders_before_and_after_the_due_date_are_sent_once_over_two_ticks(due_world):
    app, inbox, w = due_world
    with opened(app):
        set_rules()
    first = tick(app)
    assert "reminders: 3 sent, 0 late fees added" in first
    second = tick(app)
    assert "reminders: 0 sent, 0 late fees added" in second
    numbers = {k: w[k].number for k in w if k != "client"}
    assert subjects(inbox) == sorted([
        f"Reminder: invoice {numbers['soon']} from Test Studio",
        f"Overdue: invoice {numbers['overdue']} from Test Studio",
        f"Overdue: invoice {numbers['partial']} from Test Studio"])
    # Only the contact who may sign in; a link that opens the invoice.
    assert {r for rcpts, _ in inbox.messages for r in rcpts} == {"late@late.example"}
    soon = [m for _, m in inbox.messages if numbers["soon"] in m["Subject"]][0]
    body = text_of(soon)
    assert "is due on" in body and "$100.00" in body
    assert "http://portal.test/client/invoice/" in body
    with opened(app):
        R = models.InvoiceReminder
        steps = {(r.invoice_id, r.step) for r in R.select()}
        assert steps == {(w["soon"].id, "reminder1"), (w["overdue"].id, "reminder2"),
                         (w["overdue"].id, "reminder1"), (w["partial"].id, "reminder2"),
                         (w["partial"].id, "reminder1")}
        # The "3 days before" reminder was passed over for invoices already due, not sent.
        assert not R.get((R.invoice == w["overdue"].id) & (R.step == "reminder1")).sent


def test_a_later_rule_sends_when_its_day_comes(due_world):
    app, inbox, w = due_world
    with opened(app):
        set_rules()
        assert reminders.run_due(dict(app.config))["reminded"] == 3
        # Three days on, the "soon" invoice is due today: no rule is due on day 0, nothing.
        assert reminders.run_due(dict(app.config), today=days(3))["reminded"] == 0
        # A day after its due date, reminder 2 is.
        assert reminders.run_due(dict(app.config), today=days(4))["reminded"] == 1
        assert reminders.run_due(dict(app.config), today=days(4))["reminded"] == 0
    assert len(inbox.messages) == 4


def test_paid_cancelled_void_and_draft_invoices_get_no_reminder_or_fee(due_world):
    app, inbox, w = due_world
    with opened(app):
        set_rules(kind="fixed", value="5.00")
    tick(app)
    tick(app)
    with opened(app):
        quiet = {w[k].id for k in ("paid", "cancelled", "void", "draft", "later")}
        reminded = {r.invoice_id for r in models.InvoiceReminder.select()}
        assert not quiet & reminded
        for key in ("paid", "cancelled", "void", "draft"):
            fresh = models.Invoice.get_by_id(w[key].id)
            assert (fresh.total, fresh.balance) == (w[key].total, w[key].balance)
    assert not any(w[k].number in s for k in ("paid", "cancelled", "void", "draft", "later")
                   for s in subjects(inbox))


def test_the_late_fee_is_added_once_as_a_line(due_world):
    app, inbox, w = due_world
    with opened(app):
        set_rules(kind="fixed", value="5.00")
        client_balance = models.Client.get_by_id(w["client"].id).balance
    assert "reminders: 3 sent, 2 late fees added" in tick(app)
    assert "reminders: 0 sent, 0 late fees added" in tick(app)
    with opened(app):
        overdue = models.Invoice.get_by_id(w["overdue"].id)
        assert overdue.total == w["overdue"].total + 500
        assert overdue.balance == w["overdue"].balance + 500
        fees = [line for line in overdue.ordered_lines() if line.product == "Late fee"]
        assert [f.amount for f in fees] == [500]
        assert models.Client.get_by_id(w["client"].id).balance == client_balance + 1000
        # The invoice before its due date took no fee.
        assert models.Invoice.get_by_id(w["soon"].id).total == w["soon"].total
    overdue_mail = [m for _, m in inbox.messages if w["overdue"].number in m["Subject"]][0]
    assert "late fee of $5.00" in text_of(overdue_mail)
    assert "$105.00" in text_of(overdue_mail)


def test_a_percentage_fee_is_taken_of_the_balance(due_world):
    app, inbox, w = due_world
    with opened(app):
        set_rules(rules=[("", False)] * 3, kind="percent", value="1.5")
        assert reminders.run_due(dict(app.config)) == {"reminded": 0, "fees": 2}
        assert models.Invoice.get_by_id(w["overdue"].id).balance == w["overdue"].balance + 150
    assert inbox.messages == []


def test_overlapping_runs_send_each_reminder_and_fee_once(due_world):
    app, inbox, w = due_world
    with opened(app):
        set_rules(kind="fixed", value="5.00")
    results = race(app, 3, lambda i: reminders.run_due(dict(app.config)))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r["reminded"] for r in results) == 3
    assert sum(r["fees"] for r in results) == 2
    assert len(inbox.messages) == 3
    with opened(app):
        assert models.Invoice.get_by_id(w["overdue"].id).balance == w["overdue"].balance + 500


def test_nothing_happens_without_rules(due_world):
    app, inbox, w = due_world
    assert "reminders: 0 sent, 0 late fees added" in tick(app)
    assert inbox.messages == []


# ---------------------------------------------------------------- the settings form

@pytest.fixture
def staff_http(app):
    with opened(app):
        factories.staff("rules@test.example")
    http = app.test_client()
    login_staff(http, "rules@test.example")
    return http


GOOD = {"reminder1_days": "-3", "reminder1_enabled": "1", "reminder2_days": "7",
        "reminder2_enabled": "1", "reminder3_days": "", "late_fee_kind": "fixed",
        "late_fee_value": "12.50"}


def post_rules(http, **fields):
    data = {"csrf_token": csrf_token(http, "/admin/settings"), **GOOD, **fields}
    return http.post("/admin/settings/reminders",
                     data={k: v for k, v in data.items() if v is not None})


def test_good_rules_are_saved_and_shown_again(app, staff_http):
    response = post_rules(staff_http)
    assert response.status_code == 303
    with opened(app):
        company = models.Company.current()
        assert json.loads(company.reminder_rules) == [
            {"days": -3, "enabled": True}, {"days": 7, "enabled": True},
            {"days": None, "enabled": False}]
        assert (company.late_fee_kind, company.late_fee_value) == ("fixed", 1250)
    page = staff_http.get("/admin/settings").get_data(as_text=True)
    assert 'name="reminder1_days" inputmode="numeric" maxlength="5" value="-3"' in page
    assert 'value="12.50"' in page
    assert post_rules(staff_http, late_fee_kind="percent", late_fee_value="2.25"
                      ).status_code == 303
    with opened(app):
        assert models.Company.current().late_fee_value == 225
    assert 'value="2.25"' in staff_http.get("/admin/settings").get_data(as_text=True)


@pytest.mark.parametrize("fields, message", [
    ({"reminder1_days": "abc"}, "Reminder 1: enter the days as a whole number from -365"),
    ({"reminder2_days": "400"}, "Reminder 2: enter the days as a whole number from -365"),
    ({"reminder2_days": "-366"}, "Reminder 2: enter the days as a whole number"),
    ({"reminder1_days": "1.5"}, "Reminder 1: enter the days as a whole number"),
    ({"reminder3_days": "", "reminder3_enabled": "1"}, "Reminder 3: enter the days, or "
                                                       "switch it off."),
    ({"reminder2_days": "-3"}, "Reminder 2 is on the same day as reminder 1."),
    ({"late_fee_value": "-5"}, "Late fee: The amount cannot be negative."),
    ({"late_fee_value": "five"}, "Late fee: Enter the amount as a number"),
    ({"late_fee_value": ""}, "Enter the late fee, or choose no late fee."),
    ({"late_fee_kind": "percent", "late_fee_value": "-1"}, "The late fee cannot be negative."),
    ({"late_fee_kind": "percent", "late_fee_value": "150"}, "Enter a percentage from 0 to 100"),
    ({"late_fee_kind": "percent", "late_fee_value": "1.234"}, "at most two decimal places"),
    ({"late_fee_kind": "bogus"}, "Choose no late fee, a fixed amount or a percentage."),
])
def test_nonsense_rules_are_refused_and_nothing_changes(app, staff_http, fields, message):
    with opened(app):
        before = snapshot()
    response = post_rules(staff_http, **fields)
    body = response.get_data(as_text=True)
    assert response.status_code == 422, body[:1500]
    assert message in body
    assert 'aria-invalid="true"' in body
    with opened(app):
        assert snapshot() == before


def test_the_mail_settings_switch_receipts_and_attachments(app, staff_http):
    with opened(app):
        company = models.Company.current()
        assert company.send_receipts and not company.attach_pdf_to_emails
    response = staff_http.post("/admin/settings/mail", data={
        "csrf_token": csrf_token(staff_http, "/admin/settings"),
        "attach_pdf_to_emails": "1"})
    assert response.status_code == 303
    with opened(app):
        company = models.Company.current()
        assert not company.send_receipts and company.attach_pdf_to_emails
