"""Vacant beds and the placement ranking (centralised support, 国发〔2016〕14号): which
beds can really be taken today, and for a 特困 applicant the best of them with the
reasons. Read from beds and stays as queries.py is; placement.py places."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from eldercare.extensions import db
from eldercare.models import CareLevel, Person, Region
from eldercare.regions_data import distance_km
from eldercare.timeutil import local_today

from .models import Bed, BedKind, Facility, FacilityKind, Room, RoomSex, Stay
from .queries import facility_active_on


@dataclass
class Option:
    bed: Bed
    facility: Facility
    room: Room | None
    distance_km: float | None
    same_township: bool
    reasons: list[str] = field(default_factory=list)
    rank: int = 0


def _point(code: str | None, points: dict) -> tuple[float, float] | None:
    p = points.get(code) if code else None
    return p if p and p[0] is not None else None


def vacant_beds(kinds=(FacilityKind.CARE_HOME,), facility_id: int | None = None) -> list[Bed]:
    """Beds that can really be taken today: in service, not reserved, nobody in them
    now or later (a back-dated or future stay would make the admission fail)."""
    today = local_today()
    where = [Bed.facility_id == facility_id] if facility_id is not None else []
    busy = sa.select(Stay.id).where(
        Stay.bed_id == Bed.id, sa.or_(Stay.end_date.is_(None), Stay.end_date > today)
    )
    return list(
        db.session.scalars(
            sa.select(Bed)
            .join(Facility, Facility.id == Bed.facility_id)
            .where(
                Facility.kind.in_(kinds),
                facility_active_on(today),
                Bed.out_of_service.is_(False),
                Bed.reserved_for_id.is_(None),
                Bed.created_on <= today,
                ~busy.exists(),
                *where,
            )
            .order_by(Bed.code)
            .options(selectinload(Bed.room), selectinload(Bed.facility))
        )
    )


def _vacant_rooms(today: date):
    """One vacant, takeable care-home bed per (room, bed kind): plain rows, no objects,
    so ranking stays fast with thousands of vacant beds."""
    busy = sa.select(Stay.id).where(
        Stay.bed_id == Bed.id, sa.or_(Stay.end_date.is_(None), Stay.end_date > today)
    )
    return db.session.execute(
        sa.select(
            sa.func.min(Bed.id),
            Bed.kind,
            Room.sex,
            Facility.id,
            Facility.name,
            Facility.township_code,
        )
        .select_from(Bed)
        .join(Facility, Facility.id == Bed.facility_id)
        .outerjoin(Room, Room.id == Bed.room_id)
        .where(
            Facility.kind == FacilityKind.CARE_HOME,
            facility_active_on(today),
            Bed.out_of_service.is_(False),
            Bed.reserved_for_id.is_(None),
            Bed.created_on <= today,
            ~busy.exists(),
        )
        .group_by(
            Facility.id, Facility.name, Facility.township_code, Bed.room_id, Bed.kind, Room.sex
        )
    ).all()


def _home_point(person: Person) -> tuple[dict, tuple[float, float] | None]:
    """The townships' points (and the person's village's), and where the person lives:
    their home point, else their village's, else their township's."""
    regions = {
        c: (la, ln)
        for c, la, ln in db.session.execute(
            sa.select(Region.code, Region.lat, Region.lng).where(Region.level != "village")
        )
    }
    if person.village_code:
        v = db.session.get(Region, person.village_code)
        if v is not None:
            regions[v.code] = (v.lat, v.lng)
    home = (
        (person.home_lat, person.home_lng)
        if person.home_lat is not None and person.home_lng is not None
        else _point(person.village_code, regions) or _point(person.township_code, regions)
    )
    return regions, home


def _ranked(person: Person, full: bool, limit: int) -> list[tuple]:
    """(key, bed id, distance, same township) of the best `limit` vacant rooms: a
    nursing bed for a full-care person, then the same township, then the nearest."""
    regions, home = _home_point(person)
    scored = []
    for bed_id, kind, sex, _fid, fname, town in _vacant_rooms(local_today()):
        if sex is not None and sex not in (RoomSex.MIXED, person.sex.value):
            continue
        point = _point(town, regions)
        dist = round(distance_km(*home, *point), 1) if home and point else None
        same = bool(town and town == person.township_code)
        nursing = kind == BedKind.NURSING
        key = (
            full and not nursing,
            not same,
            dist if dist is not None else 9999,
            (not full) and nursing,
            fname,
            bed_id,
        )
        scored.append((key, bed_id, dist, same))
    scored.sort(key=lambda t: t[0])
    return scored[:limit]


def _reasons(bed: Bed, full: bool, same: bool, dist: float | None, names: dict) -> list[str]:
    """Why this bed is offered, in the order the ranking weighs them."""
    fac, room = bed.facility, bed.room
    reasons = []
    if same:
        reasons.append(f"同乡镇（{names.get(fac.township_code, fac.township_code)}）")
    if dist is not None:
        reasons.append(f"距住址约 {dist} 公里")
    if bed.kind == BedKind.NURSING:
        reasons.append("护理型床位，适合全护理人员" if full else "护理型床位")
    elif full:
        reasons.append("普通床位（全护理人员宜住护理型床位）")
    else:
        reasons.append("普通床位，护理型床位留给失能人员")
    if room is not None:
        reasons.append(
            {"M": "男性房间", "F": "女性房间"}.get(room.sex.value, "混住房间") + f"（{room.code}）"
        )
    return reasons


def placement_options(person: Person, limit: int = 10) -> list[Option]:
    """Vacant care-home beds for a 特困 applicant, best first, each with its reasons:
    same township first, then nearest; a nursing bed for a full-care person (ordinary
    beds are kept for the others); never a room of the other sex. One bed per room and
    kind keeps the list varied."""
    full = person.care_level == CareLevel.FULL
    top = _ranked(person, full, limit)
    beds = {
        b.id: b
        for b in db.session.scalars(
            sa.select(Bed)
            .where(Bed.id.in_([t[1] for t in top]))
            .options(selectinload(Bed.room), selectinload(Bed.facility))
        )
    }
    names: dict[str | None, str | None] = dict(
        db.session.execute(
            sa.select(Region.code, Region.name).where(Region.level == "township")
        ).all()
    )
    return [
        Option(
            beds[bed_id],
            beds[bed_id].facility,
            beds[bed_id].room,
            dist,
            same,
            _reasons(beds[bed_id], full, same, dist, names),
            rank,
        )
        for rank, (_key, bed_id, dist, same) in enumerate(top, 1)
    ]
