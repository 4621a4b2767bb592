"""Staff configure gateways: kind, settings (keys), how card saving is offered, on/off; and
the portal loads the usable ones (enabled(), get(), with_token_billing()).

Each gateway declares its settings (gateways.base.SettingField); what staff type is checked
against that declaration, never against the gateway's name. A secret left blank on an edit
keeps the stored value, so the form never needs to send a secret back to the browser.
"""
import json

import gateways
import models
from billing import DomainError, FieldErrors, gateway_books, transaction
from gateways.base import keep_charges_in, read_settings
from prepared import prepared

# A gateway with no service of its own (the demo) keeps its charges in our database,
# through books billing gives it: every gateway made from here on has them.
keep_charges_in(gateway_books.StoredCharges())


def enabled():
    """Usable gateways in the business's order."""
    C = models.GatewayConfig
    configs = prepared("gateways-enabled", lambda: (
        C.select().where(C.is_enabled == True)  # noqa: E712
        .order_by(C.position, C.id))).records(C)
    return [g for g in (gateways.for_config(c) for c in configs) if g is not None]


def get(config_id):
    """The usable gateway of that configuration, or None (unknown, disabled or refused)."""
    config = models.GatewayConfig.get_or_none(models.GatewayConfig.id == config_id)
    if config is None or not config.is_enabled:
        return None
    return gateways.for_config(config)


def with_token_billing():
    return [g for g in enabled() if g.capabilities.token_billing]


def field_name(setting):
    """The form field of a declared setting."""
    return f"setting_{setting.name}"


def stored(config):
    return read_settings(config.settings) if config else {}


def masked(config):
    """{setting name: what the form may show}: secrets as "sk_test_…4242", never in full."""
    cls = gateways.REGISTRY.get(config.kind) if config else None
    values = stored(config)
    return {f.name: f.masked(values.get(f.name, "")) for f in (cls.settings_fields if cls else ())}


def save(config, *, kind, label, settings=None, settings_text=None, token_mode, is_enabled,
         position=0, production=False, staff=None):
    """Create (config None) or update a GatewayConfig; DomainError on settings that can't work.

    settings: {name: typed text} for the kind's declared fields (the form), or settings_text:
    the same as a JSON object. A blank secret keeps the stored one; settings the kind does
    not declare (e.g. a test's "timeout") are kept as stored.
    """
    cls = gateways.REGISTRY.get(kind)
    if cls is None:
        raise DomainError("Choose a gateway kind.", "kind")
    if config is not None and config.kind != kind:
        raise DomainError("A gateway's kind cannot change: add a new gateway instead.", "kind")
    if token_mode not in models.GatewayConfig.TOKEN_MODES:
        raise DomainError("Choose how card saving is offered.", "token_mode")
    if settings is None:
        settings = _from_json(settings_text)
    previous = stored(config)
    declared = {f.name for f in cls.settings_fields}
    values = {key: value for key, value in {**previous, **settings}.items()
              if key not in declared}
    errors = {}
    for setting in cls.settings_fields:
        typed = settings.get(setting.name)
        typed = str(typed).strip() if typed is not None else ""
        if setting.secret and not typed:
            typed = previous.get(setting.name, "")
        message = setting.check(typed)
        if message:
            errors[field_name(setting)] = message
        elif typed:
            values[setting.name] = typed
    if errors:
        raise FieldErrors(errors)
    if is_enabled:
        if cls.refused_in_production and production:
            raise DomainError(f"The {kind} gateway cannot be enabled in production.", "kind")
        problems = cls.validate_settings(values, production=production)
        if problems:
            raise DomainError(" ".join(problems), "settings")
    with transaction():
        config = config or models.GatewayConfig()
        config.kind, config.label = kind, label[:100]
        config.settings = json.dumps(values)
        config.token_mode, config.is_enabled, config.position = token_mode, is_enabled, position
        config.save()
        models.Activity.log("gateway.saved", config, staff=staff, detail=kind)
    return config


def _from_json(text):
    try:
        settings = json.loads(text or "{}")
    except ValueError:
        raise DomainError("Settings must be JSON, for example {\"secret_key\": \"sk_...\"}.",
                          "settings") from None
    if not isinstance(settings, dict):
        raise DomainError("Settings must be a JSON object.", "settings")
    return settings
