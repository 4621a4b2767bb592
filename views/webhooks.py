"""Gateway webhooks: /webhooks/<gateway>. CSRF-exempt; the signature is the authentication."""
import json

from flask import Blueprint, current_app

import gateways
import models
from billing import reconcile
from extensions import csrf

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)


@bp.post("/stripe")
def stripe():
    from flask import request
    payload = request.get_data(cache=False)
    if len(payload) > 1_000_000:
        return {"message": "Too large."}, 413
    signature = request.headers.get("Stripe-Signature", "")
    configs = models.GatewayConfig.select().where(models.GatewayConfig.kind == "stripe")
    for config in configs:
        gateway = gateways.for_config(config)
        if gateway is not None and gateway.verify_event(payload, signature) is not None:
            event = json.loads(payload)
            result = reconcile.stripe_event(config.id, event)
            current_app.logger.info("stripe webhook %s %s: %s", event.get("type"),
                                    event.get("id"), result)
            return {"received": True, "result": result}
    return {"message": "Signature verification failed."}, 400
