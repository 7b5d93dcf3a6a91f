"""Claims (月度结算申报) and their reconciliation, and telephone call-backs (回访).

A provider claims a month of visits line by line; reconciliation decides every line
set-wise in the database (services.reconcile) and writes the machine's decision into
the `auto_*` columns. A clerk may override a line with a written reason; the effective
decision (`decision`, `approved_amount`) is the override where there is one, else the
machine's, so that running reconciliation again never loses a clerk's word.

Reasons are stored as bits of one integer (`reason_bits`), so that the SQL that
decides a line can set them with arithmetic on SQLite and PostgreSQL alike, and pages
can filter on them (`reason_bits & 32 <> 0`). `REASONS` fixes their order.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.crypto import EncryptedString
from eldercare.database import MoneyType, UTCDateTime, enum_column, utcnow
from eldercare.extensions import Model
from eldercare.models import User

from ..models import Provider, QuantityType, Visit

#: Reason codes of API.md that decide what a line is paid, in its order.
MONEY_REASONS: tuple[str, ...] = (
    "no_visit",
    "duplicate_line",
    "id_mismatch",
    "amount_mismatch",
    "quantity_exceeds_time",
    "over_budget",
    "not_enrolled",
    "deceased",
    "outside_month",
    "visit_incomplete",
    "worker_overlap",
)
#: Proof-of-presence exceptions (issue 14) carried over from the line's visit, the
#: strongest first: they decide no amount, they hold the line (presence.py).
PRESENCE_REASONS: tuple[str, ...] = (
    "same_place",
    "impossible_travel",
    "suspect_card",
    "far_from_home",
    "future_time",
    "late_upload",
    "no_location",
    "no_home_point",
)
#: Bit i of `reason_bits` is REASONS[i]; new codes only ever go at the end, so that the
#: bits already stored keep their meaning.
REASONS: tuple[str, ...] = MONEY_REASONS + PRESENCE_REASONS
BIT = {code: 1 << i for i, code in enumerate(REASONS)}
#: Reasons that reject a line outright; the others adjust its amount.
REJECTING = (
    "no_visit",
    "duplicate_line",
    "id_mismatch",
    "not_enrolled",
    "deceased",
    "outside_month",
    "visit_incomplete",
    "worker_overlap",
)
ADJUSTING = ("amount_mismatch", "quantity_exceeds_time", "over_budget")


def reasons_of(bits: int | None) -> list[str]:
    return [code for code in REASONS if (bits or 0) & BIT[code]]


class ClaimStatus(enum.StrEnum):
    DRAFT = "draft"  # made by the draft-claims job; the provider reviews and submits it
    SUBMITTED = "submitted"
    RECONCILED = "reconciled"
    APPROVED = "approved"
    PAID = "paid"
    WITHDRAWN = "withdrawn"  # before reconciliation; frees its visits (lifecycle.py)


#: A claim that counts: not a draft, not withdrawn (what reconciliation and the figures see).
LIVE_STATUSES = (
    ClaimStatus.SUBMITTED,
    ClaimStatus.RECONCILED,
    ClaimStatus.APPROVED,
    ClaimStatus.PAID,
)


class ClaimSource(enum.StrEnum):
    UPLOAD = "upload"
    GENERATED = "generated"


class Decision(enum.StrEnum):
    APPROVED = "approved"
    ADJUSTED = "adjusted"
    REJECTED = "rejected"


class CallbackReason(enum.StrEnum):
    CHANCE = "chance"  # drawn at random
    RISK = "risk"  # drawn because the visit or its provider carries risk


class CallbackOutcome(enum.StrEnum):
    CONFIRMED = "confirmed"
    NOT_DELIVERED = "not_delivered"
    UNREACHABLE = "unreachable"
    COMPLAINT = "complaint"


class Claim(Model):
    """A provider's claim for one month: one main claim per provider and month among
    those not withdrawn (a partial unique index), and any number of supplementary ones
    (补报) for visits not yet claimed (claimed.py)."""

    __tablename__ = "claims"
    __table_args__ = (
        sa.Index(
            "uq_claims_provider_month_main",
            "provider_id",
            "month",
            unique=True,
            sqlite_where=sa.text("NOT supplementary AND status <> 'withdrawn'"),
            postgresql_where=sa.text("NOT supplementary AND status <> 'withdrawn'"),
        ),
        sa.CheckConstraint("month LIKE '____-__'", name="month_format"),
        sa.Index("ix_claims_month", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"))
    month: Mapped[str] = mapped_column(sa.String(7), comment="YYYY-MM, the month claimed for")
    status: Mapped[ClaimStatus] = mapped_column(
        enum_column(ClaimStatus, "claim_status"), default=ClaimStatus.SUBMITTED
    )
    source: Mapped[ClaimSource] = mapped_column(enum_column(ClaimSource, "claim_source"))
    filename: Mapped[str] = mapped_column(sa.String(200), default="")
    line_count: Mapped[int] = mapped_column(default=0)
    claimed_total: Mapped[Decimal] = mapped_column(MoneyType(), default=Decimal("0.00"))
    approved_total: Mapped[Decimal] = mapped_column(MoneyType(), default=Decimal("0.00"))
    rejected_total: Mapped[Decimal] = mapped_column(
        MoneyType(), default=Decimal("0.00"), comment="claimed minus approved"
    )
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reconciled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    supplementary: Mapped[bool] = mapped_column(
        default=False,
        server_default=sa.false(),
        comment="补报: a further claim for a month that already had one",
    )
    withdrawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdraw_reason: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    recovered_total: Mapped[Decimal] = mapped_column(
        MoneyType(),
        default=Decimal("0.00"),
        server_default="0",
        comment="recoveries (扣回) of earlier claims deducted from this one",
    )

    provider: Mapped[Provider] = relationship(lazy="joined")

    @property
    def payable(self) -> Decimal:
        """What the bureau pays on this claim: approved, less the recoveries it carries
        (below zero, the provider owes the difference)."""
        return self.approved_total - self.recovered_total

    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    reconciled_by: Mapped[User | None] = relationship(foreign_keys=[reconciled_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    paid_by: Mapped[User | None] = relationship(foreign_keys=[paid_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])


class ClaimLine(Model):
    """One claimed service: what the provider said, and what the bureau decided.

    Lines are written and decided in bulk (thousands per claim); the claim's own audit
    entries and `audit.record` for each override stand for them in the audit log."""

    __tablename__ = "claim_lines"
    __audit__ = False
    __table_args__ = (
        sa.UniqueConstraint("claim_id", "line_no", name="uq_claim_lines_claim_line_no"),
        sa.Index("ix_claim_lines_claim_visit", "claim_id", "visit_id"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        sa.CheckConstraint(
            "approved_amount IS NULL OR approved_amount >= 0", name="approved_not_negative"
        ),
        sa.CheckConstraint(
            "override_decision IS NULL OR length(override_reason) > 0", name="override_has_reason"
        ),
        sa.CheckConstraint(
            "accepted_bits = 0 OR length(accepted_reason) > 0", name="acceptance_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("claims.id", ondelete="CASCADE"))
    line_no: Mapped[int]
    visit_id: Mapped[int | None] = mapped_column(
        comment="as claimed: may name no visit, or another provider's (no_visit)"
    )
    id_number: Mapped[str] = mapped_column(
        EncryptedString("id_number", 100), comment="as claimed, normalised; AES-GCM"
    )
    id_number_hash: Mapped[str] = mapped_column(
        sa.String(64), comment="blind index (eldercare.crypto): compared with the person's"
    )
    service_date: Mapped[date]
    service_code: Mapped[str] = mapped_column(sa.String(20))
    quantity: Mapped[Decimal] = mapped_column(QuantityType())
    amount: Mapped[Decimal] = mapped_column(MoneyType(), comment="claimed, yuan")
    # the machine's decision (rewritten by every reconciliation)
    auto_decision: Mapped[Decision | None] = mapped_column(enum_column(Decision, "auto_decision"))
    auto_amount: Mapped[Decimal | None] = mapped_column(MoneyType())
    reason_bits: Mapped[int] = mapped_column(default=0, comment="bits of models.REASONS")
    # the clerk's word, kept across reconciliations
    override_decision: Mapped[Decision | None] = mapped_column(
        enum_column(Decision, "override_decision")
    )
    override_amount: Mapped[Decimal | None] = mapped_column(MoneyType())
    override_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    override_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    override_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the effective decision: the override, else the machine's
    decision: Mapped[Decision | None] = mapped_column(enum_column(Decision, "line_decision"))
    approved_amount: Mapped[Decimal | None] = mapped_column(MoneyType())
    # the clerk's acceptance of the line's presence exceptions (presence.py), kept across
    # reconciliations: a line is held while it carries one not in accepted_bits
    accepted_bits: Mapped[int] = mapped_column(
        default=0,
        server_default="0",
        comment="bits of models.REASONS (presence codes) a clerk accepted with a reason",
    )
    accepted_reason: Mapped[str] = mapped_column(
        sa.String(30), default="", server_default="", comment="presence.ACCEPT_REASONS code"
    )
    accepted_note: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    claim: Mapped[Claim] = relationship()
    override_by: Mapped[User | None] = relationship(foreign_keys=[override_by_id])
    accepted_by: Mapped[User | None] = relationship(foreign_keys=[accepted_by_id])

    @property
    def reasons(self) -> list[str]:
        return reasons_of(self.reason_bits)


class ClaimedVisit(Model):
    """A visit claimed by a claim not withdrawn: the primary key is the visit, so that a
    visit is claimed at most once whatever the number of claims for its month (a line of
    another claim naming it is `duplicate_line`). Written in bulk by claimed.py, which
    audits the claim it stands for."""

    __tablename__ = "claimed_visits"
    __audit__ = False
    __table_args__ = (sa.Index("ix_claimed_visits_claim", "claim_id"),)

    visit_id: Mapped[int] = mapped_column(
        sa.ForeignKey("visits.id"), primary_key=True, autoincrement=False
    )
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("claims.id", ondelete="CASCADE"))

    claim: Mapped[Claim] = relationship()


class CallbackSample(Model):
    """A visit drawn for a telephone call-back (回访) when its claim was reconciled."""

    __tablename__ = "callback_samples"
    __table_args__ = (
        sa.UniqueConstraint("visit_id", name="uq_callback_samples_visit"),
        sa.Index("ix_callback_samples_claim", "claim_id"),
        sa.CheckConstraint("(outcome IS NULL) = (recorded_at IS NULL)", name="outcome_with_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"))
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("claims.id", ondelete="CASCADE"))
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    reason: Mapped[CallbackReason] = mapped_column(enum_column(CallbackReason, "callback_reason"))
    outcome: Mapped[CallbackOutcome | None] = mapped_column(
        enum_column(CallbackOutcome, "callback_outcome")
    )
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    visit: Mapped[Visit] = relationship(lazy="joined")
    claim: Mapped[Claim] = relationship()
    recorded_by: Mapped[User | None] = relationship()


class RecoveryLedger(enum.StrEnum):
    REVERSED = "reversed"  # the visit's subsidy is back in the elder's balance
    EXPIRED = "expired"  # the elder's year had turned: given back and expired
    NONE = "none"  # the visit drew nothing from the ledger (or was given back before)


class Recovery(Model):
    """A recovery (扣回): what an approved or paid claim paid for a visit that a call-back
    found not delivered, deducted from the provider's next claim (see recoveries.py)."""

    __tablename__ = "recoveries"
    __table_args__ = (
        sa.UniqueConstraint("visit_id", "from_claim_id", name="uq_recoveries_visit_claim"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint(
            "taken_by_claim_id IS NULL OR taken_by_claim_id <> from_claim_id",
            name="taken_by_another_claim",
        ),
        sa.Index("ix_recoveries_provider_taken", "provider_id", "taken_by_claim_id"),
        sa.Index("ix_recoveries_taken_by", "taken_by_claim_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"))
    from_claim_id: Mapped[int] = mapped_column(
        sa.ForeignKey("claims.id"), comment="the approved or paid claim that paid the visit"
    )
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("providers.id"))
    amount: Mapped[Decimal] = mapped_column(
        MoneyType(), comment="what from_claim approved for the visit, yuan"
    )
    taken_by_claim_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("claims.id"), comment="the claim it is deducted from; NULL: waiting"
    )
    ledger: Mapped[RecoveryLedger] = mapped_column(
        enum_column(RecoveryLedger, "recovery_ledger"),
        comment="what became of the visit's subsidy in the elder's ledger",
    )
    sample_id: Mapped[int | None] = mapped_column(sa.ForeignKey("callback_samples.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    visit: Mapped[Visit] = relationship()
    from_claim: Mapped[Claim] = relationship(foreign_keys=[from_claim_id])
