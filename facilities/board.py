"""The bed board a page of rooms at a time (issue 15: a 1,420-bed home drew every tile on
every visit, 1.1 s at demo scale 10). The summary above the board still counts the whole
home; the tiles are those of BOARD_ROOMS rooms, and a bed named in the address (`?bed=`,
the way back from a bed's page) opens the page that holds it."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from eldercare.extensions import db
from eldercare.pagination import Page

from .models import Bed, Facility, Room, Stay
from .queries import bed_status, stays_by_bed

BOARD_ROOMS = 24  # rooms per page: 48-100 tiles in the demo's homes


def _rooms(facility_id: int, day: date) -> sa.Select:
    """The rooms that have a bed on `day`, in the board's order."""
    has_bed = sa.exists().where(Bed.room_id == Room.id, Bed.created_on <= day)
    return sa.select(Room.id).where(Room.facility_id == facility_id, has_bed).order_by(Room.code)


def _page_number(facility_id: int, day: date, args, per_page: int) -> int:
    """The page asked for, or the one holding the room of `?bed=` (1 if there is none)."""
    bed = str(args.get("bed", ""))
    if args.get("page") or not bed.isdigit() or len(bed) > 12:
        return _int(args.get("page"), 1)
    found = db.session.execute(
        sa.select(Bed.room_id).where(Bed.id == int(bed), Bed.facility_id == facility_id)
    ).first()
    if found is None:
        return 1
    if found.room_id is None:  # beds without a room come last
        return _last(facility_id, day, per_page)
    code = db.session.scalar(sa.select(Room.code).where(Room.id == found.room_id))
    before = db.session.scalar(
        sa.select(sa.func.count()).select_from(
            _rooms(facility_id, day).where(Room.code < code).subquery()
        )
    )
    return (before or 0) // per_page + 1


def _last(facility_id: int, day: date, per_page: int) -> int:
    total = (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(_rooms(facility_id, day).subquery())
        )
        or 0
    )
    return max(1, -(-total // per_page))


def _int(value, default: int) -> int:
    try:
        return max(1, min(1_000_000, int(value)))
    except (TypeError, ValueError):
        return default


def board_page(
    facility: Facility, day: date, args, per_page: int = BOARD_ROOMS
) -> tuple[list[tuple[Room | None, list]], Page]:
    """One page of the board: [(room, [(bed, stay, status)])] and the page of rooms. Beds
    without a room come on the last page."""
    number = _page_number(facility.id, day, args, per_page)
    rooms = _rooms(facility.id, day)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(rooms.subquery())) or 0
    page = Page([], total, number, per_page)
    ids = list(db.session.scalars(rooms.limit(per_page).offset((number - 1) * per_page)))
    where: sa.ColumnElement[bool] = Bed.room_id.in_(ids)
    if number >= page.pages:
        where = sa.or_(where, Bed.room_id.is_(None))
    beds = list(
        db.session.scalars(
            sa.select(Bed)
            .where(Bed.facility_id == facility.id, Bed.created_on <= day, where)
            .options(joinedload(Bed.room))
            .order_by(Bed.code)
        )
    )
    stays = stays_by_bed(facility.id, day, [b.id for b in beds])
    grouped: dict[int | None, tuple[Room | None, list]] = {}
    for bed in beds:
        stay: Stay | None = stays.get(bed.id)
        grouped.setdefault(bed.room_id, (bed.room, []))[1].append(
            (bed, stay, bed_status(bed, stay, day))
        )
    page.items = sorted(grouped.values(), key=lambda r: (r[0] is None, r[0].code if r[0] else ""))
    return page.items, page
