"""Staff configure gateways: kind, settings (keys), how card saving is offered, on/off."""
import json

import gateways
import models
from billing import DomainError, transaction


def save(config, *, kind, label, settings_text, token_mode, is_enabled, position=0,
         production=False, staff=None):
    """Create (config None) or update a GatewayConfig; DomainError on settings that can't work."""
    cls = gateways.REGISTRY.get(kind)
    if cls is None:
        raise DomainError("Choose a gateway kind.", "kind")
    if token_mode not in models.GatewayConfig.TOKEN_MODES:
        raise DomainError("Choose how card saving is offered.", "token_mode")
    try:
        settings = json.loads(settings_text or "{}")
    except ValueError:
        raise DomainError("Settings must be JSON, for example {\"secret_key\": \"sk_...\"}.",
                          "settings") from None
    if not isinstance(settings, dict):
        raise DomainError("Settings must be a JSON object.", "settings")
    if is_enabled:
        if cls.refused_in_production and production:
            raise DomainError(f"The {kind} gateway cannot be enabled in production.", "kind")
        errors = cls(models.GatewayConfig(kind=kind, settings=json.dumps(settings))) \
            .validate_settings(settings, production=production)
        if errors:
            raise DomainError(" ".join(errors), "settings")
    with transaction():
        config = config or models.GatewayConfig()
        config.kind, config.label = kind, label[:100]
        config.settings = json.dumps(settings)
        config.token_mode, config.is_enabled, config.position = token_mode, is_enabled, position
        config.save()
        models.Activity.log("gateway.saved", config, staff=staff, detail=kind)
    return config
