"""Beds out of service and reserved for an arranged admission (预留). Each change is a
conditional update under the bed's row lock, which admissions take too (guards.py)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare import audit
from eldercare.database import rowcount
from eldercare.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.models import Person, User
from eldercare.timeutil import local_today

from .errors import BedOccupied, BedOutOfService, BedReserved
from .guards import check_day, check_own_facility, check_person_active, claim_bed, overlapping
from .models import Bed, BedOutage, Stay


def set_out_of_service(bed: Bed, on: date, reason: str, user: User | None = None) -> BedOutage:
    """Take a bed out of service from `on`, for a stated reason. Refused (BedOccupied)
    while anyone holds it on or after that day; checked under the bed's row lock, which
    admissions take too."""
    check_own_facility(user, bed.facility_id)
    check_day(on, "date")
    if not (reason or "").strip():  # the board says why a bed is out (issue 17.2)
        raise Invalid(_l("请填写停用原因"), fields={"reason": _l("请填写停用原因")})
    reason = reason.strip()
    claim_bed(bed, user, in_service=False)
    if overlapping(Stay.bed_id, bed.id, on, None) is not None:
        raise BedOccupied(_l("床位 %(code)s 有人入住，不能停用", code=bed.code))
    result = db.session.execute(
        sa.update(Bed)
        .where(Bed.id == bed.id, Bed.out_of_service.is_(False))
        .values(out_of_service=True, out_of_service_reason=(reason or "")[:200])
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise BedOutOfService(_l("床位 %(code)s 已停用", code=bed.code))
    audit.record(
        "update",
        "beds",
        bed.id,
        {"out_of_service": [False, True], "out_of_service_reason": ["", reason or ""]},
    )
    outage = BedOutage(bed_id=bed.id, start_date=on, reason=(reason or "")[:200])
    db.session.add(outage)
    db.session.flush()
    db.session.refresh(bed)
    return outage


def back_in_service(bed: Bed, on: date, user: User | None = None) -> None:
    """Put a bed back in service from `on`. Raises Conflict when it was in service."""
    check_own_facility(user, bed.facility_id)
    check_day(on, "date")
    result = db.session.execute(
        sa.update(Bed)
        .where(Bed.id == bed.id, Bed.out_of_service.is_(True))
        .values(out_of_service=False, out_of_service_reason="")
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise Conflict(_l("床位未停用"), code="bed_in_service")
    audit.record("update", "beds", bed.id, {"out_of_service": [True, False]})
    outage = db.session.scalar(
        sa.select(BedOutage).where(BedOutage.bed_id == bed.id, BedOutage.end_date.is_(None))
    )
    if outage is not None:
        outage.end_date = max(on, outage.start_date)
    db.session.flush()
    db.session.refresh(bed)


def reserve_bed(bed: Bed, person: Person, user: User | None = None) -> None:
    """Hold a vacant, in-service bed for an arranged admission (预留)."""
    check_own_facility(user, bed.facility_id)
    check_person_active(person)
    claim_bed(bed, user)
    if overlapping(Stay.bed_id, bed.id, local_today(), None) is not None:
        raise BedOccupied(_l("床位 %(code)s 已有人入住", code=bed.code))
    result = db.session.execute(
        sa.update(Bed)
        .where(Bed.id == bed.id, Bed.reserved_for_id.is_(None))
        .values(reserved_for_id=person.id)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise BedReserved(_l("床位 %(code)s 已预留", code=bed.code))
    audit.record("update", "beds", bed.id, {"reserved_for_id": [None, person.id]})
    db.session.refresh(bed)


def unreserve_bed(bed: Bed, user: User | None = None) -> None:
    """Release a reservation (no error if there was none)."""
    check_own_facility(user, bed.facility_id)
    bed.reserved_for_id = None
    db.session.flush()


def open_outages(facility_id: int) -> dict[int, BedOutage]:
    """The open outage of each bed of a facility out of service: since when, and why."""
    return {
        o.bed_id: o
        for o in db.session.scalars(
            sa.select(BedOutage)
            .join(Bed, Bed.id == BedOutage.bed_id)
            .where(Bed.facility_id == facility_id, BedOutage.end_date.is_(None))
        )
    }
