"""Use of the day-care centres (日间照料中心), measured by attendance (issue 17.6).

Two figures per centre and month: `attendance_days` (人次: one per person and day present)
and `elders` (distinct people who came at least once). The district's `elders` counts a
person who came to two centres once. Everything is counted from the attendance rows
themselves, so a past month is answered as it was recorded.

Where they are shown: the overview (`day_care`, the month of `date`), `/public`
(district totals only), the occupancy page (per centre), the bureau's dashboard (a chart
of attendance per month) and a centre manager's home (their own centre).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from eldercare.extensions import db
from eldercare.timeutil import Month

from .models import Attendance, Facility, FacilityKind
from .queries import facility_active_on


@dataclass(frozen=True)
class Use:
    attendance_days: int = 0
    elders: int = 0

    def as_dict(self) -> dict:
        return {"attendance_days": self.attendance_days, "elders": self.elders}


def _in_month(month: Month):
    return sa.and_(Attendance.day >= month.first, Attendance.day <= month.last)


def _day_care_rows():
    return (
        sa.select(sa.func.count(Attendance.id), sa.func.count(sa.distinct(Attendance.person_id)))
        .join(Facility, Facility.id == Attendance.facility_id)
        .where(Facility.kind == FacilityKind.DAY_CARE)
    )


def district_use(month: Month, facility_ids: list[int] | None = None) -> Use:
    """The month's attendance days and distinct elders over every centre (or those of
    `facility_ids`)."""
    stmt = _day_care_rows().where(_in_month(month))
    if facility_ids is not None:
        stmt = stmt.where(Attendance.facility_id.in_(facility_ids))
    days, elders = db.session.execute(stmt).one()
    return Use(days or 0, elders or 0)


def centre_use(month: Month, facility_ids: list[int] | None = None) -> dict[int, Use]:
    """Per centre: {facility id: Use} for the month (centres without attendance absent)."""
    stmt = (
        sa.select(
            Attendance.facility_id,
            sa.func.count(Attendance.id),
            sa.func.count(sa.distinct(Attendance.person_id)),
        )
        .where(_in_month(month))
        .group_by(Attendance.facility_id)
    )
    if facility_ids is not None:
        stmt = stmt.where(Attendance.facility_id.in_(facility_ids))
    return {fid: Use(days, elders) for fid, days, elders in db.session.execute(stmt)}


def centres(day: date, scope: sa.ColumnElement[bool] | None = None) -> list[Facility]:
    """The day-care centres open on `day` (within `scope`, a clause on Facility.id)."""
    stmt = sa.select(Facility).where(
        Facility.kind == FacilityKind.DAY_CARE, facility_active_on(day)
    )
    if scope is not None:
        stmt = stmt.where(scope)
    return list(db.session.scalars(stmt.order_by(Facility.name)))


def month_table(day: date, scope: sa.ColumnElement[bool] | None = None) -> dict:
    """The month of `day`, per centre and in total: what the occupancy page and the API's
    per-centre figures show. Places are the centre's beds (核定床位)."""
    month = Month.of(day)
    shown = centres(day, scope)
    ids = [f.id for f in shown]
    per = centre_use(month, ids)
    rows = [
        {
            "facility_id": f.id,
            "name": f.name,
            "places": f.capacity,
            **per.get(f.id, Use()).as_dict(),
        }
        for f in shown
    ]
    return {"month": month.text, **district_use(month, ids).as_dict(), "centres": rows}


def trend(until: date, months: int = 12, facility_id: int | None = None) -> list[dict]:
    """Attendance days and distinct elders in each of the `months` months before
    `until`'s and in `until`'s own (to that day), oldest first: the dashboard's chart."""
    month = Month.of(until)
    wanted = [month]
    for _i in range(months):
        month = month.previous()
        wanted.append(month)
    points = []
    for m in reversed(wanted):
        use = district_use(m, [facility_id] if facility_id is not None else None)
        points.append({"month": m.text, **use.as_dict()})
    return points


# --- what the core shows -----------------------------------------------------------------


def overview(day: date) -> dict:
    """`day_care` of the overview: the month of `day`, district totals (API.md)."""
    month = Month.of(day)
    return {
        "day_care": {
            "month": month.text,
            **district_use(month).as_dict(),
            "centres": len(centres(day)),
        }
    }


def public(day: date) -> dict:
    """/public: the district's totals for the month of `day`, no name of anyone."""
    month = Month.of(day)
    use = district_use(month)
    # in the reader's language (issue 17.11): /public is read in English too
    return {
        "day_care": {
            "title": _("日间照料中心（%(m)s）", m=month.text),
            "lines": [
                (_("日间照料中心"), _("%(n)s 所", n=len(centres(day)))),
                (_("本月签到"), _("%(n)s 人次", n=f"{use.attendance_days:,}")),
                (_("服务老人"), _("%(n)s 人", n=f"{use.elders:,}")),
            ],
        }
    }


def dashboard_panel() -> dict:
    """The bureau's dashboard: attendance per month over the past year."""
    from eldercare.timeutil import local_today

    points = trend(local_today())
    return {"dc_points": points, "dc_month": points[-1]}
