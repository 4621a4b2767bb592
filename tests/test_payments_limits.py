"""Card-testing protection: the pay and add-card endpoints are rate limited per client IP."""
import models
from portal import create_app
from tests import factories
from tests.conftest import Auth, csrf_token


def test_pay_endpoint_is_rate_limited(tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/limits.db",
                      "SECRET_KEY": "x", "RATELIMIT_ENABLED": True})
    with app.app_context():
        models.db.connect(reuse_if_open=True)
        models.create_tables()
        factories.company()
        factories.contact(factories.client(), email="limit@test.example")
        models.db.close()
    client = app.test_client()
    Auth(client).login("limit@test.example")
    token = csrf_token(client, "/client/invoices")
    codes = [client.post("/client/invoices/payment", data={"csrf_token": token}).status_code
             for _ in range(31)]
    assert codes[:30] == [422] * 30 and codes[30] == 429
