"""Claims and reconciliation (月度结算): providers' monthly claims checked line by line
against visits and ledgers, settlement statements, call-backs (回访) and scorecards.

A sub-package of homecare: homecare.init_app calls init_app(app) below; everything plugs
in through the core's registry (CONTRIBUTING.md). Demo steps 50-59.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the claims blueprints, menu items and demo steps."""
    from . import api, models  # noqa: F401

    app.register_blueprint(api.bp)
