"""Blueprints: register_views puts every view, filter and converter on the app."""
import models
from views.brand import brand_css, company_logo
from views.filters import register_filters
from views.ids import RowIdConverter


def register_views(app):
    # Before any blueprint: routes bind their converters when they are registered.
    app.url_map.converters["int"] = RowIdConverter
    from views import (
        admin,
        auth,
        checkout,
        client_switch,
        credits,
        documents,
        errors,
        invitations,
        invoices,
        payment_methods,
        payments,
        pre_payment,
        profile,
        quotes,
        recurring,
        statement,
        subscription_purchase,
        subscriptions,
        two_factor,
        webhooks,
    )
    from views.admin import activity as admin_activity
    from views.admin import clients as admin_clients
    from views.admin import contacts as admin_contacts
    from views.admin import documents as admin_documents
    from views.admin import editor as admin_editor
    from views.admin import payments as admin_payments
    from views.admin import products as admin_products
    from views.admin import quotes as admin_quotes
    from views.admin import settings as admin_settings
    from views.admin import subscriptions as admin_subscriptions
    register_filters(app)
    errors.register(app)
    from views.sessions import activity_actor
    models.Activity.request_actor = staticmethod(activity_actor)
    app.add_url_rule("/client/brand.css", "brand_css", brand_css)
    app.add_url_rule("/client/logo", "company_logo", company_logo)
    for module in (auth, invitations, invoices, recurring, payments, quotes, credits,
                   payment_methods, documents, statement, subscriptions, pre_payment,
                   profile, admin, admin_clients, admin_contacts, admin_activity,
                   admin_documents, admin_quotes, admin_editor, admin_products,
                   checkout, admin_payments, webhooks, admin_settings, admin_subscriptions,
                   subscription_purchase, two_factor, client_switch):
        app.register_blueprint(module.bp)
    app.add_template_global(client_switch.switchable_clients, "switchable_clients")
    import views.api
    views.api.load_resources()
    app.register_blueprint(views.api.bp)
