"""What a view knows about this request: the company, the contact's locale, the staff member
behind an impersonated session, and the config billing services are given."""
from flask import g, has_request_context, request
from flask_login import current_user

import i18n
import models


def company():
    if "company" not in g:
        g.company = models.Company.current() or models.Company(name="Client Portal")
    return g.company


def acting_staff_id():
    """The staff member behind this portal session when they opened it as the contact."""
    from flask import session
    return session.get("impersonator_id")


def acting_staff():
    """That staff member (the user loader already checked their session is live), or None."""
    staff_id = acting_staff_id()
    return models.StaffUser.get_or_none(models.StaffUser.id == staff_id) if staff_id else None


def service_config():
    """App config for billing services, with the base URL for e-mailed links: PORTAL_BASE_URL;
    else this request's own address when PORTAL_TRUSTED_HOSTS vouches for its Host (Flask
    answers 400 to any other); else the serve address. Never a Host header nobody vouched
    for: a forged one would put the attacker's site in a genuine reset e-mail."""
    from flask import current_app
    config = dict(current_app.config)
    if not config["BASE_URL"]:
        config["BASE_URL"] = (request.url_root.rstrip("/") if config.get("TRUSTED_HOSTS")
                              else config["DEFAULT_BASE_URL"])
    return config


def user_locale():
    """The locale this request (or e-mail, see i18n.using) speaks: its text, money and dates.

    Asked for every money and date cell: decided once per request. E-mails are also
    rendered by `portal run-due`, where there is no request and no user."""
    if "user_locale" not in g:
        contact = None
        if has_request_context() and getattr(current_user, "is_authenticated", False):
            contact = current_user
        g.user_locale = i18n.choose(contact, company(), visitor=i18n.visitor_choice(),
                                    accept=i18n.accept_language())
    return g.user_locale
