"""Plans (billing.subscriptions): one validator for every way in; subscribing sets periods."""
import datetime as dt

import pytest

import models
import money
from billing import DomainError, FieldErrors
from billing import subscriptions as service
from tests import factories
from tests.core_support import snapshot
from tests.factories import PLAN_FORM as GOOD


def test_create_plan_stores_typed_values(db):
    plan = service.create_plan(GOOD, "en_US")
    plan = models.Plan.get_by_id(plan.id)
    assert (plan.name, plan.price, plan.currency, plan.frequency) == ("Pro", 2900, "USD",
                                                                      "monthly")
    assert (plan.trial_days, plan.setup_fee, plan.min_quantity, plan.max_quantity) == \
        (14, 1000, 1, 10)
    assert plan.cancellation == "at_period_end" and plan.allow_cancellation
    assert plan.allow_plan_changes and plan.plan_group == "main" and plan.archived_at is None


def test_prices_are_read_in_the_typists_locale(db):
    plan = service.create_plan({**GOOD, "price": "1.234,50", "setup_fee": ""}, "de_DE")
    assert plan.price == 123450 and plan.setup_fee == 0
    jpy = service.create_plan({**GOOD, "name": "Yen", "currency": "jpy", "price": "1000",
                               "setup_fee": "500"}, money.PLAIN)
    assert (jpy.currency, jpy.price, jpy.setup_fee) == ("JPY", 1000, 500)


def test_blank_limits_mean_none(db):
    plan = service.create_plan({**GOOD, "trial_days": "", "min_quantity": "",
                                "max_quantity": "", "cancellation": "not_allowed",
                                "allow_plan_changes": ""}, "en_US")
    assert (plan.trial_days, plan.min_quantity, plan.max_quantity) == (0, 1, None)
    assert not plan.allow_cancellation and not plan.allow_plan_changes


BAD = [
    ({"name": ""}, "name", "Enter the plan's name."),
    ({"name": "A\nB"}, "name", "line breaks"),
    ({"name": "x" * 101}, "name", "at most 100"),
    ({"price": ""}, "price", "Enter an amount"),
    ({"price": "ten"}, "price", "as a number"),
    ({"price": "-5"}, "price", "cannot be negative"),
    ({"price": "1.005"}, "price", "at most 2 decimal places"),
    ({"setup_fee": "-1"}, "setup_fee", "cannot be negative"),
    ({"currency": "XYZ"}, "currency", "ISO 4217"),
    ({"currency": ""}, "currency", "ISO 4217"),
    ({"frequency": "hourly"}, "frequency", "Choose how often"),
    ({"trial_days": "1.5"}, "trial_days", "whole number"),
    ({"trial_days": "-1"}, "trial_days", "from 0 to"),
    ({"trial_days": True}, "trial_days", "whole number"),
    ({"min_quantity": "0"}, "min_quantity", "from 1 to"),
    ({"min_quantity": "a"}, "min_quantity", "whole number"),
    ({"max_quantity": "2.0"}, "max_quantity", "whole number"),
    ({"min_quantity": "5", "max_quantity": "4"}, "max_quantity", "less than the minimum"),
    ({"cancellation": "sometimes"}, "cancellation", "whether and when"),
    ({"plan_group": "x" * 51}, "plan_group", "at most 50"),
]


@pytest.mark.parametrize("change,field,message", BAD, ids=[f"{b[1]}-{i}" for i, b in
                                                             enumerate(BAD)])
def test_each_bad_input_is_refused_by_field_and_changes_nothing(db, change, field, message):
    plan = service.create_plan({**GOOD, "name": "Existing"}, "en_US")
    before = snapshot()
    with pytest.raises(FieldErrors) as refused:
        service.create_plan({**GOOD, **change}, "en_US")
    assert message in refused.value.errors[field]
    with pytest.raises(FieldErrors) as refused:
        service.update_plan(plan, change, "en_US")
    assert message in refused.value.errors[field]
    assert snapshot() == before


def test_every_bad_field_is_named_at_once(db):
    with pytest.raises(FieldErrors) as refused:
        service.create_plan({"name": "", "price": "x", "currency": "USD", "frequency": "",
                             "cancellation": ""}, "en_US")
    assert list(refused.value.errors) == ["name", "price", "frequency", "cancellation"]


def test_names_are_unique_among_live_plans(db):
    plan = service.create_plan(GOOD, "en_US")
    before = snapshot()
    with pytest.raises(FieldErrors) as refused:
        service.create_plan(GOOD, "en_US")
    assert "already a plan called Pro" in refused.value.errors["name"]
    assert snapshot() == before
    service.set_archived(plan, True)
    assert service.create_plan(GOOD, "en_US").name == "Pro"
    with pytest.raises(FieldErrors):
        service.set_archived(plan, False)


def test_update_keeps_what_is_left_out(db):
    plan = service.create_plan(GOOD, "en_US")
    plan = service.update_plan(plan, {"price": "35.50"}, "en_US")
    assert (plan.price, plan.trial_days, plan.plan_group) == (3550, 14, "main")


def test_currency_of_a_plan_with_subscribers_cannot_change(db):
    plan = service.create_plan(GOOD, "en_US")
    service.subscribe(factories.client(), plan)
    before = snapshot()
    with pytest.raises(FieldErrors) as refused:
        service.update_plan(plan, {"currency": "EUR"}, "en_US")
    assert "cannot change" in refused.value.errors["currency"]
    assert snapshot() == before


def test_archive_and_restore(db):
    plan = service.create_plan(GOOD, "en_US")
    archived = service.set_archived(plan, True)
    assert archived.archived_at is not None and not archived.is_active
    assert list(service.active_plans()) == []
    restored = service.set_archived(plan, False)
    assert restored.archived_at is None and restored.is_active


def test_subscribe_with_trial_bills_when_the_trial_ends(db):
    plan = service.create_plan(GOOD, "en_US")
    start = dt.date(2026, 1, 31)
    sub = service.subscribe(factories.client(), plan, quantity=3, start=start)
    assert sub.trial_ends_on == dt.date(2026, 2, 14) == sub.next_billing_date
    assert sub.amount == 8700 and sub.unit_price == 2900
    assert sub.display_status(dt.date(2026, 2, 1)) == "trial"
    assert sub.display_status(dt.date(2026, 2, 14)) == "active"


def test_a_subscription_keeps_who_and_what_it_was_made_with_and_logs_it(db):
    from tests.core_support import activities
    from tests.payments_support import demo_card, make_gateway
    plan = service.create_plan(GOOD, "en_US")
    people = factories.two_clients()
    card = demo_card(people["a"], make_gateway("demo"))
    staff = factories.staff()
    start = dt.date(2026, 1, 31)
    sub = service.subscribe(people["a"], plan, start=start, contact=people["a1"],
                            payment_method=card.id, staff=staff)
    sub = models.Subscription.get_by_id(sub.id)
    assert (sub.client_id, sub.contact_id, sub.payment_method_id, sub.quantity) == (
        people["a"].id, people["a1"].id, card.id, 1)
    assert (sub.started_at, sub.current_period_start, sub.current_period_end) == (
        start, start, dt.date(2026, 2, 14))  # the trial is its first period
    assert activities("subscription.created") == [
        (sub.id, people["a"].id, people["a1"].id, staff.id, "Pro")]
    assert models.Activity.get(models.Activity.action == "subscription.created"
                               ).subject_type == "subscription"


def test_subscribe_without_trial_uses_the_schedule(db):
    plan = service.create_plan({**GOOD, "trial_days": "0", "frequency": "quarterly"}, "en_US")
    sub = service.subscribe(factories.client(), plan, start=dt.date(2026, 1, 31))
    assert (sub.current_period_start, sub.current_period_end) == (dt.date(2026, 1, 31),
                                                                  dt.date(2026, 4, 30))
    assert sub.next_billing_date == dt.date(2026, 4, 30)


@pytest.mark.parametrize("quantity,message", [
    (0, "The quantity must be at least 1."), (11, "The quantity can be at most 10."),
    ("2", "The quantity must be a whole number."), (True, "The quantity must be a whole number."),
    (2.0, "The quantity must be a whole number."), (None, "The quantity must be a whole number."),
])
def test_subscribe_refuses_quantities_outside_the_limits(db, quantity, message):
    plan = service.create_plan(GOOD, "en_US")
    customer = factories.client()
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        service.subscribe(customer, plan, quantity=quantity)
    assert (refused.value.message, refused.value.field) == (message, "quantity")
    assert snapshot() == before


def test_a_quantity_within_the_limits_is_kept(db):
    plan = service.create_plan({**GOOD, "min_quantity": "2", "max_quantity": ""}, "en_US")
    assert service.check_quantity(plan, 2) == 2
    assert service.check_quantity(plan, 1_000_000) == 1_000_000  # no maximum
    with pytest.raises(DomainError, match="at least 2"):
        service.check_quantity(plan, 1)


def test_subscribe_refuses_archived_plans_and_other_currencies(db):
    plan = service.create_plan(GOOD, "en_US")
    with pytest.raises(DomainError) as refused:
        service.subscribe(factories.client(currency="EUR"), plan)
    assert (refused.value.message, refused.value.field) == (
        "The plan is priced in USD, the client is billed in EUR.", "plan")
    service.set_archived(plan, True)
    with pytest.raises(DomainError) as refused:
        service.subscribe(factories.client(), models.Plan.get_by_id(plan.id))
    assert (refused.value.message, refused.value.field) == (
        "That plan is no longer offered.", "plan")


def test_portal_init_adds_the_new_columns_to_an_existing_database(db):
    """A database from before plans had these columns is upgraded in place, rows kept."""
    from playhouse.migrate import SchemaMigrator, migrate
    customer = factories.client()
    plan = models.Plan.create(name="Old", price=100, currency="USD")
    models.Subscription.create(client=customer, plan=plan, started_at=dt.date(2026, 1, 1))
    factories.invoice(customer)
    migrator = SchemaMigrator.from_database(models.db.obj)
    migrate(*[migrator.drop_column("plan", name) for name in (
        "trial_days", "setup_fee", "min_quantity", "max_quantity", "cancellation",
        "plan_group", "archived_at", "created_at")],
        *[migrator.drop_column("subscription", name) for name in (
            "quantity", "unit_price", "trial_ends_on", "current_period_start",
            "current_period_end", "cancel_at_period_end", "ends_on")],
        migrator.drop_column("invoice", "subscription_id"))
    models.create_tables()
    plan, subscription = models.Plan.get(), models.Subscription.get()
    assert (plan.trial_days, plan.min_quantity, plan.max_quantity, plan.cancellation) == (
        0, 1, None, "at_period_end")
    assert (subscription.quantity, subscription.amount, subscription.display_status()) == (
        1, 100, "active")
    assert models.Invoice.get().subscription is None


def test_a_clients_subscriptions_list_live_ones_first_then_newest_with_their_plans(db):
    from tests.core_support import QueryCounter
    client, other = factories.client(), factories.client()
    plan = service.create_plan({**GOOD, "trial_days": "0"}, "en_US")
    started = {"ended": dt.date(2026, 1, 1), "active": dt.date(2026, 3, 1),
               "past_due": dt.date(2026, 2, 1), "suspended": dt.date(2026, 1, 15),
               "cancelled": dt.date(2026, 4, 1), "twin": dt.date(2026, 3, 1)}
    subs = {}
    for name, start in started.items():
        subs[name] = service.subscribe(client, plan, start=start)
        status = "active" if name == "twin" else name
        models.Subscription.update(status=status).where(
            models.Subscription.id == subs[name].id).execute()
    service.subscribe(other, plan, start=dt.date(2026, 5, 1))
    with QueryCounter() as counter:
        listed = list(service.for_client(client))
        names = [sub.plan.name for sub in listed]
    assert [sub.id for sub in listed] == [subs[n].id for n in (
        "twin", "active", "past_due", "suspended", "cancelled", "ended")]
    assert names == ["Pro"] * 6 and counter.count == 1  # the plans come with the list


def test_a_subscriptions_invoices_are_its_own_the_client_may_see_newest_first(db):
    client = factories.client()
    plan = service.create_plan({**GOOD, "trial_days": "0"}, "en_US")
    sub = service.subscribe(client, plan)
    elsewhere = service.subscribe(client, plan)
    day = dt.date(2026, 3, 1)
    older = factories.invoice(client, status="sent", date=day - dt.timedelta(days=30))
    first, second, third = (factories.invoice(client, status="paid", date=day)
                            for _ in range(3))
    draft = factories.invoice(client, status="draft", date=day)
    unrelated = factories.invoice(client, status="sent", date=day)
    for invoice in (older, first, second, third, draft):
        service.link_invoice(sub, invoice)
    service.link_invoice(elsewhere, unrelated)
    # The first re-dated and back after the others: PostgreSQL then stores it last, and
    # only the id keeps one day's invoices newest first.
    factories.moved(first, date=day + dt.timedelta(days=1))
    factories.moved(first, date=day)
    assert [i.id for i in service.invoices_of(sub, client)] == [
        third.id, second.id, first.id, older.id]
    assert list(service.invoices_of(sub, factories.client())) == []


def test_an_older_invoice_entered_later_lists_by_its_date(db):
    client = factories.client()
    sub = service.subscribe(client, service.create_plan({**GOOD, "trial_days": "0"}, "en_US"))
    newer = factories.invoice(client, status="sent", date=dt.date(2026, 3, 1))
    older = factories.invoice(client, status="sent", date=dt.date(2026, 1, 1))  # entered later
    for invoice in (newer, older):
        service.link_invoice(sub, invoice)
    assert [i.id for i in service.invoices_of(sub, client)] == [newer.id, older.id]


def test_creating_a_plan_logs_who_created_it(db):
    from tests.core_support import activities
    staff = factories.staff()
    plan = service.create_plan(GOOD, "en_US", staff=staff)
    assert activities("plan.created") == [(plan.id, None, None, staff.id, "")]
    assert models.Activity.get(models.Activity.action == "plan.created").subject_type == "plan"
