"""Cancelling a subscription from the portal: each plan's policy, the reason and comment,
the confirmation step, staff notice and activity, undo, and run-due ending it once."""
import datetime as dt
import html

import pytest

import models
from billing import DomainError, scheduler
from billing import company_settings as settings
from billing import subscriptions as service
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import opened, race, snapshot
from tests.factories import PLAN_FORM as GOOD

REASON = settings.DEFAULT_CANCELLATION_REASONS[0]


def text(response):
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def cworld(app):
    with opened(app):
        factories.company()
        people = factories.two_clients()
        today = models.utcnow().date()
        plans = {policy: service.create_plan(
            {**GOOD, "name": policy, "trial_days": "0", "cancellation": policy}, "en_US")
            for policy in models.Plan.CANCELLATION}
        subs = {policy: service.subscribe(people["a"], plan, start=today - dt.timedelta(days=3),
                                          contact=people["a1"])
                for policy, plan in plans.items()}
        other = service.subscribe(people["b"], plans["at_period_end"], start=today)
    return {**people, **subs, "other": other, "today": today}


def path(sub, action=""):
    return f"/client/subscriptions/{sub.public_id}" + (f"/{action}" if action else "")


def send(client, sub, action="cancel", token_from=None, **data):
    token = csrf_token(client, token_from or path(sub))
    return client.post(path(sub, action), data={"csrf_token": token, **data})


def fresh(sub):
    return models.Subscription.get_by_id(sub.id)


def activities(action):
    return list(models.Activity.select().where(models.Activity.action == action))


def staff_mail():
    return list(models.EmailMessage.select().where(
        models.EmailMessage.to == "billing@test.example"))


def refused(response, message, before, status=422):
    body = text(response)
    assert response.status_code == status, body[:1500]
    assert message in body
    assert snapshot() == before
    return body


def dated(day):
    return f"{day:%b} {day.day}, {day.year}"


# ---------------------------------------------------------------- each policy

def test_at_period_end_keeps_it_active_until_its_end_and_tells_staff(client, auth, cworld):
    sub = cworld["at_period_end"]
    auth.login("a1@alpha.example")
    show = text(client.get(path(sub)))
    assert f'href="{path(sub, "cancel")}"' in show and "Cancel subscription" in show
    form = client.get(path(sub, "cancel"))
    body = text(form)
    assert form.status_code == 200 and body.count("<h1") == 1
    assert 'name="csrf_token"' in body and 'for="cancel-reason"' in body
    for reason in settings.DEFAULT_CANCELLATION_REASONS:
        assert f'<option value="{reason}"' in body
    before = snapshot()
    confirm = send(client, sub, reason=REASON, comment="Too dear for us.")
    page = text(confirm)
    assert confirm.status_code == 200 and "Yes, cancel my subscription" in page
    assert 'name="confirmed" value="1"' in page and "Too dear for us." in page
    assert dated(sub.current_period_end) in page
    assert snapshot() == before  # the confirmation page changes nothing

    done = send(client, sub, reason=REASON, comment="Too dear for us.", confirmed="1")
    assert done.status_code == 303 and done.headers["Location"].endswith(path(sub))
    after = fresh(sub)
    assert after.status == "active" and after.cancel_at_period_end
    assert after.ends_on == sub.current_period_end and after.cancelled_at is None
    assert not after.billing_continues
    page = text(client.get(path(sub)))
    assert f"Ends on {dated(after.ends_on)}" in page
    assert "Keep my subscription" in page and "Cancel subscription" not in page
    (logged,) = activities("subscription.cancel_requested")
    assert logged.subject_id == sub.id and logged.client_id == cworld["a"].id
    assert logged.contact_id == cworld["a1"].id
    assert logged.detail == f"{REASON}: Too dear for us."
    (message,) = staff_mail()
    assert "Alpha Ltd" in message.subject and "at_period_end" in message.subject
    assert REASON in message.body_text and "Too dear for us." in message.body_text
    assert dated(after.ends_on) in message.body_text


def test_immediately_cancels_now(client, auth, cworld):
    sub = cworld["immediately"]
    auth.login("a1@alpha.example")
    assert "ends as soon as you confirm" in text(client.get(path(sub, "cancel")))
    done = send(client, sub, reason=REASON, confirmed="1")
    assert done.status_code == 303
    after = fresh(sub)
    assert after.status == "cancelled" and not after.cancel_at_period_end
    assert after.cancelled_at is not None and after.ends_on == cworld["today"]
    page = text(client.get(path(sub)))
    assert "Cancelled, ended on" in page
    assert "Keep my subscription" not in page and "Cancel subscription" not in page
    (logged,) = activities("subscription.cancelled")
    assert logged.detail == REASON
    assert len(staff_mail()) == 1


def test_not_allowed_shows_no_form_and_refuses_a_post(client, auth, cworld):
    sub = cworld["not_allowed"]
    auth.login("a1@alpha.example")
    page = text(client.get(path(sub)))
    assert "Cancel subscription" not in page and path(sub, "cancel") not in page
    before = snapshot()
    refused(client.get(path(sub, "cancel")), "cannot be cancelled from the portal", before)
    for data in ({"reason": REASON}, {"reason": REASON, "confirmed": "1"}):
        body = refused(send(client, sub, **data), "cannot be cancelled from the portal",
                       before)
        assert 'role="alert"' in body and body.count("<h1") == 1


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("data, message", [
    ({}, "Choose a reason for cancelling."),
    ({"reason": ""}, "Choose a reason for cancelling."),
    ({"reason": "Because"}, "Choose a reason from the list."),
    ({"reason": REASON + " "}, None),  # surrounding spaces are not a different reason
    ({"reason": REASON, "comment": "x" * 1001}, "at most 1000"),
    ({"reason": REASON, "comment": "bad\x1bbyte"}, "control characters"),
])
@pytest.mark.parametrize("confirmed", ["", "1"])
def test_reason_and_comment_are_checked_at_both_steps(client, auth, cworld, data, message,
                                                      confirmed):
    sub = cworld["at_period_end"]
    auth.login("a1@alpha.example")
    before = snapshot()
    response = send(client, sub, confirmed=confirmed, **data)
    if message is None:
        assert response.status_code == (303 if confirmed else 200)
        return
    body = refused(response, message, before)
    assert 'aria-invalid="true"' in body and 'aria-describedby="cancel-error"' in body
    assert 'for="cancel-reason"' in body  # the form again, to fix and resend


def test_a_comment_of_the_longest_length_is_kept(client, auth, cworld):
    sub = cworld["at_period_end"]
    auth.login("a1@alpha.example")
    assert send(client, sub, reason=REASON, comment="y" * 1000,
                confirmed="1").status_code == 303
    assert activities("subscription.cancel_requested")[0].detail.endswith("y" * 1000)


def test_cancelling_twice_is_refused(client, auth, cworld):
    sub = cworld["at_period_end"]
    auth.login("a1@alpha.example")
    assert send(client, sub, reason=REASON, confirmed="1").status_code == 303
    before = snapshot()
    refused(send(client, sub, reason=REASON, confirmed="1"), "already cancelled", before)
    refused(client.get(path(sub, "cancel")), "already cancelled", before)
    with pytest.raises(DomainError) as exc:
        service.cancel(fresh(sub), reason=REASON, reasons=[REASON])
    assert exc.value.field == "subscription"


def test_a_stale_page_cannot_cancel_twice(db, cworld, app):
    """Two requests that both read the live subscription: the second UPDATE finds nothing."""
    with app.test_request_context():
        stale = fresh(cworld["immediately"])
        service.cancel(fresh(cworld["immediately"]), reason=REASON, reasons=[REASON])
        before = snapshot()
        with pytest.raises(DomainError, match="already cancelled"):
            service.cancel(stale, reason=REASON, reasons=[REASON])
        assert snapshot() == before


def test_service_names_the_field_of_each_refusal(db, cworld):
    sub = cworld["at_period_end"]
    for reason, comment, field in (("", "", "reason"), ("Nope", "", "reason"),
                                   (None, "", "reason"), (REASON, "z" * 1001, "comment")):
        with pytest.raises(DomainError) as exc:
            service.check_cancellation(sub, reason, comment, [REASON])
        assert exc.value.field == field
    with pytest.raises(DomainError) as exc:
        service.check_cancellation(cworld["not_allowed"], REASON, "", [REASON])
    assert exc.value.field == "subscription"


# ---------------------------------------------------------------- undo

def test_undo_before_the_end_restores_billing(client, auth, cworld):
    sub = cworld["at_period_end"]
    auth.login("a1@alpha.example")
    send(client, sub, reason=REASON, confirmed="1")
    done = send(client, sub, "undo")
    assert done.status_code == 303 and done.headers["Location"].endswith(path(sub))
    after = fresh(sub)
    assert after.status == "active" and not after.cancel_at_period_end
    assert after.ends_on is None and after.billing_continues
    page = text(client.get(path(sub)))
    assert "the cancellation was withdrawn" in page and "Cancel subscription" in page
    assert len(activities("subscription.cancel_undone")) == 1
    assert [m.subject.split(":")[0] for m in staff_mail()] == [
        "Subscription cancelled", "Cancellation withdrawn"]
    before = snapshot()
    refused(send(client, sub, "undo"), "no cancellation to undo", before)


def test_nothing_to_undo_is_refused(client, auth, cworld):
    auth.login("a1@alpha.example")
    before = snapshot()
    refused(send(client, cworld["at_period_end"], "undo"), "no cancellation to undo", before)
    refused(send(client, cworld["not_allowed"], "undo"), "no cancellation to undo", before)
    send(client, cworld["immediately"], reason=REASON, confirmed="1")
    before = snapshot()
    refused(send(client, cworld["immediately"], "undo"), "no cancellation to undo", before)


def test_undo_once_the_end_date_came_is_refused(db, cworld, app):
    with app.test_request_context():
        sub = service.cancel(cworld["at_period_end"], reason=REASON, reasons=[REASON])
        before = snapshot()
        with pytest.raises(DomainError) as exc:
            service.undo_cancellation(sub, today=sub.ends_on)
        assert exc.value.field == "subscription" and snapshot() == before
        assert not service.can_undo_cancellation(sub, sub.ends_on)
        assert service.can_undo_cancellation(sub, sub.ends_on - dt.timedelta(days=1))


# ---------------------------------------------------------------- run-due

def test_run_due_ends_it_once_under_overlapping_ticks(app, cworld):
    with opened(app):
        sub = service.cancel(cworld["at_period_end"], reason=REASON, reasons=[REASON])
        on = sub.ends_on
        assert service.end_due(today=on - dt.timedelta(days=1)) == 0
        assert fresh(sub).status == "active"
    results = race(app, 2, lambda i: service.end_due(today=on))
    assert sorted(results) == [0, 1], results
    with opened(app):
        after = fresh(sub)
        assert after.status == "cancelled" and after.cancelled_at is not None
        assert after.ends_on == on and not after.billing_continues
        assert len(activities("subscription.ended")) == 1
        assert service.end_due(today=on + dt.timedelta(days=5)) == 0
        # The others were never asked to end.
        assert fresh(cworld["not_allowed"]).status == "active"
        assert fresh(cworld["other"]).status == "active"


def test_run_due_tick_reports_the_ending(app, cworld):
    with opened(app):
        service.cancel(cworld["at_period_end"], reason=REASON, reasons=[REASON])
        models.Subscription.update(ends_on=cworld["today"]).where(
            models.Subscription.id == cworld["at_period_end"].id).execute()
    lines = scheduler.run_due(app)
    assert "subscriptions: 1 ended as cancelled" in lines
    with opened(app):
        assert fresh(cworld["at_period_end"]).status == "cancelled"
        assert "subscriptions: 0 ended as cancelled" in scheduler.run_due(app)


def test_an_ended_subscription_reads_cancelled_with_its_date(client, auth, cworld, app):
    with opened(app):
        sub = service.cancel(cworld["at_period_end"], reason=REASON, reasons=[REASON])
        service.end_due(today=sub.ends_on)
    auth.login("a1@alpha.example")
    page = text(client.get(path(sub)))
    assert f"Cancelled, ended on {dated(sub.ends_on)}" in page
    assert "Keep my subscription" not in page and "Cancel subscription" not in page


# ---------------------------------------------------------------- scoping and CSRF

def test_a_foreign_or_malformed_subscription_is_not_found(client, auth, cworld):
    auth.login("a1@alpha.example")
    before = snapshot()
    token = csrf_token(client, path(cworld["at_period_end"]))
    for public_id in (cworld["other"].public_id, "x" * 30, "nope"):
        assert client.get(f"/client/subscriptions/{public_id}/cancel").status_code == 404
        for action, data in (("cancel", {"reason": REASON, "confirmed": "1"}),
                             ("undo", {})):
            response = client.post(f"/client/subscriptions/{public_id}/{action}",
                                   data={"csrf_token": token, **data})
            assert response.status_code == 404
    assert snapshot() == before


def test_posts_without_a_csrf_token_are_refused(client, auth, cworld):
    sub = cworld["at_period_end"]
    auth.login("a1@alpha.example")
    before = snapshot()
    for action, data in (("cancel", {"reason": REASON, "confirmed": "1"}), ("undo", {})):
        assert client.post(path(sub, action), data=data).status_code == 400
    assert snapshot() == before


def test_logged_out_is_sent_to_login(client, cworld):
    response = client.get(path(cworld["at_period_end"], "cancel"))
    assert response.status_code == 302 and "/client/login" in response.headers["Location"]


def test_htmx_gets_the_fragment(client, auth, cworld):
    auth.login("a1@alpha.example")
    response = client.get(path(cworld["at_period_end"], "cancel"),
                          headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in text(response)
    assert "HX-Request" in response.headers["Vary"]


# ---------------------------------------------------------------- the business's reasons

@pytest.fixture
def staff(staff_browser):
    """The back office in a second browser (tests/settings_support.py)."""
    return staff_browser


def save_reasons(staff, value):
    token = csrf_token(staff, "/admin/settings")
    return staff.post("/admin/settings/subscriptions",
                      data={"csrf_token": token, "cancellation_reasons": value})


def test_staff_edit_the_reasons_the_portal_offers(client, auth, cworld, staff):
    page = text(staff.get("/admin/settings"))
    assert 'action="/admin/settings/subscriptions"' in page
    assert "\n".join(settings.DEFAULT_CANCELLATION_REASONS) in page
    response = save_reasons(staff, " Moving abroad \r\n\r\nToo slow\nmoving ABROAD\n")
    assert response.status_code == 303
    assert models.Company.current().cancellation_reasons == "Moving abroad\nToo slow"
    assert "Moving abroad\nToo slow</textarea>" in text(staff.get("/admin/settings"))
    auth.login("a1@alpha.example")
    form = text(client.get(path(cworld["at_period_end"], "cancel")))
    assert '<option value="Too slow">' in form and REASON not in form
    sub = cworld["at_period_end"]
    before = snapshot()
    refused(send(client, sub, reason=REASON, confirmed="1"), "Choose a reason from the list.",
            before)
    assert send(client, sub, reason="Too slow", confirmed="1").status_code == 303


@pytest.mark.parametrize("value, message", [
    ("", "Enter at least one reason"),
    (" \n \n", "Enter at least one reason"),
    ("x" * 101, "at most 100 characters"),
    ("\n".join(f"Reason {n}" for n in range(21)), "at most 20 reasons"),
    ("Fine\nbad\x1b", "control characters"),
])
def test_bad_reason_lists_are_refused(staff, cworld, value, message):
    before = snapshot()
    response = save_reasons(staff, value)
    body = refused(response, message, before)
    assert 'aria-describedby="err-cancellation_reasons"' in body


def test_cancel_pages_are_titled_after_the_plan(client, auth, cworld):
    sub = cworld["at_period_end"]
    auth.login("a1@alpha.example")
    for response in (client.get(path(sub, "cancel")), send(client, sub, reason=REASON)):
        assert "<title>Cancel at_period_end · Test Studio</title>" in text(response)


def test_without_a_business_address_it_cancels_and_mails_nobody(client, auth, cworld, app):
    with opened(app):
        factories.company(email="")
    auth.login("a1@alpha.example")
    assert send(client, cworld["at_period_end"], reason=REASON,
                confirmed="1").status_code == 303
    assert fresh(cworld["at_period_end"]).cancel_at_period_end
    assert models.EmailMessage.select().count() == 0
