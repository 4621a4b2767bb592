"""Lists build each row's link with record_url: the same URL url_for gives, for less."""
import pytest
from flask import url_for

from views.urls import record_url

ENDPOINTS = ["invoices.show", "payments.show", "quotes.show", "credits.show",
             "recurring.show", "subscriptions.show", "payment_methods.show",
             "documents.download"]


@pytest.mark.parametrize("root", ["", "/billing"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_record_url_is_url_for(app, endpoint, root):
    with app.test_request_context("/", base_url=f"http://portal.example{root}"):
        for public_id in ("Ab-_9xYz012345", "with space/and?query"):
            assert record_url(endpoint, public_id) == url_for(endpoint, public_id=public_id)
        assert record_url(endpoint, "one") != record_url(endpoint, "two")
