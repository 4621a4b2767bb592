"""Time a long statement PDF (issue 14: 2,000 invoices and 2,000 payments under 3 s).

    python bench/statement_pdf.py            # 3 timed renders after a warm-up
    python bench/statement_pdf.py --runs 5 --out /tmp/statement.pdf

Seeds a temporary SQLite instance with one client of 2,000 invoices and 2,000 payments over
five years, builds its statement for those years as the portal does (billing.statements),
and renders it with pdf.statement_pdf in process, the way `portal serve`'s worker and
`run-due` make it. Prints each render's seconds, the median and the page count, and PASS or
FAIL against the budget. Not part of CI; note the machine's load, which it prints.
"""
import argparse
import datetime as dt
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET_SECONDS = 3.0
COUNT = 2000


def seed(models):
    from peewee import chunked
    models.create_tables()
    models.Company.create(name="Acme Design Studio", email="billing@acme.example",
                          currency="USD")
    client = models.Client.create(name="Northwind Traders", currency="USD",
                                  address="12 Harbour Road\nSeattle, WA 98101")
    first = dt.date(2021, 1, 4)
    invoices, payments = [], []
    for n in range(COUNT):
        date = first + dt.timedelta(days=n * (5 * 365 - 10) // COUNT)
        total = 10_000 + (n * 7919) % 490_000
        invoices.append({"public_id": secrets.token_urlsafe(12), "client": client.id,
                         "number": f"INV-{n + 1:05d}", "status": "paid", "date": date,
                         "due_date": date + dt.timedelta(days=30), "currency": "USD",
                         "subtotal": total, "total": total, "balance": 0})
        payments.append({"public_id": secrets.token_urlsafe(12), "client": client.id,
                         "number": f"PAY-{n + 1:05d}", "status": "completed",
                         "date": date + dt.timedelta(days=3), "currency": "USD",
                         "amount": total, "applied": total, "method": "bank_transfer"})
    with models.db.atomic():
        for model, rows in ((models.Invoice, invoices), (models.Payment, payments)):
            for batch in chunked(rows, 500):
                model.insert_many(batch).execute()
    return client


def page_count(data):
    """Pages as poppler's pdfinfo reads them (the objects are compressed), or "?"."""
    if not shutil.which("pdfinfo"):
        return "?"
    info = subprocess.run(["pdfinfo", "-"], input=data, capture_output=True).stdout
    found = re.search(rb"^Pages:\s+(\d+)", info, re.M)
    return int(found.group(1)) if found else "?"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", help="keep the last PDF here (to look at it)")
    args = parser.parse_args()
    instance = tempfile.mkdtemp(prefix="bench-statement-")
    os.environ.update(PORTAL_INSTANCE_PATH=instance, PORTAL_ENV="development",
                      PORTAL_DATABASE_URL=f"sqlite:///{instance}/portal.sqlite3")
    sys.path.insert(0, ROOT)
    import models
    import pdf
    from billing import statements
    from portal import create_app

    app = create_app()
    with app.test_request_context():
        models.db.connect(reuse_if_open=True)
        client = seed(models)
        statement = statements.build(client, dt.date(2021, 1, 1), dt.date(2025, 12, 31))
        print(f"load average {os.getloadavg()[0]:.2f}; {len(statement.rows)} rows")
        pdf.statement_pdf(statement, "en_US")  # warm-up: fonts, templates
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            data = pdf.statement_pdf(statement, "en_US")
            times.append(time.perf_counter() - started)
        pages = page_count(data)
        median = statistics.median(times)
        print("renders (s):", " ".join(f"{t:.2f}" for t in times))
        print(f"median {median:.2f} s, {pages} pages, {len(data) // 1024} KiB: "
              f"{'PASS' if median < BUDGET_SECONDS else 'FAIL'} (budget {BUDGET_SECONDS} s)")
        if args.out:
            with open(args.out, "wb") as out:
                out.write(data)
    return 0 if median < BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
