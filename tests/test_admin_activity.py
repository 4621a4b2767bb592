"""Back office: the activity log page (issue 10, item 6)."""
import datetime as dt
import re

import pytest

import models
from tests import factories
from tests.clients_support import STAFF
from tests.conftest import Auth, csrf_token
from tests.core_support import login_staff, opened


@pytest.fixture
def staff(office_staff):
    """A StaffUser logged in on `client` (tests/clients_support.py)."""
    return office_staff


def html(response):
    return response.get_data(as_text=True)


def rows(page):
    """The table rows of the activity list, as text."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.sub(r"<[^>]+>", " ", row) for row in body.split("<tr>")[1:]]


def test_the_four_kinds_of_actor_are_told_apart(app, client, world, staff, api):
    # A contact logs in from their own address.
    contact_browser = app.test_client()
    contact_browser.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    Auth(contact_browser).login("a1@alpha.example")
    # Staff change the client in the back office.
    token = csrf_token(client, "/admin/clients")
    client.post(f"/admin/clients/{world['a'].id}/edit", data={
        "csrf_token": token, "name": "Alpha Ltd", "currency": "USD", "vat_number": "GB1"})
    # Staff open the portal as a2 and set a2's saved card as default.
    with opened(app):
        gateway = models.GatewayConfig.create(kind="demo", label="Demo")
        card = models.GatewayToken.create(client=world["a"], gateway=gateway, token="tok_x",
                                          brand="visa", last4="4242")
    client.post(f"/admin/contacts/{world['a2'].id}/impersonate", data={"csrf_token": token})
    client.post(f"/client/payment_methods/{card.public_id}/default",
                data={"csrf_token": csrf_token(client, "/client/payment_methods")})
    client.post("/admin/impersonate/stop",
                data={"csrf_token": csrf_token(client, "/client/payment_methods")})
    # An integration creates a client over the API.
    assert api.post("clients", json={"name": "Via API Inc"}).status_code == 201
    with opened(app):
        A = models.Activity
        kinds = {a.action: (a.actor, a.staff_id, a.contact_id, a.as_contact_id, a.ip)
                 for a in A.select()}
        integration = models.StaffUser.get(models.StaffUser.email == "integration@test.example")
    assert kinds["contact.login"] == ("contact", None, world["a1"].id, None, "203.0.113.7")
    assert kinds["client.updated"][:2] == ("staff", staff.id)
    assert kinds["payment_method.default"][:4] == ("staff_as_contact", staff.id, None,
                                                   world["a2"].id)
    assert kinds["client.created"][:2] == ("api", integration.id)
    page = html(client.get("/admin/activity"))
    listed = rows(page)
    assert any("Contact" in r and "contact.login" in r and "203.0.113.7" in r for r in listed)
    assert any("Staff" in r and "client.updated" in r and STAFF in r for r in listed)
    assert any("Staff as contact" in r and f"{STAFF} as Pat" in r
               and "Card Visa •••• 4242" in r for r in listed)
    assert any("API" in r and "client.created" in r and "Via API Inc" in r for r in listed)
    # Newest first: the API's client came last.
    assert "client.created" in listed[0]


def test_filter_by_client_and_by_record(app, client, world, staff):
    sent, other = world["invoices"]["sent"], world["other"]
    page = html(client.get(f"/admin/activity?client={world['b'].id}"))
    assert other.number in page and sent.number not in page
    page = html(client.get(f"/admin/activity?subject_type=invoice&subject_id={sent.id}"))
    listed = rows(page)
    assert listed and all(f"Invoice {sent.number}" in r for r in listed)
    assert "Clear filters" in page
    # The record link in a row is that filter.
    assert f"subject_type=invoice&amp;subject_id={sent.id}" in page
    assert "No activity matches" in html(client.get(
        "/admin/activity?subject_type=invoice&subject_id=999999"))


@pytest.mark.parametrize("query", ["client=abc", "client=99999999999999999999999",
                                   "subject_type=<script>&subject_id=1", "subject_id=-4",
                                   "page=zz", "page=99999"])
def test_odd_filters_are_ignored_not_errors(client, world, staff, query):
    response = client.get(f"/admin/activity?{query}")
    assert response.status_code == 200 and "<script>" not in html(response)


def test_pages_newest_first_in_the_company_time_zone(app, client, staff):
    with opened(app):
        factories.company(timezone="Europe/Berlin")
        start = dt.datetime(2026, 1, 15, 9, 30)
        for n in range(60):
            models.Activity.create(action=f"test.step{n:02d}", actor="system",
                                   created_at=start + dt.timedelta(minutes=n))
    first = html(client.get("/admin/activity"))
    assert "Page 1 of" in first and "test.step59" in first and "test.step00" not in first
    assert "Times are in Europe/Berlin" in first
    # 10:29 UTC is 11:29 in Berlin in January. Only that row is read: the staff login
    # is listed too, at whatever time the test runs.
    newest = next(r for r in rows(first) if "test.step59" in r)
    assert re.search(r"\b11:29\b", newest) and not re.search(r"\b10:29\b", newest)
    second = html(client.get("/admin/activity?page=2"))
    assert "test.step00" in second and "test.step59" not in second
    assert [m for m in re.findall(r"test\.step(\d\d)", first)][:3] == ["59", "58", "57"]


def test_activity_is_staff_only_and_in_the_nav(client, world, auth, app):
    auth.login("a1@alpha.example")
    assert client.get("/admin/activity").status_code == 302
    with opened(app):
        factories.staff(STAFF)
    other = app.test_client()
    login_staff(other, STAFF)
    assert 'href="/admin/activity"' in html(other.get("/admin/clients"))
