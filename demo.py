"""`portal demo`: an idempotent demo company with records in every state the portal shows."""
import datetime as dt

import models
from billing import invoices, transaction

PASSWORD = "demo-password"
STAFF = ("staff@demo.example", "staff-password")

CLIENTS = [
    ("Northwind Traders", "USD", "12 Harbour Road\nSeattle, WA 98101",
     [("Ada", "Payable", "ap@northwind.example"), ("Olu", "Operations", "ops@northwind.example")]),
    ("Globex Corporation", "USD", "1 Globex Plaza\nSpringfield",
     [("Hank", "Scorpio", "hank@globex.example")]),
    ("Kyoto Garden KK", "JPY", "3-1 Gion\nKyoto", [("Yui", "Tanaka", "yui@kyoto.example")]),
]

LINES = [
    {"product": "Design retainer", "description": "Monthly brand and web design", "quantity": 1,
     "unit_cost": 150000, "tax_name": "VAT", "tax_rate": "20"},
    {"product": "Consulting", "description": "Workshop hours", "quantity": "3.5",
     "unit_cost": 12000, "tax_name": "VAT", "tax_rate": "20"},
    {"product": "Stock photos", "description": "Licence, 5 images", "quantity": 5,
     "unit_cost": 1500, "discount_percent": "10"},
]


def seed():
    """Create the demo once; every run returns the logins as (kind, email, password)."""
    with transaction():
        company = models.Company.current()
        if company is None:
            company = models.Company.create(
                name="Acme Design Studio", email="billing@acme.example",
                address="500 Market Street\nSan Francisco, CA 94105", brand_color="#1f5fbf",
                currency="USD", timezone="America/Los_Angeles",
                invoice_terms="Payment within 30 days. Thank you for your business.",
                allow_partial_payments=True, minimum_partial_payment=1000,
                prepayments_enabled=True, minimum_prepayment=5000)
        staff = models.StaffUser.get_or_none(models.StaffUser.email == STAFF[0])
        if staff is None:
            staff = models.StaffUser(email=STAFF[0], name="Demo Staff")
            staff.set_password(STAFF[1])
            staff.save()
        logins = []
        for name, currency, address, contacts in CLIENTS:
            client = models.Client.get_or_none(models.Client.name == name)
            created = client is None
            if created:
                client = models.Client.create(name=name, currency=currency, address=address,
                                              email=contacts[0][2])
            for position, (first, last, email) in enumerate(contacts):
                contact = models.Contact.get_or_none(models.Contact.email == email)
                if contact is None:
                    contact = models.Contact(client=client, first_name=first, last_name=last,
                                             email=email, is_primary=position == 0)
                    contact.set_password(PASSWORD)
                    contact.save()
                logins.append(("contact", email, PASSWORD))
            if created:
                seed_records(client, staff)
        seed_gateways()
    logins.append(("staff", *STAFF))
    return logins


def seed_records(client, staff):
    today = models.utcnow().date()
    day = dt.timedelta(days=1)
    lines = LINES  # in JPY the same numbers read as whole yen

    def invoice(days_ago, due_in, status, **kw):
        inv = invoices.create_invoice(client, lines[: kw.pop("n", 3)], date=today - days_ago * day,
                                      due_date=today - days_ago * day + due_in * day, **kw)
        if status in ("sent", "partial", "paid", "cancelled"):
            invoices.mark_sent(inv, staff=staff)
        if status == "partial":
            from billing import payments
            inv = models.Invoice.get_by_id(inv.id)
            payments.record_payment(client, inv.balance // 3, inv.currency,
                                    [(inv, inv.balance // 3)], method="bank_transfer",
                                    method_label="Bank transfer", staff=staff,
                                    reference="TRX-1042")
        if status == "paid":
            invoices.mark_paid(models.Invoice.get_by_id(inv.id), staff=staff)
        if status == "cancelled":
            models.Invoice.update(status="cancelled").where(models.Invoice.id == inv.id).execute()
        return inv

    invoice(60, 30, "paid", notes="Thanks for the prompt payment.")
    invoice(45, 14, "sent", n=2)  # overdue
    invoice(20, 30, "partial")
    invoice(5, 30, "sent", partial=50000, partial_due_date=today + 7 * day, po_number="PO-7731")
    invoice(2, 30, "draft")  # never shown in the portal
    invoice(90, 30, "cancelled", n=1)



def seed_gateways():
    """An offline demo card gateway and bank-transfer instructions, so paying can be tried."""
    import json
    if models.GatewayConfig.select().exists():
        return
    models.GatewayConfig.create(kind="demo", token_mode="optout", position=0)
    models.GatewayConfig.create(kind="manual", token_mode="off", position=1,
                                label="Bank transfer", settings=json.dumps({
                                    "instructions": "Acme Design Studio\nIBAN US00 DEMO 0000 "
                                                    "1234 5678\nQuote the invoice number."}))
