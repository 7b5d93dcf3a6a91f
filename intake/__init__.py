"""intake feature (应保尽保): applications for 特困 support (特困人员认定办法 2021: the
township's check with the six-item assessment, the 7-day village notice, the county
bureau's decision, support from the next month) and for purchased home care (GB/T
43153-2023: eligibility by the year's rules, needs assessment, a priced service plan,
the agreement and enrolment with a provider; a waiting list ranked by need when the
year's places are full). Each step dated, audited, against its deadline.

Layering (pyproject.toml, CONTRIBUTING.md): intake sits above homecare, which it uses
through homecare.services and homecare.models (enrolment, catalogue, subsidy,
providers); it never imports dynamic or facilities. Dynamic management's entrants'
lists reach it through the hooks dynamic offers ("dynamic.supported", "dynamic.effects",
"dynamic.entrants"); the placement waiting list through the core's 特困 record
(applied_centralized_on), which facilities reads.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the pages, the API, menu items, overview figures, scopes, panels,
    alerts, notices, seeds, hooks, signal receivers and the demo step."""
    from flask_babel import lazy_gettext as _l

    from eldercare.models import Role
    from eldercare.registry import DemoStep, NavItem
    from eldercare.signals import calendar_changed, person_died, person_moved

    # step_views and year_views add their pages to views.bp before it is registered
    from . import (  # noqa: F401
        api,
        api_settings,
        deadlines,
        demo,
        entrants,
        figures,
        models,
        rules,
        scoping,
        settings_views,
        step_views,
        views,
        year_views,
    )

    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    reg = app.extensions["eldercare"]
    desk = (Role.ADMIN, Role.AUDITOR, Role.TOWNSHIP)
    bureau = (Role.ADMIN, Role.AUDITOR)
    reg.nav.append(NavItem("intake.applications", _l("受理申请"), desk, 65))
    reg.nav.append(NavItem("intake.waiting", _l("居家养老轮候"), desk, 66))
    reg.nav.append(NavItem("intake.notices", _l("认定公示"), desk, 67))
    reg.nav.append(NavItem("intake.figures_page", _l("申请统计"), bureau, 68))
    reg.nav.append(NavItem("intake.eligibility", _l("居家养老资格条件"), bureau, 69))
    reg.overview.append(figures.overview)
    reg.person_scopes.append(scoping.person_scope)
    reg.person_panels.append(("intake/_person_panel.html", views.person_panel))
    reg.dashboard_panels.append(("intake/_dashboard_panel.html", views.dashboard_panel))
    reg.alert_sources.append(figures.alerts)
    reg.seeds.append(rules.seed)
    # the 7-day notices, shown without login at /public/notices (where the core offers it)
    if hasattr(reg, "public_notices"):
        reg.public_notices.append(figures.notices_running)
    if hasattr(reg, "home_pages"):
        reg.home_pages[Role.TOWNSHIP.value] = views.applications
    reg.hook("dynamic.supported").append(entrants.supported)
    reg.hook("dynamic.effects").append(entrants.effects)
    reg.hook("dynamic.entrants").append(entrants.start)
    reg.demo_steps.append(DemoStep(70, "intake applications", demo.build))
    person_died.connect(entrants.on_death, weak=False)
    person_moved.connect(entrants.on_move, weak=False)
    calendar_changed.connect(deadlines.on_calendar_changed, weak=False)
