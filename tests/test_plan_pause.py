"""Pausing and resuming a subscription (billing.plan_changes): the paid days kept, every date
moved by the pause, the refusals, who acted, and racing resumes resuming once."""
import datetime as dt

import pytest

import models
from billing import DomainError, plan_changes
from billing import subscriptions as service
from tests import factories
from tests.core_support import activities, interleaved, race, refusal, snapshot
from tests.plan_changes_support import MID, START, fresh


def test_pause_then_resume_keeps_the_paid_days(pworld):
    sub = pworld["sub"]
    paused = plan_changes.pause(fresh(sub), contact=pworld["a1"], today=MID)
    assert paused.status == "paused" and paused.paused_on == MID
    assert not paused.billing_continues and paused.display_status(MID) == "paused"
    back = plan_changes.resume(paused, contact=pworld["a1"], today=MID + dt.timedelta(days=10))
    assert back.status == "active" and back.paused_on is None
    assert back.current_period_end == sub.current_period_end + dt.timedelta(days=10)
    assert back.next_billing_date == sub.next_billing_date + dt.timedelta(days=10)
    assert back.current_period_start == sub.current_period_start + dt.timedelta(days=10)
    actions = [a.action for a in models.Activity.select().order_by(models.Activity.id)]
    assert actions[-2:] == ["subscription.paused", "subscription.resumed"]


def test_resuming_the_same_day_moves_nothing(pworld):
    sub = pworld["sub"]
    back = plan_changes.resume(plan_changes.pause(fresh(sub), today=MID), today=MID)
    assert back.current_period_end == sub.current_period_end


@pytest.mark.parametrize("prepare, message, kw", [
    (lambda s, w: None, "This subscription cannot be paused from the portal. Please contact "
     "us to pause it.", {"locked": True}),
    (lambda s, w: plan_changes.pause(s, today=MID), "This subscription is already paused.", {}),
    (lambda s, w: models.Subscription.update(status="cancelled").where(
        models.Subscription.id == s.id).execute(),
     "Only an active subscription can be paused.", {}),
    (lambda s, w: models.Subscription.update(cancel_at_period_end=True).where(
        models.Subscription.id == s.id).execute(), "This subscription is cancelled at the end "
     "of the period. Undo the cancellation first to pause it.", {}),
])
def test_pause_refusals_change_nothing(pworld, prepare, message, kw):
    sub = pworld["sub"]
    if kw.get("locked"):
        sub = service.subscribe(pworld["b"], pworld["locked"], start=START)
    prepare(sub, pworld)
    refused = refusal(lambda: plan_changes.pause(fresh(sub), today=MID))
    assert (refused.message, refused.field) == (message, "subscription")


def test_the_business_may_pause_a_plan_clients_cannot(pworld):
    locked = service.subscribe(pworld["b"], pworld["locked"], start=START)
    assert plan_changes.pause(fresh(locked), by_business=True, today=MID).status == "paused"


def test_resuming_what_is_not_paused_is_refused(pworld):
    before = snapshot()
    with pytest.raises(DomainError, match="not paused"):
        plan_changes.resume(fresh(pworld["sub"]), today=MID)
    assert snapshot() == before


def test_pause_and_resume_touch_only_their_subscription_and_say_who(pworld):
    sub = pworld["sub"]
    other = service.subscribe(pworld["b"], pworld["pro"], start=START)
    also_paused = service.subscribe(pworld["b"], pworld["basic"], start=START)
    plan_changes.pause(fresh(also_paused), today=MID)
    staff = factories.staff()
    plan_changes.pause(fresh(sub), contact=pworld["a1"], today=MID)
    assert (fresh(other).status, fresh(also_paused).status) == ("active", "paused")
    plan_changes.resume(fresh(sub), staff=staff, today=MID + dt.timedelta(days=10))
    assert [fresh(s).status for s in (sub, other, also_paused)] == [
        "active", "active", "paused"]
    assert fresh(also_paused).paused_on == MID
    assert activities("subscription.paused")[-1] == (
        sub.id, pworld["a"].id, pworld["a1"].id, None, "")
    assert activities("subscription.resumed") == [
        (sub.id, pworld["a"].id, None, staff.id, "paused 10 days")]
    assert models.Activity.get(models.Activity.action == "subscription.resumed"
                               ).subject_type == "subscription"
    # and the other way round: staff pause, the contact resumes
    plan_changes.pause(fresh(sub), staff=staff, today=MID)
    plan_changes.resume(fresh(sub), contact=pworld["a1"], today=MID)
    assert activities("subscription.paused")[-1] == (sub.id, pworld["a"].id, None, staff.id,
                                                     "")
    assert activities("subscription.resumed")[-1] == (
        sub.id, pworld["a"].id, pworld["a1"].id, None, "paused 0 days")


def test_a_pause_overtaken_by_another_request_is_refused_at_its_field(pworld):
    sub = pworld["sub"]
    seen = fresh(sub)  # the page was opened while the subscription was active
    plan_changes.pause(fresh(sub), today=MID)
    refused = refusal(lambda: plan_changes.pause(seen, today=MID))
    assert (refused.message, refused.field) == (
        "This subscription is already paused.", "subscription")
    plan_changes.resume(fresh(sub), today=MID)
    seen = fresh(sub)
    models.Subscription.update(cancel_at_period_end=True).where(
        models.Subscription.id == sub.id).execute()
    refused = refusal(lambda: plan_changes.pause(seen, today=MID))
    assert refused.field == "subscription"
    assert fresh(sub).status == "active"


def test_resuming_what_is_not_paused_or_gone_is_refused_at_its_field(pworld):
    for subscription in (fresh(pworld["sub"]), models.Subscription(id=pworld["sub"].id + 50)):
        refused = refusal(lambda s=subscription: plan_changes.resume(s, today=MID))
        assert (refused.message, refused.field) == (
            "This subscription is not paused.", "subscription")
    refused = refusal(lambda: plan_changes.check_resume(fresh(pworld["sub"])))
    assert (refused.message, refused.field) == (
        "This subscription is not paused.", "subscription")


def test_a_resume_overtaken_after_its_check_is_refused_as_the_check_would(pworld):
    """Another request resumes the subscription between this one's read and its update:
    the conditional update finds it no longer paused and says so, in the same words."""
    plan_changes.pause(fresh(pworld["sub"]), today=MID)
    other = fresh(pworld["sub"])
    with interleaved('UPDATE "subscription"',
                     lambda: plan_changes.resume(other, today=MID)) as fired:
        error = refusal(lambda: plan_changes.resume(fresh(pworld["sub"]),
                                                    today=MID + dt.timedelta(days=3)))
    assert fired and (error.message, error.field) == (
        "This subscription is not paused.", "subscription")


def test_racing_resumes_resume_once(app, pworld):
    plan_changes.pause(fresh(pworld["sub"]), today=MID)
    sub_id = pworld["sub"].id
    models.db.close()
    results = race(app, 2, lambda _: plan_changes.resume(
        models.Subscription.get_by_id(sub_id), today=MID + dt.timedelta(days=3)))
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 1 and refused[0].message == "This subscription is not paused."
    assert refused[0].field == "subscription"
    assert fresh(pworld["sub"]).current_period_end == pworld["sub"].current_period_end \
        + dt.timedelta(days=3)


def test_resume_moves_every_date_from_the_pause_on(pworld):
    """Paused on the day the next invoice was due: that invoice moves too. A trial's end
    moves with the pause; dates before it stay."""
    sub = pworld["sub"]
    due_day = sub.next_billing_date  # Dec 1, the period's end
    plan_changes.pause(fresh(sub), today=due_day)
    back = plan_changes.resume(fresh(sub), today=due_day + dt.timedelta(days=5))
    assert (back.next_billing_date, back.current_period_end) == (
        due_day + dt.timedelta(days=5), due_day + dt.timedelta(days=5))
    assert back.current_period_start == START + dt.timedelta(days=5)
    trial = service.subscribe(pworld["b"], factories.plan("Trial", 1000, trial_days=14),
                              start=START)
    plan_changes.pause(fresh(trial), by_business=True, today=START + dt.timedelta(days=3))
    back = plan_changes.resume(fresh(trial), today=START + dt.timedelta(days=7))
    assert back.trial_ends_on == START + dt.timedelta(days=18)
    assert back.next_billing_date == START + dt.timedelta(days=18)


def test_resume_of_a_pause_without_its_day_or_periods_moves_nothing(pworld):
    """Rows paused before paused_on was kept, and a subscription without periods."""
    legacy = service.subscribe(pworld["b"], pworld["pro"], start=START)
    models.Subscription.update(status="paused").where(
        models.Subscription.id == legacy.id).execute()
    back = plan_changes.resume(fresh(legacy), today=MID)
    assert (back.status, back.current_period_end, back.next_billing_date) == (
        "active", legacy.current_period_end, legacy.next_billing_date)
    bare = models.Subscription.create(client=pworld["b"], plan=pworld["basic"],
                                      started_at=START, status="paused", paused_on=START)
    back = plan_changes.resume(fresh(bare), today=MID)
    assert (back.status, back.current_period_start, back.current_period_end) == (
        "active", None, None)
