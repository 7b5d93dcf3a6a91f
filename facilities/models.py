"""Facilities, rooms, beds, stays, leaves, transfers, attendance, census, snapshots.

History is never overwritten: a stay is a person in a bed over [start_date, end_date)
(end_date excluded, None while open), so "who was in bed X on day D" and the occupancy
on any past day are answered from the stays themselves. What must never happen is a
constraint or a partial unique index here; back-dated overlaps are checked in
services.py under the bed's and the person's row locks.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.database import UTCDateTime, enum_column, table_of, utcnow
from eldercare.extensions import Model
from eldercare.models import Person, User

OPEN = sa.text("end_date IS NULL")


class FacilityKind(enum.StrEnum):
    CARE_HOME = "care_home"  # 敬老院（特困人员供养服务机构）
    DAY_CARE = "day_care"  # 老年人日间照料中心
    PRIVATE = "private"  # 民办养老机构
    HOMECARE_ORG = "homecare_org"  # 居家养老服务组织（有床位者）


class RoomSex(enum.StrEnum):
    M = "M"
    F = "F"
    MIXED = "mixed"


class BedKind(enum.StrEnum):
    ORDINARY = "ordinary"
    NURSING = "nursing"  # 护理型床位


class EndReason(enum.StrEnum):
    DISCHARGED = "discharged"  # 出院（回家）
    DECEASED = "deceased"
    MOVED = "moved"  # 迁出本区
    TRANSFERRED = "transferred"  # 转床 / 转院: a new stay follows
    OTHER = "other"


class LeaveKind(enum.StrEnum):
    HOSPITAL = "hospital"  # 住院
    HOME_VISIT = "home_visit"  # 探亲
    OTHER = "other"


class TransferStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Facility(Model):
    __tablename__ = "facilities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    kind: Mapped[FacilityKind] = mapped_column(
        enum_column(FacilityKind, "facility_kind"), index=True
    )
    township_code: Mapped[str | None] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    capacity: Mapped[int] = mapped_column(default=0, comment="approved places (核定床位)")
    opened_on: Mapped[date | None] = mapped_column(comment="counted in figures from this day")
    closed_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    rooms: Mapped[list[Room]] = relationship(back_populates="facility", order_by="Room.code")

    def __repr__(self) -> str:
        return f"<Facility {self.id} {self.name}>"


class Room(Model):
    __tablename__ = "rooms"
    __table_args__ = (sa.UniqueConstraint("facility_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facilities.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    sex: Mapped[RoomSex] = mapped_column(enum_column(RoomSex, "room_sex"), default=RoomSex.MIXED)

    facility: Mapped[Facility] = relationship(back_populates="rooms")
    beds: Mapped[list[Bed]] = relationship(back_populates="room", order_by="Bed.code")


class Bed(Model):
    """A bed. Its status on a day is derived from stays, leaves and outages; only the
    out-of-service flag and a reservation are stored on the row."""

    __tablename__ = "beds"
    __table_args__ = (
        sa.UniqueConstraint("facility_id", "code"),
        # the few reserved beds, counted for today's figures (facilities_0002)
        sa.Index(
            "ix_beds_reserved",
            "reserved_for_id",
            sqlite_where=sa.text("reserved_for_id IS NOT NULL"),
            postgresql_where=sa.text("reserved_for_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facilities.id"), index=True)
    room_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    kind: Mapped[BedKind] = mapped_column(
        enum_column(BedKind, "bed_kind"), default=BedKind.ORDINARY
    )
    out_of_service: Mapped[bool] = mapped_column(default=False)
    out_of_service_reason: Mapped[str] = mapped_column(sa.String(200), default="")
    reserved_for_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("people.id"), comment="held for an admission that is arranged (预留)"
    )
    created_on: Mapped[date] = mapped_column(comment="counted in bed totals from this day")
    version: Mapped[int] = mapped_column(
        default=1,
        comment="bumped by every admission: the conditional update that locks the "
        "bed and checks it is in service and in the admitting manager's home",
    )

    facility: Mapped[Facility] = relationship()
    room: Mapped[Room | None] = relationship(back_populates="beds")


class BedOutage(Model):
    """A period a bed was out of service, so past figures stay true."""

    __tablename__ = "bed_outages"
    __table_args__ = (
        sa.Index(
            "uq_bed_outages_open_per_bed",
            "bed_id",
            unique=True,
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        ),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bed_id: Mapped[int] = mapped_column(sa.ForeignKey("beds.id"), index=True)
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    reason: Mapped[str] = mapped_column(sa.String(200), default="")


class Stay(Model):
    """A person in a bed over [start_date, end_date). At most one open stay per bed and
    per person (partial unique indexes); closed stays never overlap (services check
    under row locks)."""

    __tablename__ = "stays"
    __table_args__ = (
        sa.Index(
            "uq_stays_open_per_bed", "bed_id", unique=True, sqlite_where=OPEN, postgresql_where=OPEN
        ),
        sa.Index(
            "uq_stays_open_per_person",
            "person_id",
            unique=True,
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        ),
        sa.Index("ix_stays_facility_dates", "facility_id", "start_date", "end_date"),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_in_order"),
        sa.CheckConstraint("(end_date IS NULL) = (end_reason IS NULL)", name="end_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    bed_id: Mapped[int] = mapped_column(sa.ForeignKey("beds.id"), index=True)
    facility_id: Mapped[int] = mapped_column(
        sa.ForeignKey("facilities.id"), comment="the bed's facility, kept for scoped queries"
    )
    start_date: Mapped[date]
    end_date: Mapped[date | None] = mapped_column(comment="first day no longer in the bed")
    end_reason: Mapped[EndReason | None] = mapped_column(enum_column(EndReason, "end_reason"))
    previous_stay_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("stays.id"), comment="the stay this one continues after a transfer"
    )
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    person: Mapped[Person] = relationship(lazy="joined")
    bed: Mapped[Bed] = relationship()
    facility: Mapped[Facility] = relationship()
    leaves: Mapped[list[Leave]] = relationship(back_populates="stay", order_by="Leave.start_date")

    @property
    def open_leave(self) -> Leave | None:
        return next((lv for lv in self.leaves if lv.returned_on is None), None)

    def covers(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day < self.end_date)


class Leave(Model):
    """Temporary absence inside a stay (the bed is held, 请假)."""

    __tablename__ = "leaves"
    __table_args__ = (
        sa.Index(
            "uq_leaves_open_per_stay",
            "stay_id",
            unique=True,
            sqlite_where=sa.text("returned_on IS NULL"),
            postgresql_where=sa.text("returned_on IS NULL"),
        ),
        sa.CheckConstraint(
            "returned_on IS NULL OR returned_on >= start_date", name="dates_in_order"
        ),
        sa.CheckConstraint("expected_return >= start_date", name="expected_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stay_id: Mapped[int] = mapped_column(sa.ForeignKey("stays.id"), index=True)
    kind: Mapped[LeaveKind] = mapped_column(enum_column(LeaveKind, "leave_kind"))
    start_date: Mapped[date]
    expected_return: Mapped[date]
    returned_on: Mapped[date | None] = mapped_column(
        comment="the day back in the bed, or the day the stay ended during the leave"
    )
    note: Mapped[str] = mapped_column(sa.String(200), default="")

    stay: Mapped[Stay] = relationship(back_populates="leaves")


class TransferRequest(Model):
    """A move between two homes: asked by the sending manager, decided by the bureau."""

    __tablename__ = "transfer_requests"
    __table_args__ = (
        sa.Index(
            "uq_transfer_requests_pending_per_stay",
            "stay_id",
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stay_id: Mapped[int] = mapped_column(sa.ForeignKey("stays.id"), index=True)
    to_bed_id: Mapped[int] = mapped_column(sa.ForeignKey("beds.id"))
    on_date: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[TransferStatus] = mapped_column(
        enum_column(TransferStatus, "transfer_status"), default=TransferStatus.PENDING
    )
    requested_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str] = mapped_column(sa.String(200), default="")
    new_stay_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stays.id"))

    stay: Mapped[Stay] = relationship(foreign_keys=[stay_id])
    to_bed: Mapped[Bed] = relationship()


class Attendance(Model):
    """A day at a day-care centre (日间照料): use is measured by attendance, not nights."""

    __tablename__ = "attendance"
    __table_args__ = (
        sa.UniqueConstraint("person_id", "facility_id", "day"),
        sa.Index("ix_attendance_facility_day", "facility_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facilities.id"))
    day: Mapped[date]
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recorded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    person: Mapped[Person] = relationship()


class CensusConfirmation(Model):
    """The manager confirmed that the bed board was true on `day` (每日查房确认)."""

    __tablename__ = "census_confirmations"
    __table_args__ = (sa.UniqueConstraint("facility_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facilities.id"))
    day: Mapped[date]
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    residents: Mapped[int] = mapped_column(default=0, comment="residents on the board then")

    user: Mapped[User | None] = relationship()


class OccupancySnapshot(Model):
    """A day's figures per facility, written once by the occupancy-snapshot job."""

    __tablename__ = "occupancy_snapshots"
    __table_args__ = (sa.UniqueConstraint("facility_id", "day"),)
    __audit__ = False  # derived figures, rewritten by a job

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facilities.id"))
    day: Mapped[date]
    beds: Mapped[int]
    occupied: Mapped[int]
    held: Mapped[int]


# users.facility_id names a facility: the core leaves the key to this feature, declared
# here so that the metadata (autogenerate, table order) knows it too.
if not any(fk.parent.name == "facility_id" for fk in table_of(User).foreign_keys):
    table_of(User).append_constraint(
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name="fk_users_facility_id_facilities"
        )
    )
