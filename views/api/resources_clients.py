"""/api/v1/clients, with nested contacts."""
from babel.numbers import is_currency

import models
from billing import client_access, clients
from views.api import ApiError, resource
from views.api.base import Resource
from views.api.fields import iso, money_out, text
from views.api.schemas import (
    DATETIME_OUT,
    EMAIL,
    ID,
    MONEY_OUT,
    body,
    line,
    query,
    record,
    string_out,
)
from views.api.schemas import text as text_schema

CONTACT = body({
    "id": {**ID, "description": "An existing contact's id: that contact is updated."},
    "first_name": line(200), "last_name": line(200), "email": EMAIL, "phone": line(200),
    "password": {"type": "string", "minLength": 1, "maxLength": 200,
                 "description": "Sets the contact's portal password."},
    "is_primary": {"type": "boolean", "description": "The client's main contact."},
    "is_active": {"type": "boolean", "description": "false deactivates the contact: they can "
                  "no longer log in and their sessions and e-mailed links end; true lets "
                  "them log in again (links sent before stay dead)."},
}, required=("email",))
FIELDS = {
    "name": line(200, "Client name (not blank).", min_length=1),
    "number": line(200, "Your reference for the client."),
    "email": {**EMAIL, "description": "The client's billing e-mail address."},
    "address": text_schema(2000, "Multi-line billing (postal) address."),
    "shipping_address": text_schema(2000, "Multi-line shipping address; blank when it is the "
                                          "billing address."),
    "vat_number": line(50, "The client's VAT or tax number, shown on its documents."),
    "locale": {"type": "string", "maxLength": 10,
               "pattern": "^([A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})?)?$",
               "description": "Language and region for the client's portal and documents, "
                              "such as en_US or de_DE; blank: the company's."},
    "currency": {"type": "string", "pattern": "^[A-Za-z]{3}$",
                 "description": "ISO 4217 currency code such as USD."},
    "contacts": {"type": "array", "maxItems": 50, "items": CONTACT,
                 "description": "Up to 50 contacts (portal logins); on update, contacts "
                                "with an id are changed and those without are added."},
}
CONTACT_OUT = record({"id": {"type": "string"}, "first_name": string_out(),
                      "last_name": string_out(), "email": string_out(), "phone": string_out(),
                      "is_primary": {"type": "boolean"},
                      "is_active": {"type": "boolean",
                                    "description": "False: deactivated, cannot log in."}})


def _contact_out(p):
    return {"id": p.public_id, "first_name": p.first_name, "last_name": p.last_name,
            "email": p.email, "phone": p.phone, "is_primary": p.is_primary,
            "is_active": p.is_active}


def _contacts(data):
    parsed = []
    for item in data.get("contacts", []):
        contact = {key: text(item, key, limit=254) for key in
                   ("first_name", "last_name", "email", "phone", "id", "password")
                   if key in item}
        for flag in ("is_primary", "is_active"):
            if flag in item:
                contact[flag] = item[flag]
        parsed.append(contact)
    return parsed


def _fields(data):
    fields = {key: text(data, key, limit=2000 if key.endswith("address") else 200)
              for key in ("name", "number", "email", "address", "shipping_address",
                          "vat_number", "locale") if key in data}
    if "currency" in data:
        currency = data["currency"].upper()
        if not is_currency(currency):
            raise ApiError("currency must be an ISO 4217 code such as USD.", 422, "currency")
        fields["currency"] = currency
    return fields


@resource
class ClientResource(Resource):
    name = "clients"
    model = models.Client
    create_schema = body(FIELDS, required=("name",))
    update_schema = body(FIELDS)
    record_schema = record({
        "id": {"type": "string"}, "name": string_out(), "number": string_out(),
        "email": string_out(), "address": string_out(), "shipping_address": string_out(),
        "vat_number": string_out(), "locale": string_out(), "currency": {"type": "string"},
        "balance": MONEY_OUT, "paid_to_date": MONEY_OUT, "archived_at": DATETIME_OUT,
        "created_at": DATETIME_OUT, "contacts": {"type": "array", "items": CONTACT_OUT},
        "contacts_with_access": {
            "type": "array", "items": CONTACT_OUT,
            "description": "Read-only: contacts of other clients who may also act for this "
                           "client with their own login (staff give access in the back "
                           "office)."}})
    filters = (query("name", line(100), "Only clients whose name contains this."),)
    accepts_uploads = True

    def client_of(self, record):
        return record

    def query(self, args):
        C = models.Client
        query = C.select().where(C.archived_at.is_null())
        if args.get("name"):
            query = query.where(C.name.contains(args["name"]))
        return query.order_by(C.name, C.id)

    def serialize(self, c):
        return {
            "id": c.public_id, "name": c.name, "number": c.number, "email": c.email,
            "address": c.address, "shipping_address": c.shipping_address,
            "vat_number": c.vat_number, "locale": c.locale, "currency": c.currency,
            "balance": money_out(c.balance, c.currency),
            "paid_to_date": money_out(c.paid_to_date, c.currency),
            "archived_at": iso(c.archived_at), "created_at": iso(c.created_at),
            "contacts": [_contact_out(p) for p in c.contacts.order_by(models.Contact.id)],
            "contacts_with_access": [_contact_out(p) for p in client_access.with_access(c)],
        }

    def create(self, data, staff):
        return clients.create_client(_fields(data), _contacts(data), staff=staff)

    def update(self, record, data, staff):
        contacts = _contacts(data) if "contacts" in data else None
        return clients.update_client(record, _fields(data), contacts, staff=staff)

    def archive(self, record, staff):
        return clients.archive_client(record, staff=staff)
