"""Back-office lists page with plain links: their pages are whole pages, so an htmx swap of
one into the portal's #main target would show the navigation twice."""
import datetime as dt
import re

import models
from tests import factories
from tests.core_support import login_staff, opened


def test_back_office_pager_links_are_whole_page_links(app, client):
    with opened(app):
        for n in range(55):  # more than one page of 50
            factories.client(name=f"Pager client {n:02d}")
        factories.staff("pager@staff.example")
    login_staff(client, "pager@staff.example")
    page = client.get("/admin/clients").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)"([^>]*) rel="next">', page)
    assert link and "page=2" in link.group(1)
    assert "hx-get" not in link.group(2) and "hx-target" not in link.group(2)
    second = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "Page 2 of 2" in second and second.count('id="site-nav"') == 1


def test_portal_pager_links_still_swap_the_tab(app, client, auth):
    with opened(app):
        people = factories.two_clients()
        for n in range(app.config["PAGE_SIZE"] + 1):
            models.Payment.create(client=people["a"], number=f"PAY-{n:03d}", status="completed",
                                  date=dt.date(2026, 10, 1), currency="USD", amount=100)
    auth.login("a1@alpha.example")
    page = client.get("/client/payments").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)"([^>]*) rel="next">', page)
    assert link and 'hx-target="#main"' in link.group(2)
