"""Scheduled work of facilities: plain functions of a period (eldercare.jobs runs them once
per period, whatever the number of processes)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.extensions import db

from .models import Facility, FacilityKind, OccupancySnapshot
from .queries import Occupancy, facility_active_on, occupancy, overdue_leaves


def occupancy_snapshot(period: str) -> dict:
    """The day's beds, occupied and held per facility, from the stays (for trends).
    Rewrites the day's rows, so a rerun gives the same table."""
    day = date.fromisoformat(period)
    ids = list(db.session.scalars(sa.select(Facility.id).where(facility_active_on(day))))
    occ = occupancy(day, ids)
    db.session.execute(sa.delete(OccupancySnapshot).where(OccupancySnapshot.day == day))
    rows: list[dict[str, Any]] = [
        {"facility_id": fid, "day": day, "beds": o.beds, "occupied": o.occupied, "held": o.held}
        for fid in ids
        for o in [occ.get(fid, Occupancy())]
    ]
    if rows:
        db.session.execute(sa.insert(OccupancySnapshot), rows)
    return {
        "facilities": len(rows),
        "beds": sum(r["beds"] for r in rows),
        "residents": sum(r["occupied"] + r["held"] for r in rows),
    }


def alerts(day: date) -> list[dict]:
    """Care homes nearly full (two free beds or fewer), for the bureau and the home;
    leaves past their expected return, for the home."""
    out = []
    homes = list(
        db.session.execute(
            sa.select(Facility.id, Facility.name).where(
                Facility.kind == FacilityKind.CARE_HOME, facility_active_on(day)
            )
        )
    )
    occ = occupancy(day, [fid for fid, _n in homes])
    for fid, name in homes:
        o = occ.get(fid)
        if o is None or o.beds == 0 or o.available > 2:
            continue
        message = _l(
            "%(name)s 仅剩 %(n)s 张空床（入住率 %(rate)s）",
            name=name,
            n=o.available,
            rate=f"{float(o.rate) * 100:.1f}%",
        )
        for role in ("admin", "manager"):
            out.append(
                {
                    "kind": "home_full",
                    "role": role,
                    "facility_id": fid,
                    "provider_id": None,
                    "message": message,
                    "link": f"/facilities/{fid}",
                    "count": o.available,
                }
            )
    late: dict[int, list[str]] = {}
    for leave in overdue_leaves(None, day):
        late.setdefault(leave.stay.facility_id, []).append(leave.stay.person.name)
    for fid, names in late.items():
        out.append(
            {
                "kind": "leave_overdue",
                "role": "manager",
                "facility_id": fid,
                "provider_id": None,
                "count": len(names),
                "message": _l(
                    "请假逾期未归 %(n)s 人：%(names)s", n=len(names), names="、".join(names[:5])
                ),
                "link": f"/facilities/{fid}",
            }
        )
    return out
