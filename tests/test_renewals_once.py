"""Subscription renewals happen once: overlapping renewal ticks, two whole run-dues in one
process or in two processes (cron on two machines), the run-due command's report, and a
property test that any ticks, in any order, bill each period at most once with dates only
moving forward.

Siblings: tests/test_renewals.py (renewals that go through, trials, endings) and
tests/test_renewals_failed.py (failed charges, past due or suspended). Shared helpers are
tests/renewals_support.py."""
import datetime as dt
import os
import pathlib
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import models
import portal
from billing import renewals, scheduler
from billing.schedule import add_months
from tests import factories
from tests.core_support import opened, race
from tests.payments_support import demo_card, reload
from tests.renewals_support import (
    RENEWAL,
    START,
    customer,
    make_plan,
    renewal_invoices,
    subscribed,
    tick,
)

# -- several run-dues at once --------------------------------------------------------------

def test_overlapping_renewal_ticks_bill_and_charge_once(app, demo_gateway):
    with opened(app):
        client, _ = customer()
        demo_card(client, demo_gateway)
        subscription = subscribed(client)
    results = race(app, 4, lambda i: tick(RENEWAL))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(renewed["renewed"] for renewed, _ in results) == 1
    assert sum(charged.get("paid", 0) for _, charged in results) == 1
    with opened(app):
        assert len(renewal_invoices(subscription)) == 1
        assert models.Payment.select().where(
            models.Payment.method != "manual").count() == models.DemoCharge.select().count() == 1


def test_two_whole_run_due_ticks_at_once_renew_and_charge_once(app, demo_gateway):
    with opened(app):
        client, _ = customer()
        demo_card(client, demo_gateway)
        today = models.utcnow().date()  # the test company's zone is UTC
        subscription = subscribed(client, start=add_months(today, -1))
        assert subscription.next_billing_date == today
    results = race(app, 2, lambda i: scheduler.run_due(app))
    assert not [r for r in results if isinstance(r, Exception)], results
    for lines in results:
        assert not [line for line in lines if line.endswith(scheduler.FAILED)], lines
    assert sum("subscription renewals: 1 invoiced" in line
               for lines in results for line in lines) == 1
    with opened(app):
        (invoice,) = renewal_invoices(subscription)
        assert reload(invoice).status == "paid"
        assert models.DemoCharge.select().count() == 1


def test_run_due_command_reports_renewals(app, demo_gateway):
    with opened(app):
        client, _ = customer()
        demo_card(client, demo_gateway)
        today = models.utcnow().date()
        subscribed(client, start=add_months(today, -1))
    result = app.test_cli_runner().invoke(portal.cli, ["run-due"])
    assert result.exit_code == 0, result.output
    assert "subscription renewals: 1 invoiced (1 to charge, 0 without a saved method)" \
        in result.output
    assert "auto-bill: 1 paid" in result.output


def test_two_run_due_processes_at_once_renew_and_charge_once(app, demo_gateway, tmp_path):
    """Two `portal run-due` processes on one database, as cron on two machines: on
    PostgreSQL both run and the claim decides; on SQLite they take turns (single_run)."""
    with opened(app):
        client, _ = customer()
        demo_card(client, demo_gateway)
        subscription = subscribed(client, start=add_months(models.utcnow().date(), -1))
    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
           "PORTAL_DATABASE_URL": app.config["DATABASE_URL"],
           "PORTAL_BASE_URL": "http://portal.test", "PORTAL_SECRET_KEY": "test-secret"}
    env.pop("PORTAL_ENV", None)
    portal_command = str(pathlib.Path(sys.executable).with_name("portal"))
    runs = [subprocess.Popen([portal_command, "run-due"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0 and "FAILED" not in out, (out, err)
    assert "".join(out for out, _ in outputs).count("subscription renewals: 1 invoiced") == 1
    with opened(app):
        (invoice,) = renewal_invoices(subscription)
        assert reload(invoice).status == "paid"
        assert models.DemoCharge.select().count() == 1


# -- each period at most once, dates only forward, whatever the ticks ----------------------

@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frequency=st.sampled_from(["daily", "weekly", "monthly", "quarterly"]),
       trial=st.sampled_from([0, 3]),
       ticks=st.lists(st.integers(min_value=-5, max_value=200), min_size=1, max_size=8))
def test_any_ticks_bill_each_period_at_most_once(db, frequency, trial, ticks):
    client, _ = customer(email=f"buyer{next(factories._seq)}@acme.example")
    plan = make_plan(name=f"Plan {next(factories._seq)}", frequency=frequency,
                     trial_days=str(trial))
    subscription = subscribed(client, plan, first_invoice=False)
    dates = [subscription.next_billing_date]
    for offset in ticks:  # in any order: clocks of several machines need not agree
        renewals.renew_due({}, today=START + dt.timedelta(days=offset))
        dates.append(reload(subscription).next_billing_date)
    assert dates == sorted(dates)
    billed = []
    for invoice in models.Invoice.select().where(models.Invoice.subscription == subscription.id):
        (line,) = [li for li in invoice.ordered_lines() if li.product == plan.name]
        start, end = (dt.date.fromisoformat(part) for part in line.description.split(" to "))
        billed.append((start, end))
    billed.sort()
    assert len(billed) <= len(ticks)
    for (_, end), (start, _) in zip(billed, billed[1:], strict=False):
        assert end <= start  # periods never overlap: no day is billed twice
    if billed:
        assert reload(subscription).next_billing_date == billed[-1][1]
        assert billed[-1][0] <= START + dt.timedelta(days=max(ticks))
