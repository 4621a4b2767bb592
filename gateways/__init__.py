"""Payment gateways behind one interface (gateways.base.Gateway), chosen by capability.

Which gateways the business configured is stored by billing.gateway_settings (enabled(),
get()); this package only knows how to talk to each kind."""
import os

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
