"""Schemathesis over every operation of /api/v1/openapi.json, through WSGI (no network)."""
import re
import secrets

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

import models
from tests import factories
from tests.conftest import make_app
from tests.core_support import opened
from tests.quotes_support import credit, quote
from views.api import RESOURCES, load_resources
from views.api.openapi import document

load_resources()
# A token known before the app exists, so schemathesis can send it as the API's security
# scheme (and knows to leave it out when it checks that requests without it are refused).
TOKEN = secrets.token_urlsafe(32)
schema = schemathesis.openapi.from_dict(document(RESOURCES), config=SchemathesisConfig.from_dict({
    "base-url": "http://localhost",
    "auth": {"openapi": {"token": {"api_key": TOKEN}}},
    # Through WSGI nothing undoes Flask-Compress's brotli/zstd as an HTTP client would.
    "headers": {"Accept-Encoding": "identity"},
    "generation": {"max-examples": 10},
    "checks": {"positive_data_acceptance": {
        "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]}},
}))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    """One app and database for the whole run: a fresh one per operation costs more than
    the requests themselves, and what earlier operations created only adds variety."""
    app = make_app(tmp_path_factory.mktemp("schemathesis"))
    with opened(app):
        staff = factories.staff("fuzz@test.example")
        models.ApiToken.create(staff=staff, name="schemathesis",
                               token_hash=models.hash_token(TOKEN))
        customer = factories.client(name="Fuzz Ltd")
        factories.contact(customer, email="fuzz@client.example")
        fuzz_plan = models.Plan.create(name="Fuzz plan", price=1000, currency="USD",
                                       plan_group="fuzz", max_quantity=50)
        models.Plan.create(name="Fuzz plus", price=3000, currency="USD", plan_group="fuzz")
        records = {"clients": customer, "invoices": factories.invoice(customer, "draft"),
                   "quotes": quote(customer), "credits": credit(customer),
                   "subscriptions": fuzz_plan,
                   "client_subscriptions": models.Subscription.create(
                       client=customer, plan=fuzz_plan, started_at=models.utcnow().date())}
        for name, record in records.items():
            type(record).update(public_id=EXISTING[name]).where(
                type(record).id == record.id).execute()
    yield app
    if not models.db.is_closed():
        models.db.close()


# Ids of records the fixture creates, so generated requests reach the billing services too
# (not only "no such client"): about half the generated ids are swapped for these.
EXISTING = {"clients": "fuzz-client", "invoices": "fuzz-invoice", "quotes": "fuzz-quote",
            "credits": "fuzz-credit", "subscriptions": "fuzz-plan",
            "client_subscriptions": "fuzz-subscription"}
ID = re.compile(r"[A-Za-z0-9_-]{1,24}")


def _existing(value, resource):
    """A real id for a generated one, when that keeps the request as valid as it was."""
    if isinstance(value, str) and ID.fullmatch(value) and len(value) % 2 == 0:
        return EXISTING.get(resource, value)
    return value


def aim_at_existing_records(case):
    resource = case.operation.path.split("/")[3]
    if "id" in (case.path_parameters or {}):
        case.path_parameters["id"] = _existing(case.path_parameters["id"], resource)
    if isinstance(case.body, dict) and "client_id" in case.body:
        case.body["client_id"] = _existing(case.body["client_id"], "clients")
    if isinstance(case.body, dict) and isinstance(case.body.get("ids"), list):
        case.body["ids"] = [_existing(i, resource) for i in case.body["ids"]]


@schema.parametrize()
@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_every_operation(case, fuzz_app):
    # Checks that re-send a request (ignored_auth) use the schema's app, not this call's.
    case.operation.schema.app = fuzz_app
    aim_at_existing_records(case)
    case.call_and_validate(app=fuzz_app)
