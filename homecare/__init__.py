"""homecare feature: purchased home care (政府购买居家养老服务) — providers and their
workers, enrolments with the yearly 300-yuan ledger, QR cards, visit scans.

Loaded by the core's app factory, which calls init_app(app); everything plugs in
through the registry (CONTRIBUTING.md).
"""

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    """Register blueprints, menu items, overview figures, scopes, seeds, demo steps,
    signal receivers and jobs; then the claims sub-feature."""
    from eldercare.signals import person_died, person_moved

    # models: the tables, for migrations and queries; api_cards, api_scans: their routes on
    # api.bp; views_dashboard, views_visits: theirs on views.bp
    from . import (  # noqa: F401
        api,
        api_cards,
        api_reference,
        api_scans,
        homepoint,
        models,
        scan_views,
        services,
        views,
        views_dashboard,
        views_reference,
        views_visits,
    )
    from . import api_lifecycle as _lifecycle_api  # noqa: F401  (its routes on api.bp)
    from . import patterns_views as pv
    from . import views_lifecycle as _lifecycle_pages  # noqa: F401  (its routes on views.bp)
    from .claims import init_app as init_claims

    for bp in (api.bp, views.bp, scan_views.bp, homepoint.bp, pv.bp, pv.api_bp, views_reference.bp):
        app.register_blueprint(bp)
    reg = app.extensions["eldercare"]
    _menu(reg)
    _figures_and_hooks(reg)
    _demo_and_jobs(reg)
    person_died.connect(services.on_person_died, weak=False)
    person_moved.connect(services.on_person_moved, weak=False)
    init_claims(app)


def _menu(reg) -> None:
    from eldercare.models import Role
    from eldercare.registry import NavItem

    from .visits import SCANNERS

    office = (Role.ADMIN, Role.AUDITOR, Role.PROVIDER)
    reg.nav.append(NavItem("homecare.dashboard_page", _l("居家养老统计"), office, 39))
    reg.nav.append(NavItem("homecare.enrolments", _l("居家养老"), office, 30))
    reg.nav.append(NavItem("homecare.visits", _l("服务记录"), office, 31))
    reg.nav.append(
        NavItem("homecare_patterns.patterns_page", _l("异常模式"), (Role.ADMIN, Role.AUDITOR), 38)
    )
    reg.nav.append(NavItem("homecare.workers", _l("服务人员"), (Role.PROVIDER,), 32))
    # the bureau's reference data (issue 17.1): the auditor reads it
    bureau = (Role.ADMIN, Role.AUDITOR)
    reg.nav.append(NavItem("homecare_reference.providers_page", _l("服务组织"), bureau, 36))
    reg.nav.append(NavItem("homecare_reference.prices_page", _l("价目与补贴"), bureau, 37))
    # A provider account manages, a worker account scans (issue 14): workers only.
    reg.nav.append(NavItem("homecare_scan.scan_page", _l("扫码服务"), SCANNERS, 33))


def _figures_and_hooks(reg) -> None:
    from . import (
        exits,
        figure_tallies,
        figures,
        homepoint,
        low_balance,
        scoping,
        services,
        tallies,
    )

    reg.overview.append(figures.overview)
    reg.tallies["homecare"] = tallies.recount
    reg.tallies["homecare figures"] = figure_tallies.recount_figures
    reg.public_figures.append(figures.public)
    reg.person_scopes.append(scoping.person_scope)
    reg.person_panels.append(("homecare/_person_panel.html", figures.person_panel))
    reg.person_panels.append(("homecare/_home_point_panel.html", homepoint.panel))
    # what a death or a move ends and would have cost here, for dynamic management (by name)
    reg.hook("dynamic.effects").append(exits.effects)
    reg.hook("dynamic.losses").append(exits.losses)
    reg.seeds.append(services.seed_reference_data)
    reg.alert_sources.append(low_balance.alerts)


def _demo_and_jobs(reg) -> None:
    from eldercare.registry import DemoStep, Job

    from . import demo, demo_lifecycle, newyear, patterns, visits

    reg.demo_steps.append(DemoStep(40, "homecare providers", demo.providers))
    reg.demo_steps.append(DemoStep(41, "homecare enrolments", demo.enrolments))
    reg.demo_steps.append(DemoStep(42, "homecare visits", demo.visits))
    reg.demo_steps.append(DemoStep(43, "homecare patterns", patterns.demo_step))
    reg.demo_steps.append(DemoStep(44, "homecare lifecycle", demo_lifecycle.step))
    reg.add_job(
        Job(
            "subsidy-year",
            newyear.new_subsidy_year,
            "year",
            {"month": 1, "day": 1, "hour": 0, "minute": 30},
            _l("新年度：在册老人转入新年度并拨付补贴，上年结余作废"),
        )
    )
    reg.add_job(
        Job(
            "close-stale-visits",
            visits.close_stale_visits_job,
            "hour",
            {"minute": 7},
            _l("服务超过 12 小时未结束：标记为未签退（no_check_out）"),
        )
    )
    reg.add_job(
        Job(
            "visit-patterns",
            patterns.run_job,
            "day",
            {"hour": 2, "minute": 40},
            _l("服务异常模式：本月至前一日的不可能行程与同地多卡扫码，标记到服务记录"),
            default_period=patterns.yesterday,
        )
    )
