"""Helpers and a fixture for the back office's client and contact tests
(tests/test_admin_clients.py and tests/test_admin_contacts.py); registered for every test
module through conftest's pytest_plugins. `office_staff` is a staff member (STAFF) logged in
on `client`, and returns the StaffUser; `send` posts a back-office form with this session's
CSRF token; `field_error` reads the message tied to a form field."""
import re

import pytest

from tests import factories
from tests.conftest import csrf_token
from tests.core_support import login_staff, opened

STAFF = "office@test.example"


@pytest.fixture
def office_staff(app, client):
    with opened(app):
        user = factories.staff(STAFF)
    login_staff(client, STAFF)
    return user


def send(client, path, data=None):
    """A back-office form POST with this session's CSRF token."""
    token = csrf_token(client, "/admin/clients")
    return client.post(path, data={"csrf_token": token, **(data or {})})


def html(response):
    return response.get_data(as_text=True)


def reload(record):
    return type(record).get_by_id(record.id)


def field_error(response, field):
    """The message shown next to a form field, checking it is tied to the input."""
    page = html(response)
    match = re.search(rf'id="f-{field}-error" role="alert">([^<]*)<', page)
    assert match, f"no error shown for {field}"
    tag = re.search(rf'<(?:input|textarea) id="f-{field}"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in tag and f"f-{field}-error" in tag
    return match.group(1)


CLIENT_FORM = {"name": "Initech", "number": "C-42", "email": "ap@initech.example",
               "address": "1 Main St\nSpringfield", "shipping_address": "Dock 4\nShelbyville",
               "vat_number": "DE123456789", "currency": "eur", "locale": "de-de"}

