"""Every PDF, rendered by WeasyPrint from a template in partials/pdf/."""
import os

from flask import current_app, make_response, render_template
from weasyprint import HTML, URLFetcher

import models
from billing import documents


class StaticOnlyFetcher(URLFetcher):
    """Documents embed our static files and data: URLs only; they never reach the network."""

    def __init__(self, static_folder):
        super().__init__(allowed_protocols=("file", "data"))
        self.static = os.path.realpath(static_folder)

    def fetch(self, url, headers=None):
        if url.startswith("file://"):
            path = os.path.realpath(url[len("file://"):].split("?")[0])
            if not path.startswith(self.static + os.sep):
                raise ValueError(f"PDF resource outside static/: {url[:80]}")
        return super().fetch(url, headers)


def render(template, **context):
    from billing.company_settings import logo_data_url
    company = context.get("company") or models.Company.current()
    # Embedded, not linked: the fetcher reaches nothing outside static/.
    context.setdefault("logo_src", logo_data_url(company, current_app.config["UPLOAD_PATH"])
                       if company else "")
    html = render_template(template, **context)
    base = "file://" + os.path.realpath(current_app.static_folder) + "/"
    fetcher = StaticOnlyFetcher(current_app.static_folder)
    return HTML(string=html, base_url=base, url_fetcher=fetcher).write_pdf()


def send(data, filename, inline=False):
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def document_pdf(template, doc, kind, **extra):
    """An invoice, quote or credit note: its lines in order, tax summary, client, company."""
    lines = doc.ordered_lines()
    return render(template, doc=doc, kind=kind, lines=lines, taxes=documents.tax_summary(lines),
                  client=doc.client, company=models.Company.current(), **extra)


def invoice_pdf(invoice):
    return document_pdf("pdf/invoice.html", invoice, "Invoice")
