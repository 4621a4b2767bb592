from tests.conftest import hx
from tests.core_support import pdf_text


def test_login_and_invoices_page_and_fragment(client, auth, world):
    response = auth.login("a1@alpha.example")
    assert response.status_code == 302
    page = client.get("/client/invoices")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<html" in html and world["invoices"]["sent"].number in html
    assert world["invoices"]["draft"].number not in html
    assert world["other"].number not in html
    fragment = hx(client, "/client/invoices")
    assert fragment.status_code == 200
    assert "<html" not in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]


def test_invoice_pdf(client, auth, world):
    auth.login("a1@alpha.example")
    invoice = world["invoices"]["sent"]
    response = client.get(f"/client/invoices/{invoice.public_id}/pdf")
    assert response.status_code == 200
    text = pdf_text(response.data)
    for expected in (invoice.number, "Alpha Ltd", "Test Studio", "Work", "$100.00",
                     "Balance due"):
        assert expected in text, (expected, text)
    assert world["other"].number not in text
