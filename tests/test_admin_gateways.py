"""Back office: a gateway form built from each gateway's declared settings."""
import json

import pytest

import gateways
import models
from billing import DomainError, FieldErrors, gateway_settings
from gateways.base import SettingField
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import login_staff, snapshot

PATH = "/admin/gateways"
SECRET = "sk_test_51Hx9QeLsEcReTvAlUe4242"
HOOK = "whsec_9f8e7d6c5b4a3210fedcba4321"
STRIPE = {"setting_publishable_key": "pk_test_abc123", "setting_secret_key": SECRET,
          "setting_webhook_secret": HOOK}


@pytest.fixture
def staff_http(client, conn):
    factories.staff(email="boss@test.example")
    login_staff(client, "boss@test.example")
    return client


def post(http, path=PATH, **fields):
    data = {"csrf_token": csrf_token(http, PATH), "label": "", "token_mode": "optin",
            "is_enabled": "1", "position": "0", **fields}
    return http.post(path, data=data)


def test_every_gateway_declares_its_settings_and_the_form_shows_them(staff_http):
    for kind, cls in gateways.REGISTRY.items():
        assert all(isinstance(f, SettingField) for f in cls.settings_fields)
        html = staff_http.get(f"{PATH}?kind={kind}").get_data(as_text=True)
        for f in cls.settings_fields:
            assert f'name="setting_{f.name}"' in html and f.label in html
        assert "<textarea name=\"settings\"" not in html
    stripe = staff_http.get(f"{PATH}?kind=stripe").get_data(as_text=True)
    assert "Publishable key" in stripe and "Webhook signing secret" in stripe
    assert 'type="password"' in stripe and 'name="token_mode"' in stripe
    manual = staff_http.get(f"{PATH}?kind=manual").get_data(as_text=True)
    assert "Payment instructions" in manual and 'type="password"' not in manual
    # A gateway that cannot save cards is not asked how it saves them (capabilities).
    assert '<select id="token_mode"' not in manual
    assert '<input type="hidden" name="token_mode" value="off">' in manual
    first = staff_http.get(PATH).get_data(as_text=True)
    assert 'name="kind"' in first and 'name="setting_' not in first


def test_kind_choice_by_htmx_gets_the_fragment(staff_http):
    response = staff_http.get(f"{PATH}?kind=stripe", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and 'id="gateway-form"' in html
    assert "HX-Request" in response.headers["Vary"]


def test_save_stripe_then_secrets_show_masked_and_never_in_full(staff_http):
    response = post(staff_http, kind="stripe", label="Card", **STRIPE)
    assert response.status_code == 303
    config = models.GatewayConfig.get()
    assert json.loads(config.settings) == {"publishable_key": "pk_test_abc123",
                                           "secret_key": SECRET, "webhook_secret": HOOK}
    bodies = [staff_http.get(PATH), staff_http.get(f"{PATH}/{config.id}"),
              staff_http.get(f"{PATH}/{config.id}", headers={"HX-Request": "true"}),
              post(staff_http, f"{PATH}/{config.id}", kind="stripe",
                   setting_publishable_key="bad")]
    for body in bodies:
        html = body.get_data(as_text=True)
        assert SECRET not in html and HOOK not in html
        assert SECRET[9:-4] not in html
    edit = bodies[1].get_data(as_text=True)
    assert "sk_test_…4242" in edit and "whsec_…4321" in edit
    assert 'value="pk_test_abc123"' in edit  # a publishable key is public


def test_blank_secret_on_edit_keeps_the_stored_value(staff_http):
    post(staff_http, kind="stripe", **STRIPE)
    config = models.GatewayConfig.get()
    response = post(staff_http, f"{PATH}/{config.id}", kind="stripe", label="Cards",
                    setting_publishable_key="pk_live_new", setting_secret_key="",
                    setting_webhook_secret="", token_mode="off")
    assert response.status_code == 303
    config = models.GatewayConfig.get()
    settings = json.loads(config.settings)
    assert settings == {"publishable_key": "pk_live_new", "secret_key": SECRET,
                        "webhook_secret": HOOK}
    assert (config.label, config.token_mode) == ("Cards", "off")
    # A new secret typed on edit replaces the stored one.
    post(staff_http, f"{PATH}/{config.id}", kind="stripe", setting_publishable_key="pk_live_new",
         setting_secret_key="sk_live_replacement9999")
    assert json.loads(models.GatewayConfig.get().settings)["secret_key"] == \
        "sk_live_replacement9999"


def test_settings_not_on_the_form_survive_an_edit(staff_http):
    config = models.GatewayConfig.create(kind="stripe", settings=json.dumps(
        {"publishable_key": "pk_test_a", "secret_key": SECRET, "timeout": 5}))
    assert post(staff_http, f"{PATH}/{config.id}", kind="stripe",
                setting_publishable_key="pk_test_a").status_code == 303
    assert json.loads(models.GatewayConfig.get().settings)["timeout"] == 5


@pytest.mark.parametrize("field, value, message", [
    ("setting_publishable_key", "", "Enter the publishable key."),
    ("setting_publishable_key", "sk_test_abc", "starts with “pk_test_” or “pk_live_”"),
    ("setting_secret_key", "", "Enter the secret key."),
    ("setting_secret_key", "pk_test_abc", "starts with “sk_test_”"),
    ("setting_webhook_secret", "wh_abc", "starts with “whsec_”"),
    ("setting_publishable_key", "pk_test_ abc", "has no spaces"),
    ("setting_secret_key", "sk_test_" + "x" * 300, "at most 255 characters"),
    ("setting_api_base", "localhost:12111", "address starting with https://"),
    ("setting_js_url", "javascript:alert(1)", "address starting with https://"),
])
def test_each_stripe_field_is_validated_on_save(staff_http, field, value, message):
    before = snapshot()
    response = post(staff_http, kind="stripe", **{**STRIPE, field: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert f'id="{field}-error"' in html and 'aria-invalid="true"' in html
    assert SECRET not in html and HOOK not in html  # not even what was just typed
    assert snapshot() == before


def test_manual_instructions_saved_and_length_checked(staff_http):
    before = snapshot()
    too_long = post(staff_http, kind="manual", setting_instructions="x" * 2001)
    assert too_long.status_code == 422 and "at most 2000" in too_long.get_data(True)
    assert snapshot() == before
    ok = post(staff_http, kind="manual", label="Bank transfer",
              setting_instructions="IBAN DE00 1234\nQuote the invoice number.")
    assert ok.status_code == 303
    config = models.GatewayConfig.get()
    assert gateways.for_config(config).instructions().startswith("IBAN DE00 1234")
    edit = staff_http.get(f"{PATH}/{config.id}").get_data(as_text=True)
    assert "IBAN DE00 1234" in edit  # instructions are not secret


@pytest.mark.parametrize("fields, field, message", [
    ({"kind": ""}, "kind", "Choose a gateway kind."),
    ({"kind": "paypal"}, "kind", "Choose a gateway kind."),
    ({"kind": "demo", "token_mode": "sometimes"}, "token_mode", "card saving"),
])
def test_bad_kind_or_mode_is_422(staff_http, fields, field, message):
    before = snapshot()
    response = post(staff_http, **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    if field == "kind":  # shown by the kind select, and tied to it
        assert 'id="kind-error"' in html and 'aria-describedby="kind-error"' in html
    assert snapshot() == before


def test_kind_of_an_existing_gateway_cannot_change(staff_http):
    post(staff_http, kind="manual")
    config = models.GatewayConfig.get()
    response = post(staff_http, f"{PATH}/{config.id}", kind="stripe", **STRIPE)
    assert response.status_code == 303  # the form's kind is the stored one, not the posted
    assert models.GatewayConfig.get().kind == "manual"
    with pytest.raises(DomainError, match="cannot change"):
        gateway_settings.save(config, kind="stripe", label="", settings={},
                              token_mode="off", is_enabled=False)


def test_service_reports_every_bad_field_at_once_and_keeps_json_callers_working(conn):
    with pytest.raises(FieldErrors) as caught:
        gateway_settings.save(None, kind="stripe", label="", token_mode="optin",
                              is_enabled=True, settings={"publishable_key": "x"})
    assert set(caught.value.errors) == {"setting_publishable_key", "setting_secret_key"}
    config = gateway_settings.save(None, kind="manual", label="", token_mode="off",
                                   is_enabled=True,
                                   settings_text='{"instructions": "Pay to IBAN X"}')
    assert json.loads(config.settings) == {"instructions": "Pay to IBAN X"}
    with pytest.raises(DomainError, match="JSON"):
        gateway_settings.save(None, kind="manual", label="", token_mode="off",
                              is_enabled=True, settings_text="{nope")


def test_production_refuses_demo_and_test_stripe_keys(conn):
    with pytest.raises(DomainError, match="production"):
        gateway_settings.save(None, kind="demo", label="", settings={}, token_mode="optin",
                              is_enabled=True, production=True)
    with pytest.raises(DomainError, match="live Stripe keys"):
        gateway_settings.save(None, kind="stripe", label="", token_mode="optin",
                              is_enabled=True, production=True,
                              settings={"publishable_key": "pk_live_a", "secret_key": SECRET})
    assert not models.GatewayConfig.select().exists()


def test_production_refusal_shows_on_the_form(app, staff_http):
    app.config["PORTAL_ENV"] = "production"
    try:
        response = post(staff_http, kind="demo")
    finally:
        app.config["PORTAL_ENV"] = "development"
    assert response.status_code == 422 and "cannot be enabled in production" in \
        response.get_data(as_text=True)
    assert not models.GatewayConfig.select().exists()


def test_masking_of_short_and_absent_secrets():
    field = SettingField("k", "Key", secret=True)
    assert field.masked("") == ""
    assert field.masked("sk_test_1234") == "•" * 8
    assert field.masked("whsec_abcdefghijklmnop") == "whsec_…mnop"
    assert field.masked("nounderscoresatallhere9") == "…ere9"
    assert SettingField("p", "Public").masked("pk_test_abc") == "pk_test_abc"


LIVE = "Use live Stripe keys in production."


@pytest.mark.parametrize("keys, production, errors", [
    ({"publishable_key": "pk_live_a", "secret_key": "sk_live_b"}, True, []),
    ({"publishable_key": "pk_live_a", "secret_key": "rk_live_b"}, True, []),
    ({"publishable_key": "pk_live_a", "secret_key": "sk_test_b"}, True, [LIVE]),
    ({"publishable_key": "pk_live_a", "secret_key": "rk_test_b"}, True, [LIVE]),
    ({"publishable_key": "pk_test_a", "secret_key": "sk_live_b"}, True, [LIVE]),
    # both wrong: said once
    ({"publishable_key": "pk_test_a", "secret_key": "sk_test_b"}, True, [LIVE]),
    # test keys are what development is for
    ({"publishable_key": "pk_test_a", "secret_key": "sk_test_b"}, False, []),
    ({"publishable_key": "pk_test_a", "secret_key": "rk_test_b"}, False, []),
    ({}, True, []),  # missing keys are the form's own "required" message
])
def test_stripe_takes_only_live_keys_in_production(keys, production, errors):
    stripe = gateways.REGISTRY["stripe"](models.GatewayConfig(kind="stripe", settings="{}"))
    assert stripe.validate_settings(keys, production=production) == errors
