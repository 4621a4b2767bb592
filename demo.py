"""`portal demo`: an idempotent demo company with records in every state the portal shows."""
import datetime as dt

import models
from billing import credits, invoices, transaction
from billing import quotes as quote_service

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
            # Checked apart from `created` so a demo seeded before quotes existed gains them.
            if not models.Quote.select().where(models.Quote.client == client).exists():
                seed_quotes(client, staff)
        seed_subscription(models.Client.get(models.Client.name == CLIENTS[0][0]), staff)
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
            invoices.cancel(inv, staff=staff)
        return inv

    invoice(60, 30, "paid", notes="Thanks for the prompt payment.")
    invoice(45, 14, "sent", n=2)  # overdue
    invoice(20, 30, "partial")
    invoice(5, 30, "sent", partial=50000, partial_due_date=today + 7 * day, po_number="PO-7731")
    invoice(2, 30, "draft")  # never shown in the portal
    invoice(90, 30, "cancelled", n=1)

    from billing import recurring
    retainer = recurring.create_recurring(
        client, lines[:1], frequency="monthly", start_date=today - 70 * day,
        notes="Monthly design retainer.")
    while recurring.generate(retainer, today) is not None:
        pass
    recurring.create_recurring(client, lines[2:], frequency="quarterly",
                               start_date=today + 10 * day, remaining_cycles=4)
    seed_documents(client)


def seed_documents(client):
    import io

    from flask import current_app

    from billing import files
    upload_path = current_app.config["UPLOAD_PATH"]
    terms = (f"Terms of service between Acme Design Studio and {client.name}.\n\n"
             "1. Invoices are payable within 30 days.\n2. Work is billed monthly.\n")
    files.store(upload_path, client, "terms-of-service.txt", io.BytesIO(terms.encode()),
                is_public=True)
    files.store(upload_path, client, "project-plan.csv",
                io.BytesIO(b"phase,weeks\ndiscovery,2\ndesign,4\nbuild,6\n"), is_public=True)
    files.store(upload_path, client, "internal-notes.txt",
                io.BytesIO(b"Staff only: not shared with the client."), is_public=False)


QUOTE_LINES = [
    {"product": "Website redesign", "description": "Five templates, responsive", "quantity": 1,
     "unit_cost": 480000, "tax_name": "VAT", "tax_rate": "20"},
    {"product": "Copywriting", "description": "Per page", "quantity": 6, "unit_cost": 9000,
     "tax_name": "VAT", "tax_rate": "20"},
]


def seed_quotes(client, staff):
    """Quotes in every state a contact sees, and two credits to spend."""
    today = models.utcnow().date()
    day = dt.timedelta(days=1)
    contact = client.contacts.order_by(models.Contact.id).first()

    def quote(days_ago, valid_days, lines=QUOTE_LINES, **kw):
        return quote_service.create_quote(
            client, lines, date=today - days_ago * day,
            valid_until=today - days_ago * day + valid_days * day, staff=staff, **kw)

    quote(3, 30, status="sent", notes="Includes two rounds of revisions.")
    approved = quote(25, 30, lines=QUOTE_LINES[:1], status="sent", discount=20000)
    quote_service.approve(contact, approved, "192.0.2.10", accepted_terms=True)
    declined = quote(15, 30, lines=QUOTE_LINES[1:], status="sent")
    quote_service.decline(contact, declined, "We will write the copy ourselves.", "192.0.2.10")
    quote(60, 14, status="sent")  # expired: valid_until is past
    quote(1, 30, status="draft")  # never shown in the portal
    credits.create_credit(client, [{"product": "Refund", "description": "Cancelled workshop",
                                    "quantity": 1, "unit_cost": 25000}],
                          date=today - 10 * day, reason="refund", staff=staff)
    credits.create_credit(client, [{"product": "Goodwill", "description": "Late delivery",
                                    "quantity": 1, "unit_cost": 7500}],
                          date=today - 4 * day, reason="adjustment", staff=staff,
                          notes="Sorry for the delay on the brochure.")


PLAN = {"name": "Studio Care", "description": "Site hosting, updates and two hours of design "
         "help a month.", "price": "49.00", "currency": "USD", "frequency": "monthly",
         "trial_days": "0", "setup_fee": "25.00", "min_quantity": "1", "max_quantity": "5",
         "cancellation": "at_period_end", "allow_plan_changes": "1", "plan_group": "care",
        "allow_pause": "1"}


def seed_subscription(client, staff):
    """One plan, and the first demo client subscribed to it with a paid first invoice."""
    import money
    from billing import subscription_invoices, subscriptions
    plan = models.Plan.get_or_none(models.Plan.name == PLAN["name"]) or \
        subscriptions.create_plan(PLAN, money.PLAIN, staff=staff)
    if models.Subscription.select().where(models.Subscription.client == client).exists():
        return
    started = models.utcnow().date() - dt.timedelta(days=20)
    subscription = subscriptions.subscribe(client, plan, quantity=2, start=started,
                                           contact=client.contacts.first(), staff=staff)
    first = subscription_invoices.issue_period_invoice(
        subscription, subscription.current_period_start, subscription.current_period_end,
        setup_fee=True)
    invoices.mark_paid(models.Invoice.get_by_id(first.id), staff=staff)


def seed_gateways():
    """An offline demo card gateway and bank-transfer instructions, so paying can be tried."""
    import json
    if models.GatewayConfig.select().exists():
        return
    models.GatewayConfig.create(kind="demo", token_mode="optin", position=0)
    models.GatewayConfig.create(kind="manual", token_mode="off", position=1,
                                label="Bank transfer", settings=json.dumps({
                                    "instructions": "Acme Design Studio\nIBAN US00 DEMO 0000 "
                                                    "1234 5678\nQuote the invoice number."}))
