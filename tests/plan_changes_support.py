"""The plan-change world (pworld): a company, two clients, plans of every kind, and client A
subscribed to Basic on START; with fresh() and change() to read and change it as a form would."""
import datetime as dt

import pytest
from flask import current_app

import models
from billing import plan_changes
from billing import subscriptions as service
from tests import factories

START = dt.date(2026, 11, 1)  # a monthly period: Nov 1 to Dec 1, 30 days
MID = dt.date(2026, 11, 16)  # 15 days left
NOON = dt.datetime(2026, 11, 16, 12, 0)


@pytest.fixture
def pworld(db):
    factories.company()
    people = factories.two_clients()
    plans = {"basic": factories.plan("Basic", 1000), "pro": factories.plan("Pro", 3000),
             "other": factories.plan("Other group", 5000, plan_group="other"),
             "ungrouped": factories.plan("Alone", 2000, plan_group=""),
             "old": factories.plan("Retired", 2500, archived_at=models.utcnow(), is_active=False),
             "euro": factories.plan("Euro", 2000, currency="EUR"),
             "yearly": factories.plan("Yearly", 10000, frequency="yearly"),
             "locked": factories.plan("Locked", 1000, plan_group="locked",
                                      allow_plan_changes=False, allow_pause=False)}
    sub = service.subscribe(people["a"], plans["basic"], start=START, contact=people["a1"])
    return {**people, **plans, "sub": sub}


def fresh(sub):
    return models.Subscription.get_by_id(sub.id)


def change(sub, new_plan, quantity, expected=None, **kw):
    kw.setdefault("today", MID)
    kw.setdefault("now", NOON)
    return plan_changes.change(fresh(sub), new_plan, quantity, expected_difference=expected,
                               config=current_app.config, **kw)
