"""What an exit from the registry (a death, a move away) ends in the facilities: the
answer to the `dynamic.effects` hook the dynamic-management feature offers
(dynamic/__init__.py), filled by name in init_app so that neither package imports the
other."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from eldercare.extensions import db
from eldercare.models import Person

from .models import Bed, Facility, Stay


def effects(person: Person, kind: str, on: date) -> list[str]:
    """A death or a move ends the person's open stay on `on` (the bed is free the next
    day, as on_person_died / on_person_moved do it)."""
    if kind not in ("death", "moved"):
        return []
    rows = db.session.execute(
        sa.select(Facility.name, Bed.code)
        .select_from(Stay)
        .join(Bed, Bed.id == Stay.bed_id)
        .join(Facility, Facility.id == Stay.facility_id)
        .where(Stay.person_id == person.id, Stay.end_date.is_(None))
    ).all()
    return [
        _("%(facility)s %(bed)s 床的入住于 %(on)s 结束，床位空出", facility=name, bed=code, on=on)
        for name, code in rows
    ]
