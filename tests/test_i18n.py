"""Languages: the portal in German, French and Spanish, the one locale decision, the catalogs."""
import gettext
import re
from pathlib import Path

import pytest
from babel.dates import format_date
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import i18n
import models
from billing import notifications
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import opened
from tests.i18n_support import portal_templates, unwrapped

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
LANGUAGES = ("de", "fr", "es")

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


def text(response):
    return response.get_data(as_text=True)


def html_lang(page):
    match = re.search(r'<html[^>]* lang="([^"]+)"', page)
    return match.group(1) if match else None


@pytest.fixture
def euro(app):
    """A company, a EUR client with one contact and one unpaid invoice of 1,234.56."""
    with opened(app):
        factories.company(currency="EUR")
        client = factories.client(name="Müller GmbH", currency="EUR")
        contact = factories.contact(client, email="pat@mueller.example")
        invoice = factories.invoice(client, lines=[{"product": "Beratung", "quantity": 1,
                                                    "unit_cost": 123456}])
    return {"client": client, "contact": contact, "invoice": invoice}


def set_locale(app, model, row_id, locale):
    with opened(app):
        model.update(locale=locale).where(model.id == row_id).execute()


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


# ---------------------------------------------------------------- which language


def lang_of(client, path="/client/invoices", **headers):
    return html_lang(text(client.get(path, headers=headers)))


def test_choice_order_contact_then_client_then_company_then_browser(app, client, auth, euro):
    set_locale(app, models.Company, models_company_id(app), "")
    auth.login("pat@mueller.example")
    assert lang_of(client, **{"Accept-Language": "fr-CH, de;q=0.5"}) == "fr"
    assert lang_of(client, **{"Accept-Language": "it, pt;q=0.8"}) == "en"  # none we speak
    set_locale(app, models.Company, models_company_id(app), "es_ES")
    assert lang_of(client, **{"Accept-Language": "fr"}) == "es"
    set_locale(app, models.Client, euro["client"].id, "de_DE")
    assert lang_of(client, **{"Accept-Language": "fr"}) == "de"
    set_locale(app, models.Contact, euro["contact"].id, "fr")
    assert lang_of(client, **{"Accept-Language": "de"}) == "fr"


def models_company_id(app):
    with opened(app):
        return models.Company.current().id


def test_choose_is_one_rule():
    company = models.Company(name="C", locale="es_ES")
    client = models.Client(name="K", locale="")
    contact = models.Contact(email="x@y.example", locale="", client=client)
    assert i18n.choose(contact, company, accept="fr") == "es_ES"
    client.locale = "de"
    assert i18n.choose(contact, company, accept="fr") == "de"
    contact.locale = "fr"
    assert i18n.choose(contact, company) == "fr"
    assert i18n.choose(None, models.Company(name="C", locale=""), accept="de") == "de"
    assert i18n.choose(None, models.Company(name="C", locale=""), visitor="es",
                       accept="de") == "es"
    assert i18n.choose(None, None) == "en"
    assert i18n.choose(models.Contact(locale="xx-not-one"), None) == "en"


def test_visitor_picks_a_language_on_the_login_page(app, client, euro):
    page = text(client.get("/client/login"))
    # The picker is plain links (no JavaScript), labelled, each named in its own language.
    nav = re.search(r'<nav class="languages" aria-label="Language">(.*?)</nav>', page, re.S)
    assert nav and 'lang="de"' in nav.group(1) and ">Deutsch<" in nav.group(1)
    assert 'href="/client/login?lang=fr"' in nav.group(1)
    response = client.get("/client/login?lang=es")
    assert "portal_lang=es" in response.headers.get("Set-Cookie", "")
    assert html_lang(text(response)) == "es"
    # The cookie keeps it for the next pages, e.g. the reset page.
    assert html_lang(text(client.get("/client/password/reset"))) == "es"
    assert "Restablecer la contraseña" in text(client.get("/client/password/reset"))
    # A made-up language is ignored.
    response = client.get("/client/login?lang=xx")
    assert "portal_lang=xx" not in response.headers.get("Set-Cookie", "")


def test_the_next_link_survives_a_language_switch(app, client, euro):
    page = text(client.get("/client/login?next=/client/profile"))
    assert "/client/login?next=/client/profile&amp;lang=de" in page


def test_profile_stores_the_language(app, client, auth, euro):
    auth.login("pat@mueller.example")
    token = csrf_token(client, "/client/profile")
    form = {"csrf_token": token, "first_name": "Pat", "last_name": "Müller", "phone": ""}
    response = client.post("/client/profile", data={**form, "locale": "de"})
    assert response.status_code == 303
    with opened(app):
        assert models.Contact.get_by_id(euro["contact"].id).locale == "de"
    page = text(client.get("/client/profile"))
    assert "Ihre Angaben sind gespeichert." in page and html_lang(page) == "de"
    assert '<option value="de" lang="de" selected>Deutsch</option>' in page
    refused = client.post("/client/profile", data={**form, "locale": "klingon"})
    assert refused.status_code == 422 and "Wählen Sie eine Sprache aus der Liste." in text(
        refused)
    with opened(app):
        assert models.Contact.get_by_id(euro["contact"].id).locale == "de"
    back = client.post("/client/profile", data={**form, "locale": ""})  # automatic again
    assert back.status_code == 303
    with opened(app):
        assert models.Contact.get_by_id(euro["contact"].id).locale == ""


def test_errors_and_flashes_are_translated(app, client, euro):
    set_locale(app, models.Contact, euro["contact"].id, "fr")
    client.get("/client/login?lang=fr")
    token = csrf_token(client)
    wrong = client.post("/client/login", data={"csrf_token": token, "email": "pat@mueller.example",
                                               "password": "nope-nope"})
    assert wrong.status_code == 422
    assert "Cette adresse e-mail et ce mot de passe ne correspondent à aucun compte." in text(
        wrong).replace("&#39;", "'")
    page = text(client.get("/client/invoices", follow_redirects=True))
    assert "Veuillez vous connecter pour voir cette page." in page


def test_amount_errors_speak_the_language_and_its_numbers(app, client, auth, euro):
    set_locale(app, models.Contact, euro["contact"].id, "de")
    auth.login("pat@mueller.example")
    import money
    with opened(app), i18n.using("de"):
        with pytest.raises(money.MoneyError) as exc:
            money.parse("zehn", "EUR", "de")
        assert str(exc.value) == "Geben Sie den Betrag als Zahl ein, zum Beispiel 1.250,00."
        assert money.parse("1.234,56", "EUR", "de") == 123456


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


# ---------------------------------------------------------------- catalogs


def catalog(lang):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f)


def extracted_ids():
    """What the code asks to translate now (the same extraction as translations/babel.cfg)."""
    method_map = [("**/admin/**", "ignore"), ("**/api/**", "ignore"), ("tests/**", "ignore"),
                  ("bench/**", "ignore"), ("static/**", "ignore"), ("**.py", "python"),
                  ("partials/**.html", "jinja2"), ("partials/email/**.txt", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
                "N_": None}
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, keywords=keywords):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def msg_key(msg):
    return msg.id if isinstance(msg.id, str) else msg.id[0]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_is_complete_and_not_fuzzy(lang):
    cat = catalog(lang)
    assert not cat.fuzzy
    problems = []
    for msg in cat:
        if not msg.id:
            continue
        strings = msg.string if isinstance(msg.string, tuple) else (msg.string,)
        if msg.fuzzy or not all(s.strip() for s in strings):
            problems.append(msg.id)
    assert not problems, problems
    assert not list(cat.check())  # placeholders match (python-format)
    translated = {msg_key(m) for m in cat if m.id}
    untranslated = sorted(extracted_ids() - translated)
    assert not untranslated, f"run the steps in README 'Translations': {untranslated}"


def test_labels_that_python_keeps_in_english_are_in_the_catalog():
    from billing import statements
    from billing.company_settings import REGISTRATION_FIELDS
    from billing.schedule import FREQUENCIES
    from views import credits, invoices, quotes, tabs
    labels = set(models.InvoiceStatus.STATUS_LABELS.values()) | set(FREQUENCIES.values())
    labels |= {label for _, label in invoices.FILTER_LABELS + invoices.SORT_LABELS}
    labels |= {label for _, label, _ in tabs.TABS} | set(quotes.FILTERS.values())
    labels |= set(credits.FILTERS.values()) | {label for _, label, _ in REGISTRATION_FIELDS}
    labels |= {label for _, label in statements.RANGES + statements.STATUSES}
    labels |= {label for label, _, _ in statements.AGEING}
    from billing import subscriptions
    from billing.company_settings import DEFAULT_CANCELLATION_REASONS
    labels |= set(models.Subscription.STATUS_LABELS.values())
    labels |= set(subscriptions.CANCELLATION_LABELS.values()) | set(DEFAULT_CANCELLATION_REASONS)
    for lang in LANGUAGES:
        translated = {msg_key(m) for m in catalog(lang) if m.id and m.string}
        assert labels <= translated, (lang, sorted(labels - translated))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalogs_are_up_to_date(lang):
    """The .mo files are committed (pip install -e needs no build step): each must say what
    its .po says. After editing a .po: pybabel compile -d translations."""
    mo_path = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo"
    assert mo_path.exists(), "pybabel compile -d translations"
    with open(mo_path, "rb") as f:
        compiled = gettext.GNUTranslations(f)
    stale = []
    for msg in catalog(lang):
        if not msg.id:
            continue
        if isinstance(msg.id, str):
            if compiled.gettext(msg.id) != msg.string:
                stale.append(msg.id)
        elif (compiled.ngettext(msg.id[0], msg.id[1], 1) != msg.string[0]
              or compiled.ngettext(msg.id[0], msg.id[1], 5) != msg.string[-1]):
            stale.append(msg.id[0])
    assert not stale, f"pybabel compile -d translations: {stale[:5]}"


def test_every_portal_template_string_is_wrapped():
    found = {name: unwrapped(source) for name, source in portal_templates()}
    found = {name: texts for name, texts in found.items() if texts}
    assert not found, found


def test_the_scanner_finds_unwrapped_text():
    assert unwrapped("<p>Hello there</p>") == ["Hello there"]
    assert unwrapped('<input placeholder="Your name">') == ["Your name"]
    assert unwrapped('{{ "Until stopped" if x else y }}') == ["Until stopped"]
    assert unwrapped('<p>{{ _("Hello there") }} {{ name }}</p>') == []
    assert unwrapped("<p>{{ ngettext('One quote', 'Two quotes', n) }}</p>") == []
    assert unwrapped('<td data-label="{{ _(\'Amount\') }}">—</td>') == []


def test_back_office_and_api_stay_english_in_a_german_company(app, euro):
    """Staff read English whatever the company's locale; numbers still follow the locale."""
    import flask_babel

    import extensions
    set_locale(app, models.Company, models_company_id(app), "de_DE")
    with app.test_request_context("/admin/login"):
        models.db.connect(reuse_if_open=True)
        assert extensions.select_locale() == "en"
        assert str(flask_babel.get_locale()) == "en"
        from views.current import user_locale
        assert user_locale() == "de_DE"  # amounts typed and shown the German way
        models.db.close()
    with app.test_request_context("/client/login"):
        models.db.connect(reuse_if_open=True)
        assert extensions.select_locale() == "de_DE"
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
