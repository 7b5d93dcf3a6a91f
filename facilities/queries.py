"""The read side: occupancy on any day, bed status, history (the vacant beds and the
placement ranking are in vacancies.py).

Everything is answered from stays, leaves and outages, so past days are as true as
today. A stay covers day D when start_date <= D < end_date (end_date None: open).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, subqueryload

from eldercare.extensions import db
from eldercare.models import CareLevel, Person, PersonStatus, Support, WubaoSupport
from eldercare.stats import month_ends, ratio
from eldercare.timeutil import local_today

from .models import Bed, BedKind, BedOutage, Facility, FacilityKind, Leave, Room, Stay


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
