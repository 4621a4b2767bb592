"""Payment gateways behind one interface (gateways.base.Gateway), chosen by capability."""
import os

import models
from gateways.base import (  # noqa: F401  (re-exported for callers)
    ChargeResult,
    Gateway,
    GatewayError,
    PaymentDeclined,
    SavedMethod,
    SettingField,
)


def _registry():
    from gateways.demo import DemoGateway
    from gateways.manual import ManualGateway
    from gateways.stripe_gateway import StripeGateway
    return {g.kind: g for g in (StripeGateway, ManualGateway, DemoGateway)}


REGISTRY = _registry()


def production():
    # As settings.load_config reads it: "Production" is production too.
    return (os.environ.get("PORTAL_ENV", "").strip().lower() == "production"
            or _app_production())


def _app_production():
    try:
        from flask import current_app
        return current_app.config.get("PORTAL_ENV") == "production"
    except RuntimeError:  # outside an app context (CLI, tests of pure services)
        return False


def for_config(config):
    """The gateway object for a GatewayConfig row, or None when it may not run here."""
    cls = REGISTRY.get(config.kind)
    if cls is None or (cls.refused_in_production and production()):
        return None
    return cls(config)


def enabled():
    """Usable gateways in the business's order."""
    configs = (models.GatewayConfig.select()
               .where(models.GatewayConfig.is_enabled == True)  # noqa: E712
               .order_by(models.GatewayConfig.position, models.GatewayConfig.id))
    return [g for g in (for_config(c) for c in configs) if g is not None]


def get(config_id):
    config = models.GatewayConfig.get_or_none(models.GatewayConfig.id == config_id)
    if config is None or not config.is_enabled:
        return None
    return for_config(config)


def with_token_billing():
    return [g for g in enabled() if g.capabilities.token_billing]
