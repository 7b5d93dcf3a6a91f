"""What facilities adds to the overview, the public page and the person page."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from eldercare.extensions import db
from eldercare.models import Person, Region

from . import breakdowns
from .models import Facility, FacilityKind, Stay
from .queries import Occupancy, district_occupancy, facility_active_on, occupancy


def overview(day: date) -> dict:
    """`facilities` (counts per kind) and `beds` on `day`, answered from history."""
    counts = {k.value: 0 for k in FacilityKind}
    for kind, n in db.session.execute(
        sa.select(Facility.kind, sa.func.count())
        .where(facility_active_on(day))
        .group_by(Facility.kind)
    ):
        counts[kind.value] = n
    occ = district_occupancy(day)
    beds = occ["all"].as_dict()
    home = occ.get("care_home", Occupancy())
    # every part, as the district's (issue 17.3), and the nursing share against its target
    beds["care_home"] = home.as_dict() | breakdowns.nursing(home)
    return {"facilities": counts, "beds": beds}


def public(day: date) -> dict:
    """Care homes and free beds by township: aggregate figures only."""
    names: dict[str | None, str] = dict(
        db.session.execute(
            sa.select(Region.code, Region.name).where(Region.level == "township")
        ).all()
    )
    homes = list(
        db.session.execute(
            sa.select(Facility.id, Facility.township_code).where(
                Facility.kind == FacilityKind.CARE_HOME, facility_active_on(day)
            )
        )
    )
    occ = occupancy(day, [fid for fid, _ in homes])
    by_town: dict[str, list[int]] = {}
    for fid, code in homes:
        o = occ.get(fid, Occupancy())
        entry = by_town.setdefault(names.get(code, "—"), [0, 0])
        entry[0] += 1
        entry[1] += o.available
    lines = [
        (f"{town}", _("敬老院 %(n)s 所，空床 %(free)s 张", n=n, free=free))
        for town, (n, free) in sorted(by_town.items())
    ]
    all_homes = Occupancy()
    for o in occ.values():
        all_homes.add(o)
    # in the reader's language (issue 17.11): /public is read in English too; every part
    # of the beds, so that they add up to the total (issue 17.3)
    parts = [
        (_("在住"), all_homes.occupied),
        (_("请假（床位保留）"), all_homes.held),
        (_("预留"), all_homes.reserved),
        (_("空余床位"), all_homes.available),
        (_("停用"), all_homes.out_of_service),
    ]
    return {
        "facilities": {
            "title": _("敬老院与空余床位"),
            "lines": [
                (_("敬老院"), _("%(n)s 所", n=len(homes))),
                (_("床位"), _("%(n)s 张", n=f"{all_homes.beds:,}")),
                *[(label, _("%(n)s 张", n=f"{n:,}")) for label, n in parts],
                *lines,
            ],
        }
    }


def person_panel(person: Person) -> dict:
    stays = list(
        db.session.scalars(
            sa.select(Stay)
            .where(Stay.person_id == person.id)
            .order_by(Stay.start_date.desc(), Stay.id.desc())
        )
    )
    return {"fac_stays": stays}
