"""Saved cards and bank accounts: store what a gateway returned, remove, choose a default.

Whoever acts is passed in (contact or staff): when staff open the portal as a contact, the
record says staff added the card, not the contact.
"""
import dataclasses

import models
from billing import DomainError, gateway_settings, transaction
from gateways.base import SavedMethod
from i18n import gettext as _


def usable(client_id, public_id):
    """A live saved method of this client whose gateway can still charge it, or None."""
    token = models.GatewayToken.for_client(client_id).where(
        models.GatewayToken.public_id == str(public_id)[:24]).first()
    if token is None:
        return None, None
    gateway = gateway_settings.get(token.gateway_id)
    if gateway is None or not gateway.capabilities.token_billing:
        return None, None
    return token, gateway


def chargeable(client_id, enabled):
    """The client's saved methods that one of the `enabled` gateways can still charge,
    the default first, then the newest."""
    usable_ids = {g.config.id for g in enabled if g.capabilities.token_billing}
    T = models.GatewayToken
    return [t for t in T.for_client(client_id).order_by(T.is_default.desc(), T.id.desc())
            if t.gateway_id in usable_ids]


def save_choice(gateway):
    """How the save-card checkbox shows, from the business's token mode for this gateway."""
    if not gateway.capabilities.token_billing:
        return "off"
    return gateway.config.token_mode if gateway.config.token_mode in (
        "always", "optin", "optout", "off") else "optin"


def wants_save(gateway, ticked):
    """Whether a card captured for a payment is kept: always, or as the person ticked."""
    mode = save_choice(gateway)
    return mode == "always" or (mode in ("optin", "optout") and ticked)


@dataclasses.dataclass(frozen=True)
class CardEntry:
    """What a card-capture page posted: the setup the gateway's own page confirmed (capture
    in the browser), or a test card typed into ours (a gateway without browser capture)."""
    setup_intent: str = ""
    number: str = ""
    exp_month: str = ""
    exp_year: str = ""
    cvc: str = ""


def start_capture(client, gateway):
    """What the card-capture page hands the gateway's script: {setup_id, client_secret}
    for a gateway that captures in the browser, else nothing. GatewayError when it fails."""
    if not gateway.capabilities.client_side_capture:
        return {}
    setup_id, client_secret = gateway.start_setup(customer_for(client, gateway))
    return {"setup_id": setup_id, "client_secret": client_secret}


def captured(client, gateway, entry, customer=None):
    """The method the gateway's capture returned (a SavedMethod, not stored yet); raises
    PaymentDeclined / GatewayError. customer: makes the gateway's customer it belongs to,
    when that is not the client's (someone buying a subscription has no client yet)."""
    if gateway.capabilities.client_side_capture:
        owner = customer() if customer else customer_for(client, gateway)
        return gateway.finish_setup(entry.setup_intent[:100], owner)
    return gateway.tokenize(entry.number[:25], entry.exp_month[:2], entry.exp_year[:4],
                            entry.cvc[:4])


def as_saved(token):
    return SavedMethod(token=token.token, customer_reference=token.customer_reference,
                       method_type=token.method_type, brand=token.brand, last4=token.last4,
                       exp_month=token.exp_month, exp_year=token.exp_year)


def customer_for(client, gateway):
    """The gateway's customer for this client: created once, then reused."""
    GC = models.GatewayCustomer
    known = GC.get_or_none((GC.client == client.id) & (GC.gateway == gateway.config.id))
    if known:
        return known.reference
    create = getattr(gateway, "create_customer", None)
    if create is None:
        return gateway.kind
    contact = client.contacts.where(models.Contact.is_primary == True).first()  # noqa: E712
    reference = create(client.name, client.email or (contact.email if contact else ""),
                       client.public_id)
    # Two first visits at once may both create one at the gateway; one row wins here and
    # the other customer is simply never used.
    GC.insert(client=client.id, gateway=gateway.config.id, reference=reference) \
        .on_conflict_ignore().execute()
    return GC.get((GC.client == client.id) & (GC.gateway == gateway.config.id)).reference


def check_staff_consent(staff, consent):
    """Staff acting as a contact may store a card only with the client's consent, which they
    confirm; a contact storing their own card needs no such step."""
    if staff is not None and not consent:
        raise DomainError(_("Confirm that the client has given their consent before you add a "
                            "card for them."), "consent")


def store(client_id, gateway_id, saved, *, contact=None, staff=None, staff_consent=False):
    """Keep a method the gateway tokenised; call inside or outside a transaction."""
    check_staff_consent(staff, staff_consent)
    if isinstance(saved, dict):
        saved = SavedMethod(**saved)
    T = models.GatewayToken
    with transaction():
        existing = T.for_client(client_id).where(T.token == saved.token).first()
        if existing:
            return existing
        first = not T.for_client(client_id).exists()
        token = T.create(
            client=client_id, gateway=gateway_id, token=saved.token,
            customer_reference=saved.customer_reference or "", method_type=saved.method_type,
            brand=saved.brand[:32], last4=saved.last4[:4], exp_month=saved.exp_month,
            exp_year=saved.exp_year, is_default=first,
            created_by_contact=contact, created_by_staff=staff)
        models.Activity.log("payment_method.added", token, client=client_id, contact=contact,
                            staff=staff, detail=f"{token.brand} {token.last4}")
    return token


def remove(token, *, contact=None, staff=None):
    """Detach at the gateway first (so it can never be charged again), then forget it."""
    import gateways
    gateway = gateways.for_config(token.gateway)
    if gateway is not None:
        gateway.detach(token.token)  # GatewayError propagates: nothing was removed
    forget(token, contact=contact, staff=staff)


def forget(token, *, contact=None, staff=None):
    T = models.GatewayToken
    with transaction():
        changed = T.update(deleted_at=models.utcnow(), is_default=False).where(
            (T.id == token.id) & T.deleted_at.is_null()).execute()
        if not changed:
            return False
        if token.is_default:
            newest = T.for_client(token.client_id).order_by(T.id.desc()).first()
            if newest:
                T.update(is_default=True).where(T.id == newest.id).execute()
        models.Activity.log("payment_method.removed", token, client=token.client_id,
                            contact=contact, staff=staff, detail=f"{token.brand} {token.last4}")
    return True


def make_default(token, *, contact=None, staff=None):
    T = models.GatewayToken
    with transaction():
        if token.deleted_at is not None:
            raise DomainError(_("That payment method was removed."))
        T.update(is_default=False).where(T.client == token.client_id).execute()
        T.update(is_default=True).where(T.id == token.id).execute()
        models.Activity.log("payment_method.default", token, client=token.client_id,
                            contact=contact, staff=staff)
