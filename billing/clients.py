"""Clients and their contacts, as staff and integrations create and change them."""
import models
from billing import DomainError, transaction
from billing.accounts import validate_password

CLIENT_FIELDS = ("name", "number", "email", "address", "currency")
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "is_primary")


def _check_contact(data):
    email = (data.get("email") or "").strip().lower()
    if "@" not in email or len(email) > 254:
        raise DomainError("Each contact needs a valid e-mail address.", "contacts")
    return email


def _save_contact(client, data, contact=None):
    email = _check_contact(data)
    clash = models.Contact.get_or_none(models.Contact.email == email)
    if clash is not None and (contact is None or clash.id != contact.id):
        raise DomainError(f"{email} is already a contact's login.", "contacts")
    contact = contact or models.Contact(client=client)
    for key in CONTACT_FIELDS:
        if key in data:
            setattr(contact, key, data[key])
    contact.email = email
    if data.get("password"):
        validate_password(data["password"], data["password"])
        contact.set_password(data["password"])
    contact.save()
    return contact


def create_client(data, contacts=(), staff=None):
    if not (data.get("name") or "").strip():
        raise DomainError("A client needs a name.", "name")
    with transaction():
        client = models.Client.create(**{k: data[k] for k in CLIENT_FIELDS if k in data})
        for position, contact in enumerate(contacts):
            _save_contact(client, {"is_primary": position == 0, **contact})
        models.Activity.log("client.created", client, client=client.id, staff=staff)
    return client


def update_client(client, data, contacts=None, staff=None):
    """Change fields; contacts given with an id are updated, without one are added."""
    with transaction():
        for key in CLIENT_FIELDS:
            if key in data:
                if key == "currency" and data[key] != client.currency and (
                        client.invoices.count() or client.payments.count()):
                    raise DomainError("The currency of a client with invoices or payments "
                                      "cannot change.", "currency")
                setattr(client, key, data[key])
        if not client.name.strip():
            raise DomainError("A client needs a name.", "name")
        client.save()
        for contact_data in contacts or ():
            existing = None
            if contact_data.get("id"):
                existing = models.Contact.get_or_none(
                    (models.Contact.public_id == str(contact_data["id"])[:24])
                    & (models.Contact.client == client))
                if existing is None:
                    raise DomainError("A contact id does not belong to this client.",
                                      "contacts")
            _save_contact(client, contact_data, existing)
        models.Activity.log("client.updated", client, client=client.id, staff=staff)
    return client
