"""Gateway configuration as a service (billing.gateway_settings), rule by rule: which
gateways the portal offers and in what order, how stored settings are read and shown, and
what saving takes, keeps and refuses word for word. tests/test_admin_gateways.py goes
through the back-office form."""
import json

import pytest

import models
from billing import DomainError, FieldErrors, gateway_settings
from tests import factories
from tests.core_support import activities

SECRET = "sk_test_" + "s" * 24


def refusal(**kwargs):
    with pytest.raises(DomainError) as refused:
        save(**kwargs)
    return refused.value.message, refused.value.field


def save(config=None, **fields):
    return gateway_settings.save(config, **{"kind": "manual", "label": "Bank",
                                            "settings": {}, "token_mode": "off",
                                            "is_enabled": True, **fields})


def config(kind="manual", position=0, enabled=True, settings="{}"):
    return models.GatewayConfig.create(kind=kind, label=kind, position=position,
                                       is_enabled=enabled, settings=settings)


def test_the_portal_offers_enabled_gateways_in_the_businesss_order(db):
    second = config("manual", position=2)
    first = config("demo", position=1)
    config("manual", position=0, enabled=False)
    same_place = config("manual", position=2)
    config("no-such-kind", position=0)
    assert [g.config.id for g in gateway_settings.enabled()] == [first.id, second.id,
                                                                 same_place.id]
    assert [g.config.id for g in gateway_settings.with_token_billing()] == [first.id]


def test_a_gateway_is_got_only_while_it_is_enabled_and_known(db):
    on, off = config("demo"), config("demo", enabled=False)
    assert gateway_settings.get(on.id).config.id == on.id
    assert gateway_settings.get(off.id) is None
    assert gateway_settings.get(10 ** 9) is None
    assert gateway_settings.get(config("no-such-kind").id) is None


@pytest.mark.parametrize("settings, read", [
    ('{"a": "1"}', {"a": "1"}), ("", {}), ("not json", {}), ("[1, 2]", {}), ('"text"', {})])
def test_stored_settings_are_read_tolerantly(settings, read):
    assert gateway_settings.stored(models.GatewayConfig(settings=settings)) == read
    assert gateway_settings.stored(None) == {}


def test_the_form_shows_each_declared_setting_with_secrets_masked(db):
    stripe = config("stripe", settings=json.dumps({
        "publishable_key": "pk_test_abc", "secret_key": SECRET, "extra": "kept"}))
    assert gateway_settings.masked(stripe) == {
        "publishable_key": "pk_test_abc", "secret_key": "sk_test_…ssss", "webhook_secret": "",
        "api_base": "", "js_url": ""}
    assert gateway_settings.masked(config("no-such-kind")) == {}
    assert gateway_settings.masked(None) == {}
    assert gateway_settings.field_name(type("S", (), {"name": "secret_key"})) == (
        "setting_secret_key")


def test_a_saved_gateway_keeps_what_was_typed_and_is_logged(db):
    saved = save(label="  " + "L" * 120, settings={"instructions": "  Pay to IBAN X  "},
                 token_mode="off", position=3)
    kept = models.GatewayConfig.get_by_id(saved.id)
    assert (kept.kind, kept.label, json.loads(kept.settings), kept.token_mode,
            kept.is_enabled, kept.position) == (
        "manual", ("  " + "L" * 120)[:100], {"instructions": "Pay to IBAN X"}, "off", True, 3)
    assert activities("gateway.saved") == [(saved.id, None, None, None, "manual")]


def test_a_gateway_saved_by_staff_names_them_and_comes_first_unless_placed(db):
    staff = factories.staff()
    saved = save(staff=staff)
    assert models.GatewayConfig.get_by_id(saved.id).position == 0
    assert activities("gateway.saved") == [(saved.id, None, None, staff.id, "manual")]


def test_an_edit_keeps_a_secret_left_blank_and_settings_the_form_does_not_show(db):
    first = save(kind="stripe", token_mode="optin", settings={
        "publishable_key": "pk_test_a", "secret_key": SECRET, "timeout": 3})
    edited = save(models.GatewayConfig.get_by_id(first.id), kind="stripe", token_mode="always",
                  settings={"publishable_key": "pk_test_b", "secret_key": " ",
                            "webhook_secret": "whsec_new", "api_base": ""})
    assert json.loads(edited.settings) == {
        "publishable_key": "pk_test_b", "secret_key": SECRET, "webhook_secret": "whsec_new",
        "timeout": 3}
    assert edited.token_mode == "always"


def test_a_setting_cleared_on_the_form_is_dropped(db):
    first = save(settings={"instructions": "Pay to IBAN X"})
    edited = save(models.GatewayConfig.get_by_id(first.id), settings={"instructions": ""})
    assert json.loads(edited.settings) == {}


def test_every_bad_setting_is_named_at_once_under_its_form_field(db):
    with pytest.raises(FieldErrors) as refused:
        save(kind="stripe", token_mode="optin", settings={
            "publishable_key": "pk_wrong", "api_base": "ftp://x", "webhook_secret": "whsec_ a"})
    assert refused.value.errors == {
        "setting_publishable_key": "The publishable key starts with “pk_test_” or “pk_live_”.",
        "setting_secret_key": "Enter the secret key.",
        "setting_webhook_secret": "The webhook signing secret has no spaces.",
        "setting_api_base": "The API address (testing only) is an address starting with "
                            "https://."}
    assert models.GatewayConfig.select().count() == 0


@pytest.mark.parametrize("fields, expected", [
    ({"kind": "casino"}, ("Choose a gateway kind.", "kind")),
    ({"kind": ""}, ("Choose a gateway kind.", "kind")),
    ({"token_mode": "sometimes"}, ("Choose how card saving is offered.", "token_mode")),
    ({"settings": None, "settings_text": "{nope"},
     ('Settings must be JSON, for example {"secret_key": "sk_..."}.', "settings")),
    ({"settings": None, "settings_text": "[1]"},
     ("Settings must be a JSON object.", "settings")),
    ({"kind": "demo", "token_mode": "optin", "production": True},
     ("The demo gateway cannot be enabled in production.", "kind")),
    ({"kind": "stripe", "token_mode": "optin", "production": True,
      "settings": {"publishable_key": "pk_test_a", "secret_key": SECRET}},
     ("Use live Stripe keys in production.", "settings")),
])
def test_a_gateway_that_cannot_work_is_refused_word_for_word(db, fields, expected):
    assert refusal(**fields) == expected
    assert models.GatewayConfig.select().count() == 0


def test_a_gateways_kind_never_changes(db):
    first = save()
    assert refusal(config=models.GatewayConfig.get_by_id(first.id), kind="demo",
                   token_mode="optin") == (
        "A gateway's kind cannot change: add a new gateway instead.", "kind")


def test_json_settings_are_taken_as_the_form_would_be(db):
    saved = save(settings=None, settings_text='{"instructions": "Pay to IBAN X"}')
    assert json.loads(saved.settings) == {"instructions": "Pay to IBAN X"}
    assert json.loads(save(settings=None, settings_text="").settings) == {}


def test_a_gateway_switched_off_is_saved_without_the_production_checks(db):
    saved = save(kind="demo", token_mode="optin", is_enabled=False, production=True)
    assert models.GatewayConfig.get_by_id(saved.id).is_enabled is False
