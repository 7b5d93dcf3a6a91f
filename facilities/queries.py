"""The read side: occupancy on any day, bed status, history, placement ranking.

Everything is answered from stays, leaves and outages, so past days are as true as
today. A stay covers day D when start_date <= D < end_date (end_date None: open).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload, subqueryload

from eldercare.extensions import db
from eldercare.models import CareLevel, Person, PersonStatus, Region, Support, WubaoSupport
from eldercare.regions_data import distance_km
from eldercare.stats import month_ends, ratio
from eldercare.timeutil import local_today

from .models import Bed, BedKind, BedOutage, Facility, FacilityKind, Leave, Room, RoomSex, Stay


def stay_covers(day: date):
    return sa.and_(Stay.start_date <= day, sa.or_(Stay.end_date.is_(None), Stay.end_date > day))


def leave_covers(day: date):
    return sa.and_(
        Leave.start_date <= day, sa.or_(Leave.returned_on.is_(None), Leave.returned_on > day)
    )


def outage_covers(day: date):
    return sa.and_(
        BedOutage.start_date <= day, sa.or_(BedOutage.end_date.is_(None), BedOutage.end_date > day)
    )


def facility_active_on(day: date):
    return sa.and_(
        sa.or_(Facility.opened_on.is_(None), Facility.opened_on <= day),
        sa.or_(Facility.closed_on.is_(None), Facility.closed_on > day),
    )


@dataclass
class Occupancy:
    beds: int = 0
    occupied: int = 0  # a resident in the bed that day
    held: int = 0  # the resident is on leave: the bed is kept for them (counted apart)
    reserved: int = 0
    out_of_service: int = 0
    nursing: int = 0

    @property
    def available(self) -> int:
        return max(0, self.beds - self.occupied - self.held - self.reserved - self.out_of_service)

    @property
    def residents(self) -> int:
        return self.occupied + self.held

    @property
    def rate(self) -> str:
        """Occupancy rate: residents (present or on leave) per bed, three decimals."""
        return ratio(self.residents, self.beds)

    def add(self, other: Occupancy) -> None:
        for k in ("beds", "occupied", "held", "reserved", "out_of_service", "nursing"):
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def as_dict(self) -> dict:
        return {
            "total": self.beds,
            "occupied": self.occupied,
            "held": self.held,
            "reserved": self.reserved,
            "available": self.available,
            "out_of_service": self.out_of_service,
            "residents": self.residents,
            "nursing": self.nursing,
            "occupancy_rate": self.rate,
        }


def occupancy(day: date, facility_ids: list[int] | None = None) -> dict[int, Occupancy]:
    """Per facility: beds existing on `day` and how they stood, from history. One query."""
    stay_j = sa.and_(Stay.bed_id == Bed.id, stay_covers(day))
    today = day == local_today()
    stmt = (
        sa.select(
            Bed.facility_id,
            sa.func.count(Bed.id),
            sa.func.count(Stay.id),
            sa.func.count(Leave.id),
            sa.func.count(BedOutage.id),
            sa.func.count(sa.case((Bed.kind == BedKind.NURSING, 1))),
            # a reservation is today's state only: it has no history
            sa.func.count(
                sa.case(
                    (
                        sa.and_(
                            Bed.reserved_for_id.is_not(None),
                            Stay.id.is_(None),
                            BedOutage.id.is_(None),
                        ),
                        1,
                    )
                )
            ),
        )
        .select_from(Bed)
        .outerjoin(Stay, stay_j)
        .outerjoin(Leave, sa.and_(Leave.stay_id == Stay.id, leave_covers(day)))
        .outerjoin(BedOutage, sa.and_(BedOutage.bed_id == Bed.id, outage_covers(day)))
        .where(Bed.created_on <= day)
        .group_by(Bed.facility_id)
    )
    if facility_ids is not None:
        stmt = stmt.where(Bed.facility_id.in_(facility_ids))
    out: dict[int, Occupancy] = {}
    for fid, beds, with_stay, held, oos, nursing, reserved in db.session.execute(stmt):
        out[fid] = Occupancy(
            beds=beds,
            occupied=with_stay - held,
            held=held,
            reserved=reserved if today else 0,
            out_of_service=oos,
            nursing=nursing,
        )
    return out


def facility_occupancy(facility_id: int, day: date | None = None) -> Occupancy:
    return occupancy(day or local_today(), [facility_id]).get(facility_id, Occupancy())


def district_occupancy_counted(day: date) -> dict[str, Occupancy]:
    """Totals per facility kind on `day`, and "all", counted from every bed: what the
    day tallies (tallies.py) keep, and what their tests compare with."""
    kinds = dict(
        db.session.execute(
            sa.select(Facility.id, Facility.kind).where(facility_active_on(day))
        ).all()
    )
    out: dict[str, Occupancy] = {"all": Occupancy()}
    for fid, occ in occupancy(day).items():
        if fid not in kinds:
            continue
        out.setdefault(kinds[fid].value, Occupancy()).add(occ)
        out["all"].add(occ)
    return out


def _reserved_today(day: date) -> dict[str, int]:
    """Reserved beds per facility kind: today's state (a reservation has no history),
    counted from the few beds that carry one (ix_beds_reserved)."""
    if day != local_today():
        return {}
    free = sa.and_(
        ~sa.select(Stay.id).where(Stay.bed_id == Bed.id, stay_covers(day)).exists(),
        ~sa.select(BedOutage.id).where(BedOutage.bed_id == Bed.id, outage_covers(day)).exists(),
    )
    rows = db.session.execute(
        sa.select(Facility.kind, sa.func.count(Bed.id))
        .join(Facility, Facility.id == Bed.facility_id)
        .where(
            Bed.reserved_for_id.is_not(None),
            Bed.created_on <= day,
            facility_active_on(day),
            free,
        )
        .group_by(Facility.kind)
    )
    return {FacilityKind(k).value: int(n) for k, n in rows}


def district_occupancy(day: date) -> dict[str, Occupancy]:
    """Totals per facility kind on `day`, and "all" (kinds with beds on that day), from
    the day tallies: a sum of the days on which a bed, stay, leave or outage began or
    ended, whatever the district's size."""
    from .tallies import beds_on

    reserved = _reserved_today(day)
    out: dict[str, Occupancy] = {"all": Occupancy()}
    for kind, t in sorted(beds_on(day).items()):
        if t["beds"] <= 0:
            continue
        occ = Occupancy(
            beds=t["beds"],
            occupied=t["stays"] - t["held"],
            held=t["held"],
            reserved=reserved.get(kind, 0),
            out_of_service=t["out_of_service"],
            nursing=t["nursing"],
        )
        out[kind] = occ
        out["all"].add(occ)
    return out


def monthly_trend(
    months: int = 12,
    facility_id: int | None = None,
    kind: str | None = None,
    until: date | None = None,
) -> list[dict]:
    """Occupancy on the last day of each of the past months (and on `until`, default
    today), from history."""
    days = month_ends(until or local_today(), months)
    snap = _snapshots(days, facility_id, kind)
    points = []
    for d in days:
        if d in snap:
            occ = snap[d]
        elif facility_id is not None:
            occ = facility_occupancy(facility_id, d)
        else:
            occ = district_occupancy(d).get(kind or "all", Occupancy())
        points.append(
            {
                "date": d.isoformat(),
                "beds": occ.beds,
                "residents": occ.residents,
                "held": occ.held,
                "rate": occ.rate,
            }
        )
    return points


def _snapshots(days: list[date], facility_id: int | None, kind: str | None) -> dict:
    """Occupancy from the daily snapshots (occupancy-snapshot job), where written."""
    from .models import OccupancySnapshot as Snap

    stmt = (
        sa.select(
            Snap.day, sa.func.sum(Snap.beds), sa.func.sum(Snap.occupied), sa.func.sum(Snap.held)
        )
        .join(Facility, Facility.id == Snap.facility_id)
        .where(Snap.day.in_(days))
        .group_by(Snap.day)
    )
    if facility_id is not None:
        stmt = stmt.where(Snap.facility_id == facility_id)
    elif kind and kind != "all":
        stmt = stmt.where(Facility.kind == kind)
    return {
        d: Occupancy(beds=int(b or 0), occupied=int(o or 0), held=int(h or 0))
        for d, b, o, h in db.session.execute(stmt)
    }


def stays_on(day: date, facility_id: int) -> list[Stay]:
    return list(
        db.session.scalars(sa.select(Stay).where(Stay.facility_id == facility_id, stay_covers(day)))
    )


def who_was_in_bed(bed: Bed, day: date) -> Stay | None:
    """The stay that held `bed` on `day` (None: nobody)."""
    return db.session.scalar(sa.select(Stay).where(Stay.bed_id == bed.id, stay_covers(day)))


def bed_history(bed: Bed) -> list[Stay]:
    """Every stay of the bed, newest first."""
    return list(
        db.session.scalars(
            sa.select(Stay)
            .where(Stay.bed_id == bed.id)
            .order_by(Stay.start_date.desc(), Stay.id.desc())
        )
    )


def bed_status(bed: Bed, stay: Stay | None, day: date | None = None) -> str:
    """available, occupied, held (resident on leave), reserved or out_of_service."""
    day = day or local_today()
    if stay is not None and stay.covers(day):
        if any(
            lv.start_date <= day and (lv.returned_on is None or lv.returned_on > day)
            for lv in stay.leaves
        ):
            return "held"
        return "occupied"
    if bed.out_of_service:
        return "out_of_service"
    if bed.reserved_for_id is not None:
        return "reserved"
    return "available"


def beds_and_stays(facility_id: int, day: date) -> tuple[list[Bed], dict[int, Stay]]:
    """A facility's beds on `day` (with their rooms) and the stay covering each bed (with
    its leaves, and the resident's categories and 特困 records), in one query each. The
    default selectin loading asks in batches of 500 ids: the statements grew with the
    home (16 for 151 beds, 22 for 1,420 at demo scale 10; bench/README.md)."""
    beds = list(
        db.session.scalars(
            sa.select(Bed)
            .where(Bed.facility_id == facility_id, Bed.created_on <= day)
            .options(joinedload(Bed.room))
            .order_by(Bed.code)
        )
    )
    return beds, stays_by_bed(facility_id, day)


def stays_by_bed(facility_id: int, day: date, bed_ids: list[int] | None = None) -> dict[int, Stay]:
    """The stay covering each bed of the facility (of `bed_ids` only, if given) on `day`,
    with its leaves and the resident's categories and 特困 records: {bed id: stay}."""
    stmt = sa.select(Stay).where(Stay.facility_id == facility_id, stay_covers(day))
    if bed_ids is not None:
        stmt = stmt.where(Stay.bed_id.in_(bed_ids))
    return {
        s.bed_id: s
        for s in db.session.scalars(
            stmt.options(
                subqueryload(Stay.leaves),
                joinedload(Stay.person).subqueryload(Person.categories),
                joinedload(Stay.person).subqueryload(Person.supports),
            )
        )
    }


def board(facility: Facility, day: date | None = None) -> list[tuple[Room | None, list]]:
    """The bed board: rooms with their beds, each bed with its open stay and status."""
    day = day or local_today()
    beds, stays = beds_and_stays(facility.id, day)
    rooms: dict[int | None, tuple[Room | None, list]] = {}
    for bed in beds:
        stay = stays.get(bed.id)
        entry = rooms.setdefault(bed.room_id, (bed.room, []))
        entry[1].append((bed, stay, bed_status(bed, stay, day)))
    return sorted(rooms.values(), key=lambda r: (r[0] is None, r[0].code if r[0] else ""))


def home_since(stays: list[Stay]) -> dict[int, date]:
    """For each stay, the day its resident came into this home: a move to another bed of
    the same home (a transfer, which opens a new stay) keeps counting from the first
    bed. A stay that came from another home counts from its own start."""
    since = {s.id: s.start_date for s in stays}
    pending = {s.id: (s.previous_stay_id, s.facility_id) for s in stays if s.previous_stay_id}
    while pending:  # one query per transfer in the longest chain: few
        earlier = {
            s.id: s
            for s in db.session.scalars(
                sa.select(Stay).where(Stay.id.in_({prev for prev, _f in pending.values()}))
            )
        }
        following = {}
        for sid, (prev, facility_id) in pending.items():
            s = earlier.get(prev)
            if s is None or s.facility_id != facility_id:
                continue
            since[sid] = s.start_date
            if s.previous_stay_id:
                following[sid] = (s.previous_stay_id, facility_id)
        pending = following
    return since


def overdue_leaves(facility_id: int | None = None, day: date | None = None) -> list[Leave]:
    """Open leaves past their expected return: alerts on the board."""
    day = day or local_today()
    stmt = (
        sa.select(Leave)
        .join(Stay, Stay.id == Leave.stay_id)
        .where(Leave.returned_on.is_(None), Leave.expected_return < day, Stay.end_date.is_(None))
    )
    if facility_id is not None:
        stmt = stmt.where(Stay.facility_id == facility_id)
    return list(db.session.scalars(stmt.order_by(Leave.expected_return)))


def waiting_list() -> sa.Select:
    """特困 persons who applied for centralised support and have no bed yet: full- and
    partial-care persons first (国发〔2016〕14号), then by the date they applied."""
    open_stay = sa.select(Stay.id).where(Stay.person_id == Person.id, Stay.end_date.is_(None))
    priority = sa.case((Person.care_level.in_([CareLevel.FULL, CareLevel.PARTIAL]), 0), else_=1)
    return (
        sa.select(Person, WubaoSupport)
        .join(WubaoSupport, WubaoSupport.person_id == Person.id)
        .where(
            WubaoSupport.end_date.is_(None),
            WubaoSupport.support == Support.DISPERSED,
            WubaoSupport.applied_centralized_on.is_not(None),
            Person.status == PersonStatus.ACTIVE,
            ~open_stay.exists(),
        )
        .order_by(priority, WubaoSupport.applied_centralized_on, Person.id)
    )


# --- placement ------------------------------------------------------------------------


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


def placement_options(person: Person, limit: int = 10) -> list[Option]:
    """Vacant care-home beds for a 特困 applicant, best first, each with its reasons:
    same township first, then nearest; a nursing bed for a full-care person (ordinary
    beds are kept for the others); never a room of the other sex. One bed per room and
    kind keeps the list varied."""
    full = person.care_level == CareLevel.FULL
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
    scored = []
    for bed_id, kind, sex, _fid, fname, town in _vacant_rooms(local_today()):
        if sex is not None and sex not in (RoomSex.MIXED, person.sex.value):
            continue
        point = _point(town, regions)
        dist = round(distance_km(*home, *point), 1) if home and point else None
        same = bool(town and town == person.township_code)
        nursing = kind == BedKind.NURSING
        scored.append(
            (
                (
                    full and not nursing,
                    not same,
                    dist if dist is not None else 9999,
                    (not full) and nursing,
                    fname,
                    bed_id,
                ),
                bed_id,
                dist,
                same,
            )
        )
    scored.sort(key=lambda t: t[0])
    top = scored[:limit]
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
    options = []
    for rank, (_key, bed_id, dist, same) in enumerate(top, 1):
        bed = beds[bed_id]
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
                {"M": "男性房间", "F": "女性房间"}.get(room.sex.value, "混住房间")
                + f"（{room.code}）"
            )
        options.append(Option(bed, fac, room, dist, same, reasons, rank))
    return options
