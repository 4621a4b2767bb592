"""/api/v1/subscriptions: plans through the API, validated by billing.subscriptions."""
import pytest

import models
from billing import subscriptions as service
from tests import factories
from tests.core_support import opened, snapshot

NEW = {"name": "Pro", "price": "29.00", "currency": "USD"}


def test_crud(api, app):
    created = api.post("subscriptions", json={**NEW, "trial_days": 14, "setup_fee": "5.00",
                                              "max_quantity": 3, "plan_group": "main"})
    assert created.status_code == 201, created.json
    plan = created.json["data"]
    assert plan["price"] == "29.00" and plan["setup_fee"] == "5.00"
    assert (plan["frequency"], plan["cancellation"], plan["allow_plan_changes"]) == (
        "monthly", "at_period_end", True)
    assert (plan["trial_days"], plan["min_quantity"], plan["max_quantity"]) == (14, 1, 3)
    assert plan["is_active"] and plan["archived_at"] is None and plan["subscribers"] == 0
    shown = api.get(f"subscriptions/{plan['id']}")
    assert shown.status_code == 200 and shown.json["data"] == plan
    updated = api.patch(f"subscriptions/{plan['id']}", json={"price": "35.50",
                                                             "max_quantity": None,
                                                             "cancellation": "not_allowed"})
    assert updated.status_code == 200, updated.json
    data = updated.json["data"]
    assert (data["price"], data["max_quantity"], data["cancellation"], data["trial_days"]) == (
        "35.50", None, "not_allowed", 14)
    with opened(app):
        service.subscribe(factories.client(), models.Plan.get(), start=None)
    listed = api.get("subscriptions?per_page=1")
    assert listed.status_code == 200
    assert listed.json["meta"]["pagination"]["total"] == 1
    assert listed.json["data"][0]["subscribers"] == 1
    archived = api.delete(f"subscriptions/{plan['id']}")
    assert archived.status_code == 200
    assert archived.json["data"]["archived_at"] and not archived.json["data"]["is_active"]
    with opened(app):
        assert models.Plan.get().archived_at is not None and not models.Plan.get().is_active


@pytest.mark.parametrize("body,field", [
    ({"price": "29.00", "currency": "USD"}, "name"),
    ({**NEW, "name": ""}, "name"),
    ({**NEW, "price": 29}, "price"),
    ({**NEW, "price": "-1.00"}, "price"),
    ({**NEW, "price": "1.001"}, "price"),
    ({**NEW, "currency": "XYZ"}, "currency"),
    ({**NEW, "frequency": "hourly"}, "frequency"),
    ({**NEW, "trial_days": 1.5}, "trial_days"),
    ({**NEW, "trial_days": -1}, "trial_days"),
    ({**NEW, "min_quantity": 0}, "min_quantity"),
    ({**NEW, "min_quantity": 5, "max_quantity": 2}, "max_quantity"),
    ({**NEW, "cancellation": "later"}, "cancellation"),
    ({**NEW, "colour": "red"}, "colour"),
])
def test_bad_input_is_422_naming_the_field_and_changes_nothing(api, app, body, field):
    with opened(app):
        before = snapshot()
    response = api.post("subscriptions", json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json
    with opened(app):
        assert snapshot() == before


def test_every_refused_field_is_reported(api):
    response = api.post("subscriptions", json={**NEW, "currency": "XYZ", "min_quantity": 5,
                                               "max_quantity": 2})
    assert response.status_code == 422
    assert {"currency", "max_quantity"} <= set(response.json["errors"])


def test_update_refusal_changes_nothing_and_unknown_is_404(api, app):
    plan_id = api.post("subscriptions", json=NEW).json["data"]["id"]
    with opened(app):
        before = snapshot()
    response = api.put(f"subscriptions/{plan_id}", json={"price": "abc"})
    assert response.status_code == 422
    response = api.put(f"subscriptions/{plan_id}", json={"min_quantity": 9,
                                                        "max_quantity": 3})
    assert response.status_code == 422 and "max_quantity" in response.json["errors"]
    with opened(app):
        assert snapshot() == before
    assert api.get("subscriptions/nope").status_code == 404
    assert api.delete("subscriptions/nope").status_code == 404
