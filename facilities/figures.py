"""What facilities adds to the overview, the public page and the person page."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from eldercare.extensions import db
from eldercare.models import Person, Region

from .models import Facility, FacilityKind, Stay
from .queries import Occupancy, district_occupancy, facility_active_on, occupancy


def overview(day: date) -> dict:
    """`facilities` (counts per kind) and `beds` on `day`, answered from history."""
    counts = {k.value: 0 for k in FacilityKind}
    for kind, n in db.session.execute(sa.select(Facility.kind, sa.func.count())
                                      .where(facility_active_on(day)).group_by(Facility.kind)):
        counts[kind.value] = n
    occ = district_occupancy(day)
    beds = occ["all"].as_dict()
    home = occ.get("care_home", Occupancy())
    beds["care_home"] = {"total": home.beds, "occupied": home.occupied, "held": home.held,
                         "residents": home.residents, "nursing": home.nursing,
                         "nursing_share": _share(home.nursing, home.beds),
                         "occupancy_rate": home.rate}
    return {"facilities": counts, "beds": beds}


def _share(part: int, whole: int) -> str:
    from eldercare.stats import ratio

    return ratio(part, whole)


def public(day: date) -> dict:
    """Care homes and free beds by township: aggregate figures only."""
    names: dict[str | None, str] = dict(db.session.execute(sa.select(Region.code, Region.name)
                                    .where(Region.level == "township")).all())
    homes = list(db.session.execute(sa.select(Facility.id, Facility.township_code)
                                    .where(Facility.kind == FacilityKind.CARE_HOME,
                                           facility_active_on(day))))
    occ = occupancy(day, [fid for fid, _ in homes])
    by_town: dict[str, list[int]] = {}
    for fid, code in homes:
        o = occ.get(fid, Occupancy())
        entry = by_town.setdefault(names.get(code, "—"), [0, 0])
        entry[0] += 1
        entry[1] += o.available
    lines = [(f"{town}", _("敬老院 %(n)s 所，空床 %(free)s 张", n=n, free=free))
             for town, (n, free) in sorted(by_town.items())]
    total = sum(o.beds for o in occ.values())
    free = sum(o.available for o in occ.values())
    # in the reader's language (issue 17.11): /public is read in English too
    return {"facilities": {"title": _("敬老院与空余床位"),
                           "lines": [(_("敬老院"), _("%(n)s 所", n=len(homes))),
                                     (_("床位"), _("%(n)s 张", n=f"{total:,}")),
                                     (_("空余床位"), _("%(n)s 张", n=f"{free:,}")), *lines]}}


def person_panel(person: Person) -> dict:
    stays = list(db.session.scalars(sa.select(Stay).where(Stay.person_id == person.id)
                                    .order_by(Stay.start_date.desc(), Stay.id.desc())))
    return {"fac_stays": stays}
