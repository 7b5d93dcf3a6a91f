"""JSON shapes of intake (API.md "Intake"). No ID number: an application names its
person by id and name."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from eldercare.selfcare import ITEMS
from eldercare.timeutil import local_today

from .models import OPEN, Application, ApplicationStep
from .words import shown


def _money(value) -> str | None:
    return None if value is None else f"{value:.2f}"


def step_json(s: ApplicationStep) -> dict:
    return {
        "step": s.step.value,
        "on": s.on,
        "at": s.at,
        "by": s.by.display_name if s.by is not None else _("系统"),
        "by_id": s.by_id,
        "due": s.due,
        "late": s.late,
        "note": s.note or None,
    }


def overdue(app: Application, day: date | None = None) -> bool:
    """Open, and the next step's deadline has passed."""
    day = day or local_today()
    return app.status in OPEN and app.due is not None and app.due < day


def application_json(app: Application) -> dict:
    out = {
        "id": app.id,
        "kind": app.kind.value,
        "status": app.status.value,
        "person_id": app.person_id,
        "name": app.person.name,
        "township_code": app.township_code,
        "village_code": app.village_code,
        "year": app.year,
        "received_on": app.received_on,
        "due": app.due,
        "overdue": overdue(app),
        "late_steps": sum(1 for s in app.steps if s.late),
        "source": app.source,
        "by_proxy": app.by_proxy,
        "note": app.note or None,
        "steps": [step_json(s) for s in app.steps],
        "assessment": ({k: getattr(app, k) for k in ITEMS} if app.eating is not None else None),
        "care_level": app.care_level.value if app.care_level else None,
        "check_note": app.check_note or None,
    }
    if app.kind.value == "tekun":
        out |= {
            "support_wanted": app.support_wanted,
            "notice": (
                {"from": app.notice_from, "until": app.notice_until} if app.notice_from else None
            ),
            "category": app.category,
            "support": app.support,
            "support_from": app.support_from,
            "support_id": app.support_id,
        }
    else:
        out |= {
            "eligibility": (
                None
                if app.eligible is None
                else {
                    "eligible": app.eligible,
                    "rules": [
                        r | {"label": shown(r.get("label"))} for r in app.matched_rules or []
                    ],
                }
            ),
            "need": (
                None
                if app.need_score is None
                else {
                    "score": app.need_score,
                    "reasons": [shown(r) for r in app.need_reasons or []],
                }
            ),
            "lives_alone": app.lives_alone,
            "services_wanted": app.services_wanted or [],
            "plan": (
                None
                if app.plan_total is None
                else {
                    "lines": app.plan_lines or [],
                    "total": _money(app.plan_total),
                    "subsidy": _money(app.plan_subsidy),
                    "self_paid": _money(app.plan_self_paid),
                }
            ),
            "waiting_since": app.waiting_since,
            "provider_id": app.provider_id,
            "enrolment_id": app.enrolment_id,
            "agreed_on": app.agreed_on,
        }
    out |= {
        "decision": (
            None
            if app.decided_on is None
            else {"on": app.decided_on, "approved": app.approved, "reasons": app.reasons or None}
        ),
        "withdraw_reason": app.withdraw_reason or None,
    }
    return out
