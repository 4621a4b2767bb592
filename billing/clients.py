"""Clients and their contacts, as staff and integrations create and change them."""
from babel.numbers import is_currency

import models
from billing import DomainError, transaction, validation
from billing.accounts import validate_password

CLIENT_FIELDS = ("name", "number", "email", "address", "currency")
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "is_primary")
# (label, limit) of the one-line fields: they reach e-mail subjects and headers.
CLIENT_LINES = {"name": ("The client's name", 200), "number": ("The client number", 32)}
CONTACT_LINES = {"first_name": ("First name", 100), "last_name": ("Last name", 100),
                 "phone": ("Phone", 50)}


def clean_client(data):
    """The client fields in `data`, checked: one-line names, a real address, a currency."""
    clean = {}
    for key, (label, limit) in CLIENT_LINES.items():
        if key in data:
            clean[key] = validation.single_line(data[key], label, key, limit)
    if "email" in data:
        clean["email"] = validation.email_address(data["email"], "email") \
            if (data["email"] or "").strip() else ""
    if "address" in data:
        clean["address"] = validation.multi_line(data["address"], "The address", "address")
    if "currency" in data:
        currency = validation.single_line(data["currency"], "Currency", "currency", 3).upper()
        if not is_currency(currency):
            raise DomainError("Currency must be an ISO 4217 code such as USD.", "currency")
        clean["currency"] = currency
    return clean


def _check_contact(data):
    clean = {key: validation.single_line(data[key], label, "contacts", limit)
             for key, (label, limit) in CONTACT_LINES.items() if key in data}
    try:
        clean["email"] = validation.email_address(data.get("email"), "contacts")
    except DomainError as exc:
        raise DomainError(f"Each contact needs a valid e-mail address. {exc.message}",
                          "contacts") from None
    return clean


def _save_contact(client, data, contact=None):
    clean = _check_contact(data)
    email = clean["email"]
    clash = models.Contact.get_or_none(models.Contact.email == email)
    if clash is not None and (contact is None or clash.id != contact.id):
        raise DomainError(f"{email} is already a contact's login.", "contacts")
    contact = contact or models.Contact(client=client)
    for key in CONTACT_FIELDS:
        if key in data:
            setattr(contact, key, clean.get(key, data[key]))
    if data.get("password"):
        validate_password(data["password"], data["password"])
        contact.set_password(data["password"])
    contact.save()
    return contact


def create_client(data, contacts=(), staff=None):
    fields = clean_client(data)
    if not fields.get("name"):
        raise DomainError("A client needs a name.", "name")
    with transaction():
        client = models.Client.create(**fields)
        for position, contact in enumerate(contacts):
            _save_contact(client, {"is_primary": position == 0, **contact})
        models.Activity.log("client.created", client, client=client.id, staff=staff)
    return client


def update_client(client, data, contacts=None, staff=None):
    """Change fields; contacts given with an id are updated, without one are added."""
    fields = clean_client(data)
    with transaction():
        for key, value in fields.items():
            if key == "currency" and value != client.currency and (
                    client.invoices.count() or client.payments.count()):
                raise DomainError("The currency of a client with invoices or payments "
                                  "cannot change.", "currency")
            setattr(client, key, value)
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
