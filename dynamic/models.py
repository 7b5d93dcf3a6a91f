"""Tables of dynamic management: comparison lists and their rows, proposals, 特困
terminations (认定办法 art. 24) and reviews (年度复核)."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.crypto import EncryptedString
from eldercare.database import MoneyType, UTCDateTime, enum_column, utcnow
from eldercare.extensions import Model
from eldercare.models import CareLevel, Person, WubaoSupport


class ComparisonKind(enum.StrEnum):
    DEATH = "death"  # 死亡名单（公安、卫健）
    MOVED = "moved"  # 迁出本区（公安户籍）
    INCOME = "income"  # 收入（人社养老金等）
    # lists that find people who qualify but are not supported (应保尽保): each match
    # proposes an application (dynamic/entrants.py)
    DISABILITY = "disability"  # 残疾人证（残联）
    DIBAO = "dibao"  # 低保对象（60 岁以上）
    AGE = "age"  # 当月年满 60、80 周岁（公安户籍）


ENTRY_KINDS = (ComparisonKind.DISABILITY, ComparisonKind.DIBAO, ComparisonKind.AGE)


class ProposalKind(enum.StrEnum):
    """What a proposal asks: an exit (death, move), a special review (income), or the
    start of an application for someone who qualifies and is not supported."""

    DEATH = "death"
    MOVED = "moved"
    INCOME = "income"
    PROPOSE_APPLICATION = "propose_application"

    @classmethod
    def of(cls, kind: ComparisonKind) -> ProposalKind:
        return cls.PROPOSE_APPLICATION if kind in ENTRY_KINDS else cls(kind.value)


class RowResult(enum.StrEnum):
    MATCHED = "matched"
    UNMATCHED = "unmatched"  # a valid number that is not in the registry
    AMBIGUOUS = "ambiguous"  # found, but something does not fit (name, status, duplicate)


class ProposalStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class TerminationReason(enum.StrEnum):
    """特困人员认定办法 (2021) art. 24, and a move out of the district."""

    DEATH = "death"  # 死亡或者被宣告失踪、死亡
    WORK_ABILITY = "work_ability"  # 恢复或者新增劳动能力
    IMPRISONED = "imprisoned"  # 依法被判处刑罚，且在监狱服刑
    INCOME_ASSETS = "income_assets"  # 收入和财产状况不再符合条件
    SUPPORTER_ABLE = "supporter_able"  # 法定义务人具有了履行义务能力
    VOLUNTARY = "voluntary"  # 自愿申请退出
    MOVED = "moved"  # 户籍迁出本区（由迁入地认定）, not art. 24


class ReviewTrigger(enum.StrEnum):
    ANNUAL = "annual"  # 年度复核
    INCOME = "income"  # 专项复核: income above the line in a comparison list


class ReviewStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class ReviewOutcome(enum.StrEnum):
    CONTINUE = "continue"  # 继续供养
    TERMINATE = "terminate"  # 终止供养


class Comparison(Model):
    """One list from another department (信息比对), as uploaded, with its counts."""

    __tablename__ = "comparisons"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ComparisonKind] = mapped_column(enum_column(ComparisonKind, "comparison_kind"))
    source: Mapped[str] = mapped_column(
        sa.String(60), default="", comment="the department that sent the list"
    )
    filename: Mapped[str] = mapped_column(sa.String(200), default="")
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    uploaded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    rows: Mapped[int] = mapped_column(default=0)
    matched: Mapped[int] = mapped_column(default=0)
    unmatched: Mapped[int] = mapped_column(default=0)
    ambiguous: Mapped[int] = mapped_column(default=0)
    proposal_count: Mapped[int] = mapped_column(default=0)

    proposals: Mapped[list[Proposal]] = relationship(
        back_populates="comparison", order_by="Proposal.id"
    )


class ComparisonRow(Model):
    """A row of a list and what matching made of it. Not audited row by row: the list
    itself is (the audit log must not fill with other departments' ID numbers)."""

    __tablename__ = "comparison_rows"
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    comparison_id: Mapped[int] = mapped_column(
        sa.ForeignKey("comparisons.id", ondelete="CASCADE"), index=True
    )
    row: Mapped[int] = mapped_column(comment="row number as the spreadsheet shows it")
    id_number: Mapped[str] = mapped_column(
        EncryptedString("id_number", 100), comment="normalised, AES-GCM (eldercare.crypto)"
    )
    name: Mapped[str] = mapped_column(sa.String(64))
    date: Mapped[dt.date]
    monthly_amount: Mapped[Decimal | None] = mapped_column(MoneyType())
    result: Mapped[RowResult] = mapped_column(enum_column(RowResult, "row_result"))
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"), index=True)


class Proposal(Model):
    """What a matched row asks the bureau to do: record a death or a move, review a 特困
    person whose income is above the line, or start an application for someone a list
    finds qualifying and unsupported. Decided once."""

    __tablename__ = "proposals"
    __table_args__ = (
        # one undecided proposal per person and kind, however many lists repeat it
        sa.Index(
            "uq_proposals_pending_per_person",
            "person_id",
            "kind",
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL)", name="decided_iff_not_pending"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    comparison_id: Mapped[int] = mapped_column(sa.ForeignKey("comparisons.id"), index=True)
    row_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comparison_rows.id"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    kind: Mapped[ProposalKind] = mapped_column(enum_column(ProposalKind, "proposal_kind"))
    date: Mapped[dt.date] = mapped_column(
        comment="of the death, move or income; the list's date for a proposed application"
    )
    monthly_amount: Mapped[Decimal | None] = mapped_column(MoneyType())
    status: Mapped[ProposalStatus] = mapped_column(
        enum_column(ProposalStatus, "proposal_status"), default=ProposalStatus.PENDING, index=True
    )
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.String(200), default="", comment="why it was rejected")
    effects: Mapped[list] = mapped_column(
        sa.JSON, default=list, comment="what deciding it did, in words"
    )

    comparison: Mapped[Comparison] = relationship(back_populates="proposals")
    person: Mapped[Person] = relationship()


class Review(Model):
    """A review of a 特困 person: the annual one (done when recorded) or a special one
    opened by an income list (open until done). The six-item self-care assessment
    sets the care level; the outcome continues or ends the support."""

    __tablename__ = "wubao_reviews"
    __table_args__ = (
        sa.Index(
            "uq_wubao_reviews_open_per_support",
            "support_id",
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        ),
        sa.CheckConstraint("(status = 'done') = (done_on IS NOT NULL)", name="done_has_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    support_id: Mapped[int] = mapped_column(sa.ForeignKey("wubao_supports.id"), index=True)
    trigger: Mapped[ReviewTrigger] = mapped_column(enum_column(ReviewTrigger, "review_trigger"))
    status: Mapped[ReviewStatus] = mapped_column(
        enum_column(ReviewStatus, "review_status"), default=ReviewStatus.OPEN
    )
    due: Mapped[dt.date | None]
    opened_on: Mapped[dt.date]
    proposal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proposals.id"))
    done_on: Mapped[dt.date | None]
    # 六项自理能力评估: True = does it without help
    eating: Mapped[bool | None] = mapped_column(comment="进食")
    dressing: Mapped[bool | None] = mapped_column(comment="穿衣")
    transfer: Mapped[bool | None] = mapped_column(comment="上下床")
    toileting: Mapped[bool | None] = mapped_column(comment="如厕")
    walking: Mapped[bool | None] = mapped_column(comment="室内行走")
    bathing: Mapped[bool | None] = mapped_column(comment="洗澡")
    care_level: Mapped[CareLevel | None] = mapped_column(
        enum_column(CareLevel, "care_level"), comment="what the assessment gave"
    )
    outcome: Mapped[ReviewOutcome | None] = mapped_column(
        enum_column(ReviewOutcome, "review_outcome")
    )
    termination_reason: Mapped[TerminationReason | None] = mapped_column(
        enum_column(TerminationReason, "termination_reason")
    )
    notes: Mapped[str] = mapped_column(sa.String(500), default="")
    reviewed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    person: Mapped[Person] = relationship()
    support: Mapped[WubaoSupport] = relationship()


class Termination(Model):
    """The end of a period of 特困 support: why, from when, when payment stops (from
    the following month), and the 7-day public notice (公示) in the township."""

    __tablename__ = "wubao_terminations"
    __table_args__ = (
        sa.UniqueConstraint("support_id", name="uq_wubao_terminations_support"),
        sa.CheckConstraint("payment_end >= effective_on", name="payment_end_after_effective"),
        sa.CheckConstraint("notice_until >= decided_on", name="notice_after_decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    support_id: Mapped[int] = mapped_column(sa.ForeignKey("wubao_supports.id"))
    reason: Mapped[TerminationReason] = mapped_column(
        enum_column(TerminationReason, "termination_reason")
    )
    effective_on: Mapped[dt.date] = mapped_column(comment="support ends on this day")
    payment_end: Mapped[dt.date] = mapped_column(
        comment="last day paid: the end of the month of effective_on (停发自次月)"
    )
    decided_on: Mapped[dt.date] = mapped_column(index=True)
    notice_until: Mapped[dt.date] = mapped_column(comment="last day of the 7-day public notice")
    township_code: Mapped[str | None] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    village_code: Mapped[str | None] = mapped_column(sa.ForeignKey("regions.code"))
    source: Mapped[str] = mapped_column(
        sa.String(16), comment="comparison, review, manual, death, moved"
    )
    proposal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proposals.id"))
    review_id: Mapped[int | None] = mapped_column(sa.ForeignKey("wubao_reviews.id"))
    notes: Mapped[str] = mapped_column(sa.String(200), default="")

    person: Mapped[Person] = relationship()
    support: Mapped[WubaoSupport] = relationship()
