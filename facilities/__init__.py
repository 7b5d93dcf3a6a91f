"""facilities feature: loaded by the core's app factory, which calls init_app(app)."""

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    """Register blueprints, menu items, overview figures, demo steps, scopes, signals."""
    from eldercare.signals import person_died, person_moved

    # api_beds, api_daycare, api_setup and api_stays add their endpoints to api.bp; views_*
    # their pages to views.bp; models declares the mappers
    from . import (  # noqa: F401
        api,
        api_beds,
        api_daycare,
        api_setup,
        api_stays,
        models,
        stays,
        tallies,
        views,
        views_attendance,
        views_exports,
        views_register,
        views_setup,
        views_stays,
        views_transfers,
    )

    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    reg = app.extensions["eldercare"]
    _menu(reg)
    _figures_and_panels(reg)
    _demo_jobs_and_hooks(reg)
    person_died.connect(stays.on_death, weak=False)
    person_moved.connect(stays.on_move, weak=False)


def _menu(reg) -> None:
    """The menu items, and the manager's first page."""
    from eldercare.models import Role
    from eldercare.registry import NavItem

    from .home import manager_home

    staff = (Role.ADMIN, Role.AUDITOR, Role.MANAGER)
    reg.nav.append(NavItem("facilities.index", _l("机构与床位"), staff, 20))
    reg.nav.append(NavItem("facilities.placements", _l("五保安置"), (Role.ADMIN, Role.AUDITOR), 21))
    reg.nav.append(NavItem("facilities.dashboard", _l("床位统计"), (Role.ADMIN, Role.AUDITOR), 22))
    reg.nav.append(NavItem("facilities.transfers", _l("转院申请"), staff, 23))
    reg.home_pages[Role.MANAGER.value] = manager_home  # a manager lands on their home


def _figures_and_panels(reg) -> None:
    """Overview and public figures, who non-bureau roles may see, the panels on a
    person's page and the dashboard."""
    from . import daycare_figures, figures, scoping, tallies, views

    reg.overview.append(figures.overview)
    reg.tallies["facilities"] = tallies.recount_beds
    reg.public_figures.append(figures.public)
    # day-care use by attendance (issue 17.6): overview, /public, the bureau's dashboard
    reg.overview.append(daycare_figures.overview)
    reg.public_figures.append(daycare_figures.public)
    reg.dashboard_panels.append(
        ("facilities/_daycare_panel.html", _for_bureau(daycare_figures.dashboard_panel))
    )
    reg.person_scopes.append(scoping.person_scope)
    reg.person_panels.append(("facilities/_person_panel.html", figures.person_panel))
    reg.dashboard_panels.append(
        ("facilities/_dashboard_panel.html", _for_bureau(views.dashboard_panel))
    )


def _demo_jobs_and_hooks(reg) -> None:
    """The demo step, the nightly snapshot, the alerts, and what a death or a move ends
    here for dynamic management's proposals (a hook it offers, filled by name)."""
    from eldercare.registry import DemoStep, Job

    from . import demo, exits, jobs

    reg.demo_steps.append(DemoStep(30, "facilities", demo.build))
    reg.add_job(
        Job(
            "occupancy-snapshot",
            jobs.occupancy_snapshot,
            "day",
            {"hour": 23, "minute": 50},
            _l("每日各机构床位占用快照（趋势用）"),
        )
    )
    reg.alert_sources.append(jobs.alerts)
    reg.hook("dynamic.effects").append(exits.effects)


def _for_bureau(fn):
    """Dashboard panels are built for every role; this one only for the bureau."""

    def panel() -> dict:
        from flask_login import current_user

        if getattr(current_user, "role", None) not in ("admin", "auditor"):
            return {"fac_hidden": True}
        return fn()

    return panel
