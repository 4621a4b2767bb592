"""Languages: the portal in German, French and Spanish: a contact's pages, money and dates,
the subscription pages and refusals speak the contact's language, e-mails each contact's
own, while the back office and staff pages stay English.

Siblings: tests/test_i18n_choice.py (which language: the one locale decision, the picker,
the profile, translated errors) and tests/test_i18n_catalogs.py (the catalogs complete,
compiled and every template string wrapped). The `euro` fixture and shared helpers are
tests/i18n_support.py."""
import pytest
from babel.dates import format_date

import i18n
import models
from billing import notifications
from tests import factories
from tests.core_support import opened
from tests.i18n_support import LANGUAGES, html_lang, models_company_id, set_locale, text

# Words each page must show in the language (a wrapped string that was not translated, or a
# page that ignores the locale, shows the English instead).
WORDS = {
    "de": {"invoices": ["Rechnungen", "Ausgewählte bezahlen", "Neueste zuerst", "Offen"],
           "invoice": ["Rechnung", "PDF herunterladen", "Zwischensumme", "Offener Betrag"],
           "pay": ["Rechnung bezahlen", "Sie zahlen", "Bezahlen mit"],
           "login": ["Bei Ihrem Portal anmelden", "Passwort vergessen?", "E-Mail-Adresse"],
           "profile": ["Ihre Angaben", "Vorname", "Passwort ändern (optional)", "Sprache"]},
    "fr": {"invoices": ["Factures", "Payer la sélection", "Les plus récentes", "Impayée"],
           "invoice": ["Facture", "Télécharger le PDF", "Sous-total", "Solde dû"],
           "pay": ["Payer la facture", "Vous payez", "Payer avec"],
           "login": ["Connectez-vous à votre portail", "Mot de passe oublié ?", "Adresse e-mail"],
           "profile": ["Vos coordonnées", "Prénom", "Changer le mot de passe (facultatif)",
                       "Langue"]},
    "es": {"invoices": ["Facturas", "Pagar las seleccionadas", "Más recientes primero",
                        "Pendiente"],
           "invoice": ["Factura", "Descargar PDF", "Subtotal", "Saldo pendiente"],
           "pay": ["Pagar la factura", "Usted paga", "Pagar con"],
           "login": ["Inicie sesión en su portal", "¿Ha olvidado su contraseña?",
                     "Correo electrónico"],
           "profile": ["Sus datos", "Nombre", "Cambiar la contraseña (opcional)", "Idioma"]},
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_contact_pages_speak_the_contacts_language(app, client, auth, euro, lang):
    set_locale(app, models.Contact, euro["contact"].id, lang)
    invoice = euro["invoice"]
    login = text(client.get(f"/client/login?lang={lang}"))
    assert html_lang(login) == lang
    assert all(word in login for word in WORDS[lang]["login"]), login
    auth.login("pat@mueller.example")
    pages = {"invoices": client.get("/client/invoices"),
             "invoice": client.get(f"/client/invoices/{invoice.public_id}"),
             "pay": client.get(f"/client/invoices/payment?invoices={invoice.public_id}"),
             "profile": client.get("/client/profile")}
    for name, response in pages.items():
        page = text(response)
        assert response.status_code == 200, (name, page)
        assert html_lang(page) == lang, name
        missing = [w for w in WORDS[lang][name] if w not in page]
        assert not missing, (name, missing)
    title = WORDS[lang]["invoice"][0]
    assert f"<title>{title} {invoice.number} · Test Studio</title>" in text(pages["invoice"])
    assert f"<title>{WORDS[lang]['invoices'][0]} · " in text(pages["invoices"])
    # A tab switch (the htmx fragment) speaks it too.
    fragment = text(client.get("/client/invoices", headers={"HX-Request": "true"}))
    assert WORDS[lang]["invoices"][0] in fragment


@pytest.mark.parametrize("lang, amount, date", [
    ("de", "1.234,56\xa0€", "01.10.2026"),
    ("fr", "1\u202f234,56\xa0€", format_date(__import__("datetime").date(2026, 10, 1),
                                             "medium", locale="fr")),
    ("es", "1.234,56\xa0€", format_date(__import__("datetime").date(2026, 10, 1),
                                        "medium", locale="es")),
])
def test_money_and_dates_follow_the_language(app, client, auth, euro, lang, amount, date):
    set_locale(app, models.Contact, euro["contact"].id, lang)
    auth.login("pat@mueller.example")
    page = text(client.get("/client/invoices"))
    assert amount in page and date in page
    shown = text(client.get(f"/client/invoices/{euro['invoice'].public_id}"))
    assert amount in shown


def test_english_stays_english(app, client, auth, euro):
    auth.login("pat@mueller.example")
    page = text(client.get("/client/invoices"))
    assert html_lang(page) == "en" and "Pay selected" in page and "€1,234.56" in page


# ---------------------------------------------------------------- more pages, staff in English


def test_back_office_and_api_stay_english_in_a_german_company(app, euro):
    """Staff read English whatever the company's locale; numbers still follow the locale."""
    import flask_babel

    import extensions
    set_locale(app, models.Company, models_company_id(app), "de_DE")
    with app.test_request_context("/admin/login"):
        models.db.connect(reuse_if_open=True)
        assert str(extensions.select_locale()) == "en"
        assert str(flask_babel.get_locale()) == "en"
        from views.current import user_locale
        assert user_locale() == "de_DE"  # amounts typed and shown the German way
        models.db.close()
    with app.test_request_context("/client/login"):
        models.db.connect(reuse_if_open=True)
        assert str(extensions.select_locale()) == "de_DE"
        models.db.close()
    client = app.test_client()
    assert html_lang(text(client.get("/admin/login"))) == "en"
    assert html_lang(text(client.get("/client/login"))) == "de"


def test_payment_service_refusals_speak_the_payers_language(app):
    from gateways.base import GatewayError, PaymentDeclined
    from gateways.demo import DemoGateway
    with app.app_context(), i18n.using("fr"):
        with pytest.raises(PaymentDeclined) as declined:
            DemoGateway.__new__(DemoGateway).tokenize("4000 0000 0000 0002", "12", "2099", "123")
        assert declined.value.message == "Votre carte a été refusée. Essayez une autre carte."
        assert GatewayError().message.startswith("Le service de paiement n’a pas répondu.")
    assert GatewayError().message.startswith("The payment service did not answer.")


def test_the_payment_screens_refusals_speak_the_payers_language(db):
    """allocation.plan's refusals reach the contact on the payment screen."""
    from billing import DomainError, allocation
    company = factories.company(allow_over_payment=False, allow_partial_payments=False)
    client = factories.client()
    open_invoice = factories.invoice(client, status="sent")
    paid = factories.invoice(client, status="paid")

    def refused(items):
        with pytest.raises(DomainError) as error:
            allocation.plan(client.id, items, company, locale="de_DE")
        return error.value.message
    with i18n.using("de"):
        assert refused([]) == "Wählen Sie mindestens eine Rechnung zum Bezahlen aus."
        assert refused([(paid.public_id, allocation.FULL)]) == (
            f"Die Rechnung {paid.number} ist bereits bezahlt.")
        assert refused([(open_invoice.public_id, "0,00")]) == (
            f"Rechnung {open_invoice.number}: Der Betrag muss größer als null sein.")
        too_much = refused([(open_invoice.public_id, "99999,00")])
        assert too_much.startswith(f"Der offene Betrag der Rechnung {open_invoice.number} ist ")
        assert too_much.endswith("; Sie können nicht mehr bezahlen.")
    assert refused([]) == "Select at least one invoice to pay."


def test_subscriptions_speak_german_to_a_german_contact(app, client, auth, euro):
    from billing import subscriptions as service
    from tests.factories import PLAN_FORM as GOOD
    with opened(app):
        plan = service.create_plan({**GOOD, "currency": "EUR", "trial_days": "0"}, "en_US")
        sub = service.subscribe(euro["client"], plan, quantity=2)
    set_locale(app, models.Contact, euro["contact"].id, "de")
    auth.login("pat@mueller.example")
    listing = text(client.get("/client/subscriptions"))
    assert "<h1>Abonnements</h1>" in listing and "Nächstes Abrechnungsdatum" in listing
    assert ">Aktiv<" in listing and "Subscriptions</h1>" not in listing
    page = text(client.get(f"/client/subscriptions/{sub.public_id}"))
    assert "Rechnungen aus diesem Abonnement" in page and "Tarif oder Menge ändern" in page
    assert "monatlich" in page and "Abonnement kündigen" in page
    assert "Invoices from this subscription" not in page


def test_cancellation_reasons_default_translated_own_kept(app, client, auth, euro):
    from billing import subscriptions as service
    from tests.factories import PLAN_FORM as GOOD
    with opened(app):
        plan = service.create_plan({**GOOD, "currency": "EUR", "trial_days": "0"}, "en_US")
        sub = service.subscribe(euro["client"], plan)
        models.Company.update(cancellation_reasons="It costs too much\n50% too dear").execute()
    set_locale(app, models.Contact, euro["contact"].id, "de")
    auth.login("pat@mueller.example")
    page = text(client.get(f"/client/subscriptions/{sub.public_id}/cancel"))
    assert ">Es ist zu teuer</option>" in page and ">50% too dear</option>" in page
    assert 'value="It costs too much"' in page


def test_staff_two_factor_pages_stay_english_in_a_german_company(app, client, euro):
    with opened(app):
        models.Company.update(locale="de").execute()
    assert html_lang(text(client.get("/client/login"))) == "de"
    client.get("/admin/login/code")  # no sign-in under way: a flash, then the staff login
    page = text(client.get("/admin/login"))
    assert "Your sign-in took too long or has ended." in page, page


# ---------------------------------------------------------------- e-mails and run-due


def test_an_invoice_email_to_a_german_contact_is_german(app, euro):
    set_locale(app, models.Contact, euro["contact"].id, "de")
    with opened(app):
        contact = models.Contact.get_by_id(euro["contact"].id)
        message = notifications.invoice_email(euro["invoice"], contact,
                                              {"BASE_URL": "https://portal.example"})
        assert message.subject.startswith(f"Rechnung {euro['invoice'].number} von ")
        assert "Hallo Pat," in message.body_text
        assert "1.234,56\xa0€" in message.body_text and "Hier ansehen und bezahlen:" in (
            message.body_text)
        assert "Dieser Link ist persönlich" in message.body_html
        # The page around the e-mail keeps its own language afterwards.
        assert i18n.gettext("Invoices") == "Invoices"


def test_emails_to_two_contacts_each_get_their_own_language(app, euro):
    with opened(app):
        other = factories.contact(euro["client"], email="ana@mueller.example", locale="es")
        models.Contact.update(locale="fr").where(
            models.Contact.id == euro["contact"].id).execute()
        french = notifications.invoice_email(euro["invoice"], models.Contact.get_by_id(
            euro["contact"].id), {"BASE_URL": ""})
        spanish = notifications.invoice_email(euro["invoice"], other, {"BASE_URL": ""})
    assert french.subject.startswith("Facture ") and "Bonjour Pat," in french.body_text
    assert spanish.subject.startswith("Factura ") and "Hola, Pat:" in spanish.body_text


def test_gettext_outside_a_request_and_outside_the_app(app):
    assert i18n.gettext("Hello %(name)s,", name="Pat") == "Hello Pat,"  # no app at all
    with app.app_context():  # as in `portal run-due`
        assert i18n.gettext("Invoices") == "Invoices"
        with i18n.using("de"):
            assert i18n.gettext("Invoices") == "Rechnungen"
            from views.current import user_locale
            assert user_locale() == "de"
        assert i18n.gettext("Invoices") == "Invoices"
