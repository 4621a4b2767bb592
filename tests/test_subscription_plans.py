"""Editing the plans staff sell (billing.subscriptions): a plan read back as the form shows it
in the typist's language, an update that keeps what it leaves out and touches only its plan,
archiving and restoring, and the order plans are offered in. Creating a plan and the
validator's refusals are in tests/test_subscriptions.py."""
import pytest

import models
from billing import FieldErrors
from billing import subscriptions as service
from tests import factories
from tests.core_support import activities, snapshot
from tests.factories import PLAN_FORM as GOOD

FULL = {**GOOD, "name": "Team", "description": "Every seat\nand support", "price": "1234.50",
        "setup_fee": "10.00", "max_quantity": "7", "trial_days": "3", "min_quantity": "2",
        "allow_pause": "1", "plan_group": "seats"}


def stored(plan):
    """Every column a plan form sets, as stored."""
    row = models.Plan.get_by_id(plan.id)
    return {name: getattr(row, name) for name in (
        "name", "description", "price", "currency", "frequency", "trial_days", "setup_fee",
        "min_quantity", "max_quantity", "cancellation", "allow_cancellation",
        "allow_plan_changes", "plan_group", "allow_pause", "archived_at", "is_active")}


def test_a_plan_reads_back_as_its_form_in_the_typists_language(db):
    plan = service.create_plan(FULL, "en_US")
    assert service.plan_values(plan, "de_DE") == {
        "name": "Team", "description": "Every seat\nand support", "price": "1234,50",
        "currency": "USD", "frequency": "monthly", "trial_days": "3", "setup_fee": "10,00",
        "min_quantity": "2", "max_quantity": "7", "cancellation": "at_period_end",
        "allow_plan_changes": True, "plan_group": "seats", "allow_pause": True}
    bare = service.create_plan({**GOOD, "name": "Bare", "setup_fee": "", "max_quantity": "",
                                "allow_plan_changes": "", "allow_pause": ""}, "en_US")
    values = service.plan_values(bare, "en_US")
    assert (values["setup_fee"], values["max_quantity"], values["price"]) == ("", "", "29.00")
    assert (values["allow_plan_changes"], values["allow_pause"]) == (False, False)


@pytest.mark.parametrize("locale", ["de_DE", "en_US", "fr_FR"])
def test_an_update_in_any_language_keeps_every_field_it_leaves_out(db, locale):
    plan = service.create_plan(FULL, "en_US")
    before = stored(plan)
    updated = service.update_plan(plan, {"name": "Team plus"}, locale)
    assert stored(updated) == {**before, "name": "Team plus"}
    assert stored(service.update_plan(updated, {}, locale)) == stored(updated)


def test_an_update_touches_only_its_plan_and_says_who(db):
    plan = service.create_plan(FULL, "en_US")
    other = service.create_plan({**GOOD, "name": "Other"}, "en_US")
    other_before = stored(other)
    staff = factories.staff()
    service.update_plan(plan, {"price": "99.00", "description": "New"}, "en_US", staff=staff)
    assert stored(other) == other_before
    assert activities("plan.updated") == [(plan.id, None, None, staff.id, "")]
    assert models.Activity.get(models.Activity.action == "plan.updated").subject_type == "plan"


def test_a_rename_to_another_live_plans_name_is_refused(db):
    plan = service.create_plan(FULL, "en_US")
    service.create_plan({**GOOD, "name": "Basic"}, "en_US")
    before = snapshot()
    with pytest.raises(FieldErrors) as refused:
        service.update_plan(plan, {"name": "Basic"}, "en_US")
    assert refused.value.errors == {"name": "There is already a plan called Basic."}
    assert snapshot() == before
    assert service.update_plan(plan, {"name": "Team", "price": "5.00"}, "en_US").price == 500


def test_a_subscribed_plan_changes_anything_but_its_currency(db):
    plan = service.create_plan(FULL, "en_US")
    service.subscribe(factories.client(), plan, quantity=2)
    assert service.update_plan(plan, {"price": "40.00"}, "en_US").price == 4000
    before = snapshot()
    with pytest.raises(FieldErrors) as refused:
        service.update_plan(plan, {"currency": "EUR"}, "en_US")
    assert refused.value.errors == {
        "currency": "The currency of a plan with subscribers cannot change."}
    assert snapshot() == before
    unsold = service.create_plan({**GOOD, "name": "Unsold"}, "en_US")
    assert service.update_plan(unsold, {"currency": "EUR"}, "en_US").currency == "EUR"


def test_archiving_and_restoring_touch_only_their_plan_and_say_who(db):
    plan = service.create_plan(FULL, "en_US")
    other = service.create_plan({**GOOD, "name": "Other"}, "en_US")
    other_before = stored(other)
    staff = factories.staff()
    service.set_archived(plan, True, staff=staff)
    assert stored(other) == other_before
    service.set_archived(plan, False, staff=staff)
    assert stored(other) == other_before
    assert activities("plan.archived") == [(plan.id, None, None, staff.id, "")]
    assert activities("plan.restored") == [(plan.id, None, None, staff.id, "")]
    assert {a.subject_type for a in models.Activity.select()} == {"plan"}


def test_restoring_a_plan_on_sale_changes_nothing_but_is_not_refused(db):
    plan = service.create_plan(FULL, "en_US")
    assert service.set_archived(plan, False).archived_at is None


def test_plans_are_offered_by_name(db):
    beta = service.create_plan({**GOOD, "name": "Beta"}, "en_US")
    alpha = service.create_plan({**GOOD, "name": "Alpha"}, "en_US")
    gone = service.create_plan({**GOOD, "name": "Aardvark"}, "en_US")
    service.set_archived(gone, True)
    assert [p.id for p in service.active_plans()] == [alpha.id, beta.id]
