"""特困 applications (特困人员认定办法, 2021): the township's check with the six-item
assessment, the 7-day notice in the village, the county bureau's decision. An approval
starts the person's 特困 record from the first day of the next month (认定办法: 自确认之日
下月起给予救助供养待遇); a refusal carries its written reasons. An applicant asking for
centralised support (集中供养) joins the placement waiting list from the decision: the
list puts full- and partial-care persons first (国发〔2016〕14号).

The check step is shared with home care (intake/care.py adds eligibility and need).
Functions flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from eldercare.errors import Conflict, Invalid
from eldercare.models import CareLevel, User
from eldercare.people import services as people
from eldercare.selfcare import ITEMS, care_level_of
from eldercare.timeutil import local_today

from .deadlines import due_after, first_of_next_month, notice_until
from .models import Application, Kind, Status, Step
from .steps import advance, check_day, last_day


@dataclass
class CheckInput:
    assessment: dict[str, bool]
    on: date | None = None
    note: str = ""
    lives_alone: bool | None = None  # home care: 独居
    services: list[str] = field(default_factory=list)  # home care: services wanted


def assessment_values(data: CheckInput) -> dict:
    missing = [k for k in ITEMS if not isinstance(data.assessment.get(k), bool)]
    if missing:
        raise Invalid(
            _l("六项自理能力评估须逐项填写"),
            fields={f"assessment.{k}": _l("须为 true 或 false") for k in missing},
        )
    level = care_level_of(data.assessment)
    return {
        **{k: data.assessment[k] for k in ITEMS},
        "care_level": level,
        "check_note": (data.note or "")[:500],
    }


def check(app: Application, user: User, data: CheckInput) -> Application:
    """The township's check (调查核实): home visit, income and supporters in the note,
    the six-item assessment giving the care level. Raises Invalid (an item missing, a
    bad date), Conflict (out of order, or done meanwhile)."""
    on = check_day(data.on, last_day(app))
    advance(
        app,
        Step.CHECK,
        user,
        on,
        allowed=(Status.RECEIVED,),
        to=Status.CHECKED,
        due_next=due_after(Kind.TEKUN, Step.NOTICE, on),
        note=data.note,
        values=assessment_values(data),
    )
    return app


def notice(app: Application, user: User, start: date | None) -> Application:
    """Put the township's opinion up in the applicant's village for 7 days (公示),
    from `start`. Raises Conflict for home care or out of order."""
    if app.kind != Kind.TEKUN:
        raise Conflict(_l("居家养老服务申请不需公示"), code="out_of_order")
    start = check_day(start, last_day(app), "from")
    until = notice_until(start)
    advance(
        app,
        Step.NOTICE,
        user,
        start,
        allowed=(Status.CHECKED,),
        to=Status.NOTICED,
        due_next=due_after(Kind.TEKUN, Step.DECIDE, until),
        values={"notice_from": start, "notice_until": until},
    )
    return app


@dataclass
class Decision:
    approved: bool
    reasons: str = ""
    category: str | None = None
    support: str | None = None
    on: date | None = None


def default_category(app: Application, on: date) -> str:
    """60 and over: elderly; under 16: minor; between: disabled (认定办法 art. 2-6)."""
    age = app.person.age_on(on)
    return "elderly" if age >= 60 else "minor" if age < 16 else "disabled"


def decide(app: Application, user: User, d: Decision) -> Application:
    """The county bureau's decision after the notice has run its 7 days. An approval
    starts 特困 support from the first day of the next month (category, care level
    from the assessment, support mode; a centralised wish waits for a bed on the
    placement list); a refusal needs written reasons. Raises Invalid (no reasons, bad
    category or support), Conflict (the notice still running, out of order)."""
    on = check_day(d.on, last_day(app))
    if app.status == Status.NOTICED and app.notice_until and on <= app.notice_until:
        raise Conflict(
            _l("公示期至 %(day)s，期满后才能确认", day=app.notice_until.isoformat()),
            code="notice_running",
        )
    if not d.approved:
        reasons = (d.reasons or "").strip()
        if not reasons:
            raise Invalid(_l("不予确认须书面说明理由"), fields={"reasons": _l("不能为空")})
        advance(
            app,
            Step.DECIDE,
            user,
            on,
            allowed=(Status.NOTICED,),
            to=Status.REFUSED,
            due_next=None,
            note=reasons,
            values={"decided_on": on, "approved": False, "reasons": reasons[:500]},
        )
        return app
    category = d.category or default_category(app, on)
    support = d.support or app.support_wanted or "dispersed"
    if category not in ("elderly", "disabled", "minor"):
        raise Invalid(_l("特困类别无效"), fields={"category": _l("elderly、disabled 或 minor")})
    if support not in ("dispersed", "centralized"):
        raise Invalid(_l("供养方式无效"), fields={"support": _l("dispersed 或 centralized")})
    since = first_of_next_month(on)
    advance(
        app,
        Step.DECIDE,
        user,
        on,
        allowed=(Status.NOTICED,),
        to=Status.APPROVED,
        due_next=None,
        note=(d.reasons or "").strip(),
        values={
            "decided_on": on,
            "approved": True,
            "reasons": (d.reasons or "")[:500],
            "category": category,
            "support": support,
            "support_from": since,
        },
    )
    person = app.person
    if app.care_level is not None:
        person.care_level = CareLevel(app.care_level)
    # A bed is not there yet: support is at home until the placement admits the person
    # (facilities.place turns it centralised); the wish puts them on the waiting list.
    record = people.start_wubao(
        person,
        category,
        "dispersed",
        since,
        applied_centralized_on=on if support == "centralized" else None,
    )
    app.support_id = record.id
    return app


def first_support_month(app: Application) -> str | None:
    """ "2026年12月": the month support starts, for pages."""
    d = app.support_from
    return _("%(year)s年%(month)s月", year=d.year, month=d.month) if d else None


def notice_running(app: Application, day: date | None = None) -> bool:
    day = day or local_today()
    return bool(app.notice_from and app.notice_until and app.notice_from <= day <= app.notice_until)
