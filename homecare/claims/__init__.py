"""Claims and reconciliation (月度结算): providers' monthly claims checked line by line
against visits and ledgers, settlement statements, call-backs (回访) and scorecards.

A sub-package of homecare: homecare.init_app calls init_app(app) below; everything plugs
in through the core's registry (CONTRIBUTING.md). Demo steps 50-59.
"""

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    """Register the claims blueprints, menu items, demo step and the monthly job."""
    from eldercare.models import Role
    from eldercare.registry import DemoStep, Job, NavItem

    from . import (
        api,
        api_callbacks,  # noqa: F401  (its routes, on api.bp)
        api_lifecycle,  # noqa: F401  (its routes, on api.bp)
        api_reconcile,  # noqa: F401  (its routes, on api.bp)
        demo,
        figures,
        models,  # noqa: F401  (the tables)
        presence_api,
        presence_views,
        services,
        views,
        views_callbacks,  # noqa: F401  (its routes, on views.bp)
        views_lifecycle,  # noqa: F401  (its routes, on views.bp)
    )

    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(presence_api.bp)
    app.register_blueprint(presence_views.bp)
    reg = app.extensions["eldercare"]
    reg.nav.append(
        NavItem("claims.claims_page", _l("结算申报"), (Role.ADMIN, Role.AUDITOR, Role.PROVIDER), 34)
    )
    reg.nav.append(NavItem("claims.callbacks_page", _l("回访"), (Role.ADMIN, Role.AUDITOR), 35))
    reg.nav.append(
        NavItem(
            "claims.scorecards_page",
            _l("服务组织考核"),
            (Role.ADMIN, Role.AUDITOR, Role.PROVIDER),
            36,
        )
    )
    reg.overview.append(figures.overview)
    from .month import provider_month, worker_home

    # a provider lands on its month, a worker on the scanner (issue 17.13)
    reg.home_pages[Role.PROVIDER.value] = provider_month
    reg.home_pages[Role.WORKER.value] = worker_home
    reg.dashboard_panels.append(("homecare/claims/_dashboard_panel.html", figures.dashboard_panel))
    reg.demo_steps.append(DemoStep(50, "claims", demo.claims))
    from .demo_lifecycle import lifecycle_step

    reg.demo_steps.append(DemoStep(51, "claim-lifecycle", lifecycle_step))
    reg.add_job(
        Job(
            "draft-claims",
            services.draft_claims_job,
            "month",
            {"day": 1, "hour": 2, "minute": 15},
            _l("每月 1 日：为上月有服务记录、尚无申报的服务组织按服务记录生成申报草稿"),
            default_period=services.previous_month,
        )
    )
