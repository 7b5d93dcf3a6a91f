"""Stays: admission, transfer within a home, leave and the end of a stay, and what a
death or a move away ends. Functions flush, never commit; locks as in guards.py (person
first, then bed).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from eldercare import audit
from eldercare.database import insert_or_raise, rowcount, table_of, violated_constraint
from eldercare.errors import Invalid
from eldercare.extensions import db
from eldercare.models import Person, PersonStatus, Support, User
from eldercare.people import services as people

from .errors import (
    BadDate,
    BedOccupied,
    BedReserved,
    BeforeBirth,
    NotOnLeave,
    OnLeave,
    PersonAlreadyInBed,
)
from .guards import (
    check_day,
    check_own_facility,
    check_person_active,
    claim_bed,
    lock_person,
    overlapping,
    require_open,
)
from .models import Bed, EndReason, Leave, LeaveKind, Stay, TransferRequest, TransferStatus


def _check_free(person: Person, bed: Bed, start: date, exclude=()) -> None:
    other = overlapping(Stay.person_id, person.id, start, None, exclude)
    if other is not None:
        raise PersonAlreadyInBed(
            _l(
                "%(name)s 在 %(start_date)s 起已有床位（%(code)s）",
                name=person.name,
                start_date=other.start_date.isoformat(),
                code=other.bed.code,
            ),
            fields={"person_id": _l("此人已有床位")},
        )
    other = overlapping(Stay.bed_id, bed.id, start, None, exclude)
    if other is not None:
        raise BedOccupied(
            _l(
                "床位 %(code)s 在该日期已有人入住（%(name)s）",
                code=bed.code,
                name=other.person.name,
            ),
            fields={"bed_id": _l("床位已有人入住")},
        )


def _insert_stay(stay: Stay) -> Stay:
    """Insert under a savepoint, so that the partial unique indexes' verdict becomes the
    domain error the caller expects rather than a bare integrity error."""
    insert_or_raise(stay, _open_stay_refused)
    return stay


def _open_stay_refused(exc: IntegrityError) -> Exception | None:
    """Which open-stay index refused the stay, by its name: the person's or the bed's."""
    index = violated_constraint(exc, table_of(Stay))
    if index == "uq_stays_open_per_person":
        return PersonAlreadyInBed(_l("此人已有床位"), fields={"person_id": _l("此人已有床位")})
    if index == "uq_stays_open_per_bed":
        return BedOccupied(_l("床位已有人入住"), fields={"bed_id": _l("床位已有人入住")})
    return None


def admit(person: Person, bed: Bed, start: date, user: User | None = None) -> Stay:
    """Admit `person` to `bed` from `start` (back-dated allowed, never in the future).

    Raises NotOwnFacility (a manager outside their home), PersonNotActive (dead or moved
    away), BedOutOfService, BedReserved (held for someone else), PersonAlreadyInBed and
    BedOccupied (any overlap, open or back-dated). Adds the open stay; flushes."""
    check_own_facility(user, bed.facility_id)
    check_person_active(person)
    check_day(start, "start_date")
    if start < person.birth_date:
        raise BeforeBirth(
            _l("入住日期早于出生日期"),
            fields={
                "start_date": _l(
                    "不能早于 %(birth_date)s", birth_date=person.birth_date.isoformat()
                )
            },
        )
    lock_person(person)
    claim_bed(bed, user)
    db.session.refresh(bed)
    if bed.reserved_for_id not in (None, person.id):
        raise BedReserved(
            _l("床位 %(code)s 已预留给他人", code=bed.code), fields={"bed_id": _l("已预留")}
        )
    _check_free(person, bed, start)
    stay = _insert_stay(
        Stay(
            person_id=person.id,
            person=person,
            bed_id=bed.id,
            facility_id=bed.facility_id,
            start_date=start,
            created_by=user.id if user else None,
        )
    )
    if bed.reserved_for_id == person.id:
        bed.reserved_for_id = None
    if start < bed.created_on:  # a late record shows the bed was there already
        bed.created_on = start
    db.session.flush()
    return stay


def transfer(
    stay: Stay,
    bed: Bed,
    on: date,
    user: User | None = None,
) -> Stay:
    """Move the resident of the open `stay` to `bed` from `on`, as ONE operation: the old
    stay ends on `on` (reason transferred) and the new one opens, in this transaction.

    A manager may move residents only between beds of their own home; between homes,
    use request_transfer (the bureau approves). Raises StayNotOpen, OnLeave, Invalid
    (same bed), NotOwnFacility, BedOutOfService, BedOccupied, PersonAlreadyInBed."""
    check_own_facility(user, stay.facility_id)
    check_own_facility(user, bed.facility_id)
    require_open(stay)
    if bed.id == stay.bed_id:
        raise Invalid(_l("新床位与原床位相同"), fields={"bed_id": _l("请选择另一张床位")})
    check_day(on, "date", stay.start_date)
    person = stay.person
    check_person_active(person)
    lock_person(person)
    claim_bed(bed, user)
    db.session.refresh(stay)
    require_open(stay)
    if stay.open_leave is not None:
        raise OnLeave(_l("%(name)s 正在请假，请先销假再转床", name=person.name))
    if any(lv.start_date >= on for lv in stay.leaves):
        raise BadDate(_l("转床日期早于已登记的请假"), fields={"date": _l("早于已登记的请假")})
    db.session.refresh(bed)
    if bed.reserved_for_id not in (None, person.id):
        raise BedReserved(
            _l("床位 %(code)s 已预留给他人", code=bed.code), fields={"bed_id": _l("已预留")}
        )
    _check_free(person, bed, on, exclude=(stay.id,))
    stay.end_date, stay.end_reason = on, EndReason.TRANSFERRED
    db.session.flush()  # the open-stay index frees the person before the new stay
    new = _insert_stay(
        Stay(
            person_id=person.id,
            person=person,
            bed_id=bed.id,
            facility_id=bed.facility_id,
            start_date=on,
            previous_stay_id=stay.id,
            created_by=user.id if user else None,
        )
    )
    if bed.reserved_for_id == person.id:
        bed.reserved_for_id = None
    db.session.flush()
    return new


def end_stay(stay: Stay, on: date, reason: str, user: User | None = None) -> Stay:
    """End the open `stay` on `on` (the first day out of the bed) for `reason`.

    A death goes through the registry's death action (people.services.record_death),
    which ends this stay, the 特困 support and every enrolment in one transaction. An
    open leave closes on the same day. A 特困 person discharged from centralised support
    (集中供养) goes back to dispersed support (分散供养) from that day, so the
    centralised figure stays the number of 特困 persons in beds. Raises StayNotOpen,
    NotOwnFacility, BadDate."""
    check_own_facility(user, stay.facility_id)
    require_open(stay)
    reason = EndReason(reason)
    check_day(on, "date", stay.start_date)
    lock_person(stay.person)
    if any(lv.start_date > on for lv in stay.leaves):
        raise BadDate(_l("结束日期早于已登记的请假"), fields={"date": _l("早于已登记的请假")})
    if reason == EndReason.DECEASED and stay.person.status == PersonStatus.ACTIVE:
        people.record_death(stay.person, on)  # the person_died receiver ends the stay
        db.session.refresh(stay)
        return stay
    _close(stay, on, reason)
    support = stay.person.current_support
    if (
        reason in (EndReason.DISCHARGED, EndReason.OTHER)
        and support is not None
        and support.support == Support.CENTRALIZED
        and on > support.start_date
    ):
        people.start_wubao(stay.person, support.category.value, "dispersed", on)
    return stay


def _close(stay: Stay, on: date, reason: EndReason) -> None:
    on = max(on, stay.start_date)
    leave = stay.open_leave
    if leave is not None:
        leave.returned_on = max(on, leave.start_date)
    stay.end_date, stay.end_reason = on, reason
    db.session.flush()


def open_stay_of(person_id: int) -> Stay | None:
    return db.session.scalar(
        sa.select(Stay).where(Stay.person_id == person_id, Stay.end_date.is_(None))
    )


def end_stays_for(person: Person, on: date, reason: EndReason) -> Stay | None:
    """Receiver side of person_died / person_moved: end the open stay on `on`, cancel
    pending transfer requests and reservations. Flushes only."""
    stay = open_stay_of(person.id)
    if stay is not None:
        _close(stay, on, reason)
        cancelled = db.session.execute(
            sa.update(TransferRequest)
            .where(
                TransferRequest.stay_id == stay.id, TransferRequest.status == TransferStatus.PENDING
            )
            .values(status=TransferStatus.REJECTED, decision_note="入住已结束")
            .execution_options(synchronize_session=False)
        )
        if rowcount(cancelled):
            audit.record(
                "transfer_rejected",
                "transfer_requests",
                None,
                {"stay_id": stay.id, "note": "入住已结束"},
            )
    db.session.execute(
        sa.update(Bed)
        .where(Bed.reserved_for_id == person.id)
        .values(reserved_for_id=None)
        .execution_options(synchronize_session=False)
    )
    return stay


def on_death(person: Person, on: date, **_kw) -> None:
    end_stays_for(person, on, EndReason.DECEASED)


def on_move(person: Person, on: date, **_kw) -> None:
    end_stays_for(person, on, EndReason.MOVED)


# --- leave ----------------------------------------------------------------------------


def start_leave(
    stay: Stay,
    kind: str,
    start: date,
    expected_return: date,
    user: User | None = None,
    note: str = "",
) -> Leave:
    """Record a temporary absence (hospital, home visit): the bed is held. Raises
    StayNotOpen, OnLeave (already away: the open-leave index), BadDate."""
    check_own_facility(user, stay.facility_id)
    require_open(stay)
    check_day(start, "start_date", stay.start_date)
    if expected_return < start:
        raise BadDate(
            _l("预计返回日期早于请假日期"), fields={"expected_return": _l("早于请假日期")}
        )
    lock_person(stay.person)
    db.session.refresh(stay)
    if stay.open_leave is not None:
        raise OnLeave(_l("%(name)s 已在请假中", name=stay.person.name))
    if any(lv.returned_on and lv.returned_on > start for lv in stay.leaves):
        raise BadDate(_l("与已登记的请假重叠"), fields={"start_date": _l("与已登记的请假重叠")})
    leave = Leave(
        stay_id=stay.id,
        kind=LeaveKind(kind),
        start_date=start,
        expected_return=expected_return,
        note=note or "",
    )
    insert_or_raise(leave, OnLeave(_l("%(name)s 已在请假中", name=stay.person.name)))
    db.session.expire(stay, ["leaves"])
    return leave


def return_from_leave(stay: Stay, on: date, user: User | None = None) -> Leave:
    """The resident is back in the bed on `on`. Raises NotOnLeave, BadDate."""
    check_own_facility(user, stay.facility_id)
    require_open(stay)
    leave = stay.open_leave
    if leave is None:
        raise NotOnLeave(_l("%(name)s 不在请假中", name=stay.person.name))
    check_day(on, "date", leave.start_date)
    result = db.session.execute(
        sa.update(Leave)
        .where(Leave.id == leave.id, Leave.returned_on.is_(None))
        .values(returned_on=on)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise NotOnLeave(_l("%(name)s 已销假", name=stay.person.name))
    db.session.refresh(leave)
    audit.record("return_from_leave", "leaves", leave.id, {"returned_on": on.isoformat()})
    return leave
