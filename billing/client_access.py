"""One person, several clients: a contact (one login, one password) who also acts for other
clients than their own, and switches between them in the portal.

A contact's own client is Contact.client; each ClientAccess row adds one more. Staff grant
and remove access; the portal asks which clients a contact may act for. An archived client
is never one of them.
"""
from peewee import IntegrityError

import models
from billing import DomainError, transaction, validation


def acting_client(contact, client_id):
    """The live client `contact` may act for with this row id (not their own), or None when
    the access was removed or the client archived since: one query."""
    if not isinstance(client_id, int) or client_id == contact.home_client_id:
        return None
    C, A = models.Client, models.ClientAccess
    return (C.select().join(A, on=(A.client == C.id))
            .where((A.contact == contact.id) & (C.id == client_id) & C.archived_at.is_null())
            .first())


def clients_of(contact):
    """Every client the contact may act for, their own first, then the others by name."""
    home_id = contact.home_client_id
    C, A = models.Client, models.ClientAccess
    others = (A.select(A.client).where(A.contact == contact.id))
    found = list(C.select().where(((C.id == home_id) | C.id.in_(others))
                                  & C.archived_at.is_null()).order_by(C.name, C.id))
    return sorted(found, key=lambda client: client.id != home_id)


def find_for(contact, public_id):
    """The client with this public id when the contact may act for it (their own included),
    else None: somebody else's client is simply not found."""
    text = str(public_id or "").strip()
    return next((c for c in clients_of(contact) if c.public_id == text), None)


def with_access(client):
    """Contacts of other clients who may act for `client`, by name."""
    P, A, C = models.Contact, models.ClientAccess, models.Client
    return list(P.select(P, C).join(A, on=(A.contact == P.id)).switch(P)
                .join(C, on=(P.client == C.id)).where(A.client == client.id)
                .order_by(P.first_name, P.last_name, P.id))


def _recount(contact_id):
    accesses = models.ClientAccess.select().where(models.ClientAccess.contact == contact_id)
    models.Contact.update(other_clients=accesses.count()).where(
        models.Contact.id == contact_id).execute()


def grant(client, email, staff=None):
    """The contact whose login is `email` may act for `client` too. Refuses an unknown
    address, and one that is already a contact of (or has access to) this client."""
    address = validation.email_address(email, "email")
    contact = models.Contact.get_or_none(models.Contact.email == address)
    if contact is None:
        raise DomainError(f"No contact logs in with {address}: add them as a new contact "
                          "instead.", "email")
    if contact.client_id == client.id:
        raise DomainError(f"{address} is already a contact of this client.", "email")
    if client.archived_at is not None:
        raise DomainError("This client is archived: unarchive it first.", "email")
    try:
        with transaction():
            access = models.ClientAccess.create(contact=contact, client=client)
            _recount(contact.id)
            models.Activity.log("contact.access_granted", contact, client=client.id,
                                staff=staff, detail=address)
    except IntegrityError:
        raise DomainError(f"{address} already has access to this client.", "email") from None
    return access


def revoke(client, contact_id, staff=None):
    """The contact no longer acts for `client`; a session acting for it falls back to the
    contact's own client on its next request. Returns the contact, or None if they had no
    access."""
    with transaction():
        access = models.ClientAccess.get_or_none(
            (models.ClientAccess.client == client.id)
            & (models.ClientAccess.contact == contact_id))
        if access is None:
            return None
        access.delete_instance()
        _recount(contact_id)
        contact = models.Contact.get_by_id(contact_id)
        models.Activity.log("contact.access_removed", contact, client=client.id, staff=staff,
                            detail=contact.email)
    return contact
