"""Quotes tab through the test client: list, filters, pages, quote page, approve, decline."""
import re

import models
import money
from billing import quotes as quote_service
from tests import factories, quotes_support
from tests.conftest import csrf_token, hx
from tests.core_support import QueryCounter, opened, pdf_text
from tests.quotes_support import png_data_url, quote

qworld = quotes_support.qworld  # the fixture, visible to pytest in this module


def html(response):
    return response.get_data(as_text=True)


def test_list_page_and_fragment_show_only_own_sent_quotes(client, auth, qworld):
    auth.login("a1@alpha.example")
    q = qworld["quotes"]
    page = client.get("/client/quotes")
    body = html(page)
    assert page.status_code == 200 and "<html" in body
    for status in ("sent", "expired", "declined", "converted"):
        assert q[status].number in body
    assert q["draft"].number not in body and qworld["other"].number not in body
    assert "Awaiting approval" in body and "Expired" in body and "Converted" in body
    fragment = hx(client, "/client/quotes")
    assert fragment.status_code == 200 and "<html" not in html(fragment)
    assert q["sent"].number in html(fragment)
    assert "HX-Request" in fragment.headers["Vary"]


def test_filters(client, auth, qworld):
    auth.login("a1@alpha.example")
    q = qworld["quotes"]
    expected = {"sent": "sent", "expired": "expired", "declined": "declined",
                "approved": "converted"}
    for status, key in expected.items():
        body = html(hx(client, f"/client/quotes?status={status}"))
        shown = {k for k, v in q.items() if v.number in body}
        assert shown == {key}, (status, shown)
    assert "Show all quotes" not in html(client.get("/client/quotes?status=bogus"))


def test_pagination_newest_first_and_empty_states(app, client, auth):
    with opened(app):
        c = factories.client()
        factories.contact(c, email="many@q.example")
        factories.contact(factories.client(), email="none@q.example")
        import datetime as dt
        today = models.utcnow().date()
        made = [quote(c, date=today - dt.timedelta(days=n)) for n in range(30)]
    auth.login("many@q.example")
    first = html(client.get("/client/quotes"))
    numbers = re.findall(r"QUO-\d+", first)
    assert numbers[0] == made[0].number  # newest date first
    assert "Page 1 of 2 · 30 in all" in first and made[29].number not in first
    second = html(hx(client, "/client/quotes?page=2"))
    assert made[29].number in second and made[0].number not in second
    assert len(set(re.findall(r"QUO-\d+", second))) == 5
    assert "No quotes declined" in html(client.get("/client/quotes?status=declined"))
    auth.logout()
    auth.login("none@q.example")
    assert "You have no quotes yet" in html(client.get("/client/quotes"))


def test_quote_page_pdf_and_404s(client, auth, qworld):
    auth.login("a1@alpha.example")
    q = qworld["quotes"]["sent"]
    page = client.get(f"/client/quotes/{q.public_id}")
    body = html(page)
    assert page.status_code == 200 and "Design" in body and "Approve this quote" in body
    assert "<html" not in html(hx(client, f"/client/quotes/{q.public_id}"))
    pdf = client.get(f"/client/quotes/{q.public_id}/pdf")
    assert pdf.status_code == 200
    words = pdf_text(pdf.data)
    for expected in (q.number, q.client.name, "Test Studio", "Design", money.format_money(
            q.total, q.currency)):
        assert expected in words, (expected, words)
    for public_id in (qworld["other"].public_id, qworld["quotes"]["draft"].public_id, "nope"):
        for suffix in ("", "/pdf"):
            assert client.get(f"/client/quotes/{public_id}{suffix}").status_code == 404
    # Finished quotes offer no approval.
    for status in ("expired", "declined", "converted"):
        other = qworld["quotes"][status]
        assert "Approve this quote" not in html(client.get(f"/client/quotes/{other.public_id}"))


def test_approve_lands_on_the_new_invoice(client, auth, qworld):
    auth.login("a2@alpha.example")
    q = qworld["quotes"]["sent"]
    path = f"/client/quotes/{q.public_id}"
    response = client.post(path + "/approve", data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 303
    invoice = models.Invoice.get(models.Invoice.id == models.Quote.get_by_id(q.id).invoice_id)
    # Straight to the payment screen for the new invoice.
    assert response.headers["Location"] == (
        f"/client/invoices/payment?invoices={invoice.public_id}")
    landing = client.get(response.headers["Location"])
    assert landing.status_code == 200 and invoice.number in html(landing)
    shown = html(client.get(path))
    assert "Converted" in shown and f"Invoice {invoice.number}" in shown
    again = client.post(path + "/approve", data={"csrf_token": csrf_token(client, path)})
    assert again.status_code == 422 and "already approved" in html(again)
    assert models.Invoice.select().where(models.Invoice.client == qworld["a"]).count() == 2


def test_approve_refusals_change_nothing(client, auth, qworld):
    auth.login("a1@alpha.example")
    token = csrf_token(client, "/client/quotes")
    for status, message in (("expired", "expired"), ("declined", "declined")):
        q = qworld["quotes"][status]
        response = client.post(f"/client/quotes/{q.public_id}/approve",
                               data={"csrf_token": token})
        assert response.status_code == 422 and message in html(response)
        assert models.Quote.get_by_id(q.id).status == q.status
    for q in (qworld["other"], qworld["quotes"]["draft"]):
        response = client.post(f"/client/quotes/{q.public_id}/approve",
                               data={"csrf_token": token})
        assert response.status_code == 404
        assert models.Quote.get_by_id(q.id).status == q.status
    no_csrf = client.post(f"/client/quotes/{qworld['quotes']['sent'].public_id}/approve")
    assert no_csrf.status_code == 400
    assert models.Quote.get_by_id(qworld["quotes"]["sent"].id).status == "sent"


def test_required_signature_through_the_form(app, client, auth, qworld):
    with opened(app):
        factories.company(quote_requires_signature=True, quote_requires_terms=True,
                          quote_terms="No refunds after work starts.")
    auth.login("a1@alpha.example")
    q = qworld["quotes"]["sent"]
    path = f"/client/quotes/{q.public_id}"
    page = html(client.get(path))
    assert "data-signature-pad" in page and "No refunds after work starts." in page
    token = csrf_token(client, path)
    missing = client.post(path + "/approve", data={"csrf_token": token, "accept_terms": "1"})
    assert missing.status_code == 422 and "Please sign in the box" in html(missing)
    no_terms = client.post(path + "/approve",
                           data={"csrf_token": token, "signature": png_data_url()})
    assert no_terms.status_code == 422 and "accept the terms" in html(no_terms)
    assert models.Quote.get_by_id(q.id).status == "sent"
    ok = client.post(path + "/approve", data={"csrf_token": token, "accept_terms": "1",
                                              "signature": png_data_url()})
    assert ok.status_code == 303
    shown = html(client.get(path))
    assert 'class="signature" src="data:image/png;base64,' in shown and "terms accepted" in shown
    pdf = client.get(path + "/pdf")
    # Words, not lines: where the PDF wraps depends on the contact's (generated) name.
    text = pdf_text(pdf.data)
    assert "Approved by Pat" in text and "terms accepted" in text and "APPROVED" in text


def test_decline_with_reason(client, auth, qworld):
    auth.login("a1@alpha.example")
    q = qworld["quotes"]["sent"]
    path = f"/client/quotes/{q.public_id}"
    response = client.post(path + "/decline", data={"csrf_token": csrf_token(client, path),
                                                    "reason": "We went another way"})
    assert response.status_code == 303
    shown = html(client.get(path))
    assert "Declined" in shown and "We went another way" in shown
    assert "Approve this quote" not in shown
    too_long = client.post(f"/client/quotes/{qworld['quotes']['expired'].public_id}/decline",
                           data={"csrf_token": csrf_token(client, path), "reason": "x" * 1500})
    assert too_long.status_code == 422 and "under 1000" in html(too_long)
    mail = models.EmailMessage.get(models.EmailMessage.subject.contains("declined"))
    assert mail.to == "billing@test.example"


def test_bulk_approve_selected(app, client, auth, qworld):
    with opened(app):
        second = quote(qworld["a"])
    auth.login("a1@alpha.example")
    first = qworld["quotes"]["sent"]
    listing = html(client.get("/client/quotes"))
    assert f'value="{first.public_id}"' in listing and "Approve selected" in listing
    assert f'value="{qworld["quotes"]["expired"].public_id}"' not in listing
    ids = [first.public_id, second.public_id]
    confirm = client.get("/client/quotes/approve", query_string={"id": ids})
    assert confirm.status_code == 200 and "Approve 2 quotes" in html(confirm)
    foreign = client.get("/client/quotes/approve",
                         query_string={"id": [first.public_id, qworld["other"].public_id]})
    assert foreign.status_code == 404
    response = client.post("/client/quotes/approve", data={
        "csrf_token": csrf_token(client, "/client/quotes"), "id": ids})
    assert response.status_code == 303
    assert all(models.Quote.get_by_id(q.id).status == "converted" for q in (first, second))
    made = [models.Quote.get_by_id(q.id).invoice for q in (first, second)]
    # One payment screen for both new invoices.
    location = response.headers["Location"]
    assert location.startswith("/client/invoices/payment?")
    assert sorted(re.findall(r"invoices=([\w-]+)", location)) == sorted(i.public_id for i in made)
    screen = html(client.get(response.headers["Location"]))
    assert all(i.number in screen for i in made)
    notices = models.EmailMessage.select().where(
        models.EmailMessage.subject == "2 quotes approved by Alpha Ltd")
    assert notices.count() == 1


def test_emailed_link_opens_the_quote(app, client):
    with opened(app):
        c = factories.client()
        factories.contact(c, email="link@q.example")
        q = quote(c, "draft")
        [message] = quote_service.email_quote(q, {"BASE_URL": "http://portal.test",
                                                  "OUTBOX_PATH": app.config["OUTBOX_PATH"]})
    link = re.search(r"http://portal.test(/client/quote/\S+)", message.body_text).group(1)
    response = client.get(link)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/client/quotes/{q.public_id}"
    assert "Approve this quote" in html(client.get(response.headers["Location"]))


def test_list_query_budget(app, client, auth, qworld):
    """The list costs the same few queries however many quotes a page shows."""
    with opened(app):
        for _ in range(30):
            quote(qworld["a"])
    auth.login("a1@alpha.example")
    with QueryCounter() as quotes_list:
        assert hx(client, "/client/quotes").status_code == 200
    with QueryCounter() as credits_list:
        assert hx(client, "/client/credits").status_code == 200
    # Session contact, company, count, page (+ credit totals on the credits tab).
    assert 0 < quotes_list.count <= 5, quotes_list.statements  # 0: nothing was counted
    assert credits_list.count <= 6, credits_list.statements


def test_no_bulk_button_without_an_approvable_quote(client, auth, qworld):
    auth.login("a1@alpha.example")
    assert "Approve selected" in html(client.get("/client/quotes"))
    assert "Approve selected" not in html(client.get("/client/quotes?status=declined"))
