"""dynamic feature: dynamic management (动态管理, 应保尽保、应退尽退): lists from other
departments matched to the registry and turned into proposals, termination of 特困 support
with its public notice, and the annual review with the six-item self-care assessment.

It acts on the core's registry of people and imports no other feature. What the other
features hold (stays, enrolments) ends through the core's person_died / person_moved
signals; what they would say, lose, hold or start is asked through hooks this package
offers, which they fill by name (`reg.hook(NAME).append(fn)`), so no import runs between
them:

- `EFFECTS` ("dynamic.effects"): fn(person, kind, on) -> [sentences]: what accepting a
  proposal of `kind` ("death", "moved", "income"; for a proposed application the list's
  kind: "disability", "dibao", "age") dated `on` would end, change or start.
- `LOSSES` ("dynamic.losses"): fn(person, on, found_on) -> [{"label", "subsidy"?: Decimal,
  "bed_days"?: int}]: what an exit recorded on `on` instead of `found_on` kept from being
  paid out or held.
- `SUPPORTED` ("dynamic.supported"): fn(person, on) -> [sentences]: how a person found
  on an entrants' list is already supported or applying (then no proposal is made).
- `ENTRANTS` ("dynamic.entrants"): fn(person, kind, on, *, proposal_id, user_id) ->
  [sentences]: start what accepting a `propose_application` proposal starts (the intake
  feature: an application received that day); in the accepting transaction.
"""

from flask import Flask

EFFECTS = "dynamic.effects"
LOSSES = "dynamic.losses"
SUPPORTED = "dynamic.supported"
ENTRANTS = "dynamic.entrants"


def init_app(app: Flask) -> None:
    """Register the pages, the API, menu items, panels, alerts, the demo step and the
    signal receivers."""
    from flask_babel import lazy_gettext as _l

    from eldercare.apikit import READERS
    from eldercare.registry import DemoStep, NavItem
    from eldercare.signals import person_died, person_moved

    from . import api, demo, entrants, public_notices, services, views, wubao
    from . import views_wubao as _wubao_pages  # noqa: F401  (its routes, on views.bp)

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    reg = app.extensions["eldercare"]
    reg.nav.append(NavItem("dynamic.comparisons", _l("信息比对"), READERS, 60))
    reg.nav.append(NavItem("dynamic.reviews", _l("年度复核"), READERS, 61))
    reg.nav.append(NavItem("dynamic.notices", _l("终止公示"), READERS, 62))
    reg.hook(EFFECTS).insert(0, services.describe_core)
    reg.hook(EFFECTS).insert(1, entrants.describe_category)
    reg.alert_sources.append(wubao.overdue_alerts)
    reg.public_notices.append(public_notices.running_on)
    reg.demo_steps.append(DemoStep(60, "dynamic management", demo.build))
    reg.dashboard_panels.append(("dynamic/_dashboard_panel.html", views.dashboard_panel))
    reg.person_panels.append(("dynamic/_person_panel.html", views.person_panel))
    person_died.connect(wubao._on_death)
    person_moved.connect(wubao._on_move)
