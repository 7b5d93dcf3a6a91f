"""Home care tables: providers, the year's subsidy and price list, enrolments with their
append-only ledger, visits with the services delivered, and scans (idempotency keys).

Money is `Money` (Decimal yuan, whole fen in the database). The enrolment's `balance`
is a cache of its ledger's sum, changed only by conditional relative updates in the same
transaction as the ledger entry (ENGINEERING.md), and can never go below zero.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.database import Money, MoneyType, UTCDateTime, enum_column, table_of, utcnow
from eldercare.extensions import Model
from eldercare.models import Person, User


class QuantityType(MoneyType):
    """A quantity with two decimals (1.5 hours), stored as whole hundredths like money:
    exact on SQLite too, where NUMERIC would be a float."""

    cache_ok = True


class Unit(enum.StrEnum):
    HOUR = "hour"
    SESSION = "session"
    MEAL = "meal"


class EnrolmentStatus(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class EntryKind(enum.StrEnum):
    ALLOCATION = "allocation"  # the year's subsidy, credited on enrolment (+)
    VISIT_DEBIT = "visit_debit"  # the subsidised part of a visit (-)
    REVERSAL = "reversal"  # a debit given back (+)
    EXPIRY = "expiry"  # what was left at the year's end (-)
    TRANSFER_OUT = "transfer_out"  # the balance moved to the next provider's enrolment (-)
    TRANSFER_IN = "transfer_in"  # the balance brought from the previous provider's (+)


class VisitStatus(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    FLAGGED = "flagged"


class ScanKind(enum.StrEnum):
    CHECK_IN = "check_in"
    CHECK_OUT = "check_out"
    MANUAL = "manual"


class Provider(Model):
    """A home-care service organisation (居家养老服务组织) under contract with the bureau."""

    __tablename__ = "providers"
    __table_args__ = (
        sa.CheckConstraint(
            "contract_to IS NULL OR contract_from IS NULL OR contract_to >= contract_from",
            name="contract_dates_in_order",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    contract_from: Mapped[date | None]
    contract_to: Mapped[date | None]
    phone: Mapped[str] = mapped_column(sa.String(32), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    townships: Mapped[list[ProviderTownship]] = relationship(
        back_populates="provider",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="ProviderTownship.township_code",
    )

    @property
    def township_codes(self) -> list[str]:
        return [t.township_code for t in self.townships]


class ProviderTownship(Model):
    """A township or street the provider's contract covers."""

    __tablename__ = "provider_townships"
    __table_args__ = (sa.UniqueConstraint("provider_id", "township_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id", ondelete="CASCADE"))
    township_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"))
    provider: Mapped[Provider] = relationship(back_populates="townships")


class SubsidyYear(Model):
    """The subsidy each enrolled elder gets for a year (300.00 by default)."""

    __tablename__ = "subsidy_years"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    amount: Mapped[Money] = mapped_column(default=Decimal("300.00"))


class Service(Model):
    """One item of a year's price list (服务项目及价格)."""

    __tablename__ = "services"
    __table_args__ = (
        # Codes are matched case-insensitively (the bureau's catalogue writes `JJ-01`):
        # `jj-01` beside `JJ-01` in one year would make every lookup ambiguous.
        sa.Index("uq_services_year_code_ci", "year", sa.text("lower(code)"), unique=True),
        sa.CheckConstraint("price > 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    code: Mapped[str] = mapped_column(
        sa.String(20), comment="letters, digits, - and _; unique per year ignoring case"
    )
    name: Mapped[str] = mapped_column(sa.String(64))
    unit: Mapped[Unit] = mapped_column(enum_column(Unit, "service_unit"))
    price: Mapped[Money]


class Enrolment(Model):
    """An elder in purchased home care for one year with one provider."""

    __tablename__ = "enrolments"
    __table_args__ = (
        # At most one active enrolment per elder and year; ended ones stay beside it (a
        # change of provider mid-year ends one and starts the next: lifecycle.py).
        sa.Index(
            "uq_enrolments_one_active",
            "person_id",
            "year",
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        ),
        sa.CheckConstraint("balance >= 0", name="balance_not_negative"),
        sa.CheckConstraint("card_serial >= 1", name="card_serial_positive"),
        sa.Index("ix_enrolments_provider_year", "provider_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"))
    year: Mapped[int]
    status: Mapped[EnrolmentStatus] = mapped_column(
        enum_column(EnrolmentStatus, "enrolment_status"), default=EnrolmentStatus.ACTIVE
    )
    enrolled_on: Mapped[date]
    ended_on: Mapped[date | None]
    end_reason: Mapped[str] = mapped_column(sa.String(40), default="")
    end_note: Mapped[str] = mapped_column(
        sa.String(200), default="", server_default="", comment="why it was withdrawn, as told"
    )
    transferred_from_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enrolments.id"),
        unique=True,
        comment="the enrolment whose balance this one took over; unique: moved once",
    )
    outside_reason: Mapped[str] = mapped_column(
        sa.String(200),
        default="",
        server_default="",
        comment="why the elder's township is outside the provider's contract townships",
    )
    card_serial: Mapped[int] = mapped_column(
        default=1, comment="printed into the card's token; a reissue bumps it and revokes the old"
    )
    balance: Mapped[Decimal] = mapped_column(
        MoneyType(), comment="sum of the ledger; changed only by conditional relative updates"
    )

    person: Mapped[Person] = relationship(lazy="joined")
    provider: Mapped[Provider] = relationship(lazy="joined")


SIGN_BY_KIND = (
    "(kind IN ('allocation', 'reversal', 'transfer_in') AND amount > 0) OR "
    "(kind IN ('visit_debit', 'expiry', 'transfer_out') AND amount < 0)"
)


class LedgerEntry(Model):
    """Append-only: the entries' sum is the balance. Never updated or deleted."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        sa.UniqueConstraint("enrolment_id", "visit_id", "kind"),
        # One allocation per enrolment (visit_id is NULL there, which UNIQUE ignores).
        sa.Index(
            "uq_ledger_entries_one_allocation",
            "enrolment_id",
            unique=True,
            sqlite_where=sa.text("kind = 'allocation'"),
            postgresql_where=sa.text("kind = 'allocation'"),
        ),
        # A balance moves out of an enrolment once, and into one once (lifecycle.py).
        *(
            sa.Index(
                f"uq_ledger_entries_one_{kind}",
                "enrolment_id",
                unique=True,
                sqlite_where=sa.text(f"kind = '{kind}'"),
                postgresql_where=sa.text(f"kind = '{kind}'"),
            )
            for kind in ("transfer_out", "transfer_in")
        ),
        sa.CheckConstraint(SIGN_BY_KIND, name="sign_by_kind"),
        # Covers the overview's sums of a year's ledgers (homecare/figures.py): read from
        # the index alone, not row by row (0.6-1 s → about 0.1 s at demo scale 10).
        sa.Index("ix_ledger_entries_enrolment_at_sums", "enrolment_id", "at", "kind", "amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrolments.id"), index=True)
    kind: Mapped[EntryKind] = mapped_column(enum_column(EntryKind, "ledger_kind"))
    amount: Mapped[Decimal] = mapped_column(MoneyType(), comment="+ credit, - debit")
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    note: Mapped[str] = mapped_column(sa.String(200), default="")


class Visit(Model):
    """A worker's visit to an elder's home: check-in, check-out, services, money."""

    __tablename__ = "visits"
    __table_args__ = (
        sa.Index("ix_visits_worker_in", "worker_id", "check_in_at"),
        # manual too, so that a provider's visits counted by month (scorecards, the
        # visits page's manual share) are read from the index alone (homecare_0003)
        sa.Index("ix_visits_provider_in", "provider_id", "check_in_at", "manual"),
        sa.Index("ix_visits_enrolment_in", "enrolment_id", "check_in_at"),
        # The district's newest visits first (the visits list and API, 50 at a time), and
        # the visits in a date range: without it every visit was sorted to show 50.
        sa.Index("ix_visits_in", "check_in_at"),
        sa.CheckConstraint("amount = subsidised + self_paid", name="amount_split"),
        sa.CheckConstraint("subsidised >= 0 AND self_paid >= 0", name="parts_not_negative"),
        sa.CheckConstraint(
            "check_out_at IS NULL OR check_out_at >= check_in_at", name="times_in_order"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrolments.id"))
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"))
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    check_in_at: Mapped[datetime] = mapped_column(UTCDateTime())
    check_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[VisitStatus] = mapped_column(
        enum_column(VisitStatus, "visit_status"), default=VisitStatus.OPEN, index=True
    )
    amount: Mapped[Decimal] = mapped_column(MoneyType(), default=Decimal("0.00"))
    subsidised: Mapped[Decimal] = mapped_column(MoneyType(), default=Decimal("0.00"))
    self_paid: Mapped[Decimal] = mapped_column(MoneyType(), default=Decimal("0.00"))
    lat: Mapped[float | None] = mapped_column(sa.Float, comment="where the check-in was scanned")
    lng: Mapped[float | None] = mapped_column(sa.Float)
    distance_m: Mapped[int | None] = mapped_column(
        comment="largest distance of a scan from the elder's home, metres"
    )
    manual: Mapped[bool] = mapped_column(default=False, comment="logged by hand without a card")
    manual_reason: Mapped[str] = mapped_column(sa.String(20), default="")
    manual_note: Mapped[str] = mapped_column(sa.String(500), default="")
    no_location_reason: Mapped[str] = mapped_column(
        sa.String(20),
        default="",
        server_default="",
        comment="why a scan came without the phone's position (visits.NO_LOCATION_REASONS)",
    )
    exceptions: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    enrolment: Mapped[Enrolment] = relationship(lazy="joined")
    worker: Mapped[User] = relationship(lazy="joined")
    services: Mapped[list[VisitService]] = relationship(
        back_populates="visit",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="VisitService.id",
    )

    def flag(self, code: str) -> None:
        if code not in (self.exceptions or []):
            self.exceptions = [*(self.exceptions or []), code]
        if self.status != VisitStatus.OPEN:
            self.status = VisitStatus.FLAGGED


class VisitService(Model):
    """A service delivered on a visit, priced from the year's catalogue at check-out."""

    __tablename__ = "visit_services"
    __table_args__ = (
        sa.UniqueConstraint("visit_id", "service_code"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(
        sa.ForeignKey("visits.id", ondelete="CASCADE"), index=True
    )
    service_code: Mapped[str] = mapped_column(sa.String(20))
    quantity: Mapped[Decimal] = mapped_column(
        QuantityType(), comment="hours, sessions or meals; two decimals, stored in hundredths"
    )
    unit_price: Mapped[Money]
    amount: Mapped[Money]
    visit: Mapped[Visit] = relationship(back_populates="services")


class Scan(Model):
    """One scan request as received: the idempotency key of the phone that sent it.

    UNIQUE(user_id, client_id) in the same transaction as the effect: a repeat finds
    this row and answers with its visit; the same key with another body is a conflict.
    """

    __tablename__ = "scans"
    __audit__ = False  # the visit it made is audited; the key itself is plumbing
    __table_args__ = (sa.UniqueConstraint("user_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    client_id: Mapped[str] = mapped_column(sa.String(64))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[ScanKind] = mapped_column(enum_column(ScanKind, "scan_kind"))
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# The core leaves users.provider_id without its foreign key (the table is ours); declare
# it here so that the metadata matches the migration that adds it.
table_of(User).append_constraint(
    sa.ForeignKeyConstraint(
        ["provider_id"], ["providers.id"], name="fk_users_provider_id_providers"
    )
)
