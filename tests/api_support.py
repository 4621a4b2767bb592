"""The api fixture (a staff token and a client that sends it) and a sample client payload."""
import re

import pytest

from portal import cli
from tests import factories
from tests.core_support import opened


@pytest.fixture(name="api")
def api_fixture(app, client, runner):
    """Imported by API test modules; named apart so the import does not shadow the argument."""
    with opened(app):
        factories.staff("integration@test.example")
    token = runner.invoke(cli, ["token", "create", "integration@test.example"]).output.strip()
    assert re.fullmatch(r"[\w-]{40,}", token)

    class Api:
        def __getattr__(self, method):
            def call(path, **kw):
                headers = {"X-API-TOKEN": token, **kw.pop("headers", {})}
                return getattr(client, method)(f"/api/v1/{path}", headers=headers, **kw)
            return call
    return Api()


NEW_CLIENT = {"name": "Initech", "currency": "EUR", "address": "1 Main St",
              "contacts": [{"first_name": "Bill", "email": "bill@initech.example"},
                           {"first_name": "Peter", "email": "peter@initech.example"}]}
