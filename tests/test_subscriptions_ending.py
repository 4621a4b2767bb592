"""The cancellation service's rules word for word (billing.subscriptions): the business's choice
of when a subscription ends, each refusal at its field, who is logged for a cancellation and
its undo, and run-due ending every due subscription once. The portal's cancel pages are in
tests/test_subscriptions_cancel.py."""
import datetime as dt

import pytest

import models
from billing import company_settings as settings
from billing import subscriptions as service
from tests import factories
from tests.core_support import activities, refusal

REASON = settings.DEFAULT_CANCELLATION_REASONS[0]
START = dt.date(2026, 11, 1)  # a monthly period: the first ends on Dec 1
NOW = dt.datetime(2026, 11, 16, 12, 0)


@pytest.fixture
def eworld(db):
    factories.company()
    people = factories.two_clients()
    plans = {policy: factories.plan(policy, 1000, cancellation=policy,
                                    allow_cancellation=policy != "not_allowed")
             for policy in models.Plan.CANCELLATION}
    subs = {policy: service.subscribe(people["a"], plan, start=START, contact=people["a1"])
            for policy, plan in plans.items()}
    return {**people, **subs, "plans": plans}


def fresh(sub):
    return models.Subscription.get_by_id(sub.id)


def cancel(sub, **kw):
    kw.setdefault("reason", REASON)
    kw.setdefault("now", NOW)
    return service.cancel(fresh(sub), reasons=[REASON], **kw)


def test_a_plan_clients_may_not_cancel_is_refused_word_for_word(eworld):
    refused = refusal(lambda: cancel(eworld["not_allowed"]))
    assert (refused.message, refused.field) == (
        "This subscription cannot be cancelled from the portal. Please contact us to cancel "
        "it.", "subscription")


@pytest.mark.parametrize("when", ["", "now", "Immediately", "at period end", 1])
def test_the_business_chooses_one_of_two_moments_or_nothing_happens(eworld, when):
    refused = refusal(lambda: cancel(eworld["at_period_end"], when=when))
    assert (refused.message, refused.field) == ("Choose when the subscription ends.", "when")


def test_the_business_may_end_any_plan_at_either_moment(eworld):
    ended = cancel(eworld["not_allowed"], when="immediately")
    assert (ended.status, ended.cancelled_at, ended.ends_on) == ("cancelled", NOW, NOW.date())
    later = cancel(eworld["immediately"], when="at_period_end")
    assert (later.status, later.cancel_at_period_end, later.ends_on) == (
        "active", True, dt.date(2026, 12, 1))
    now = cancel(eworld["at_period_end"], when="immediately")
    assert now.status == "cancelled"


def test_the_plans_own_policy_applies_when_nobody_chooses(eworld):
    assert cancel(eworld["immediately"]).status == "cancelled"
    ending = cancel(eworld["at_period_end"])
    assert (ending.status, ending.cancel_at_period_end) == ("active", True)


def test_a_cancellation_without_a_comment_logs_just_its_reason_and_who(eworld):
    staff = factories.staff()
    cancel(eworld["immediately"], staff=staff)
    cancel(eworld["at_period_end"], contact=eworld["a1"], comment="Too dear")
    assert activities("subscription.cancelled") == [
        (eworld["immediately"].id, eworld["a"].id, None, staff.id, REASON)]
    assert activities("subscription.cancel_requested") == [
        (eworld["at_period_end"].id, eworld["a"].id, eworld["a1"].id, None,
         f"{REASON}: Too dear")]


def test_a_page_overtaken_by_another_cancellation_is_refused_at_the_subscription(eworld):
    seen = fresh(eworld["at_period_end"])
    cancel(eworld["at_period_end"])
    refused = refusal(lambda: service.cancel(seen, reason=REASON, reasons=[REASON], now=NOW))
    assert (refused.message, refused.field) == (
        "This subscription is already cancelled.", "subscription")


def test_undo_is_logged_with_who_and_refused_word_for_word_when_nothing_is_left(eworld):
    sub = eworld["at_period_end"]
    staff = factories.staff()
    cancel(sub)
    kept = service.undo_cancellation(fresh(sub), staff=staff, today=NOW.date())
    assert (kept.cancel_at_period_end, kept.ends_on) == (False, None)
    cancel(sub)
    service.undo_cancellation(fresh(sub), contact=eworld["a1"], today=NOW.date())
    assert activities("subscription.cancel_undone") == [
        (sub.id, eworld["a"].id, None, staff.id, ""),
        (sub.id, eworld["a"].id, eworld["a1"].id, None, "")]
    assert models.Activity.get(models.Activity.action == "subscription.cancel_undone"
                               ).subject_type == "subscription"
    refused = refusal(lambda: service.undo_cancellation(fresh(sub), today=NOW.date()))
    assert (refused.message, refused.field) == (
        "This subscription has no cancellation to undo.", "subscription")


def test_run_due_ends_every_due_subscription_and_logs_each(eworld):
    other = service.subscribe(eworld["b"], eworld["plans"]["at_period_end"], start=START)
    staying = service.subscribe(eworld["b"], eworld["plans"]["immediately"], start=START)
    cancel(eworld["at_period_end"])
    cancel(other)
    end = dt.datetime(2026, 12, 1, 6, 0)
    assert service.end_due(now=end) == 2
    assert [fresh(s).status for s in (eworld["at_period_end"], other, staying)] == [
        "cancelled", "cancelled", "active"]
    assert fresh(other).cancelled_at == end
    assert activities("subscription.ended") == [
        (eworld["at_period_end"].id, eworld["a"].id, None, None, ""),
        (other.id, eworld["b"].id, None, None, "")]
    assert {a.subject_type for a in models.Activity.select().where(
        models.Activity.action == "subscription.ended")} == {"subscription"}
    assert service.end_due(now=end) == 0


@pytest.mark.parametrize("reason, comment, message, field", [
    ("", "", "Choose a reason for cancelling.", "reason"),
    (None, "", "Choose a reason for cancelling.", "reason"),
    (" ", "", "Choose a reason for cancelling.", "reason"),
    ("Something else", "", "Choose a reason from the list.", "reason"),
    (REASON, "z" * 1001, "Comment can have at most 1000 characters.", "comment"),
])
def test_each_bad_reason_or_comment_is_refused_word_for_word(eworld, reason, comment, message,
                                                            field):
    refused = refusal(lambda: cancel(eworld["at_period_end"], reason=reason, comment=comment))
    assert (refused.message, refused.field) == (message, field)


def test_a_paused_or_ending_subscription_is_refused_word_for_word(eworld):
    from billing import plan_changes
    plan_changes.pause(fresh(eworld["immediately"]), by_business=True, today=NOW.date())
    refused = refusal(lambda: cancel(eworld["immediately"]))
    assert (refused.message, refused.field) == (
        "This subscription is paused. Resume it first to cancel it.", "subscription")
    cancel(eworld["at_period_end"])
    refused = refusal(lambda: service.check_cancellation(
        fresh(eworld["at_period_end"]), REASON, "", [REASON]))
    assert (refused.message, refused.field) == (
        "This subscription is already cancelled.", "subscription")
