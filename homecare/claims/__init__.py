"""Claims and reconciliation (月度结算): providers' monthly claims checked line by line
against visits and ledgers, settlement statements, call-backs (回访) and scorecards.

A sub-package of homecare: homecare.init_app calls init_app(app) below; everything plugs
in through the core's registry (CONTRIBUTING.md). Demo steps 50-59.
"""

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    """Register the claims blueprints, menu items and demo steps."""
    from eldercare.models import Role
    from eldercare.registry import DemoStep, NavItem

    from . import api, demo, models, views  # noqa: F401

    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    reg = app.extensions["eldercare"]
    reg.nav.append(NavItem("claims.claims_page", _l("结算申报"),
                           (Role.ADMIN, Role.AUDITOR, Role.PROVIDER), 34))
    reg.nav.append(NavItem("claims.callbacks_page", _l("回访"), (Role.ADMIN, Role.AUDITOR), 35))
    reg.nav.append(NavItem("claims.scorecards_page", _l("服务组织考核"),
                           (Role.ADMIN, Role.AUDITOR, Role.PROVIDER), 36))
    reg.demo_steps.append(DemoStep(50, "claims", demo.claims))
