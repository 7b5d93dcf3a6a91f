"""Tables of intake (应保尽保): applications with their dated steps, and the home-care
year's places and eligibility rules.

An application moves from step to step by a conditional update of its `version` and
`status` (intake/steps.py): of two clerks doing the same step at once, exactly one
changes the row. Each step is also a row of `application_steps`, UNIQUE per
application and step, with the deadline that applied and whether it was late.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.database import MoneyType, UTCDateTime, enum_column, utcnow
from eldercare.extensions import Model
from eldercare.models import CareLevel, Person, User


class Kind(enum.StrEnum):
    TEKUN = "tekun"  # 特困人员救助供养 (认定办法 2021)
    HOMECARE = "homecare"  # 政府购买居家养老服务 (GB/T 43153-2023)


class Status(enum.StrEnum):
    RECEIVED = "received"  # 受理
    CHECKED = "checked"  # 乡镇调查核实、六项评估（居家养老：资格与需求评估）
    NOTICED = "noticed"  # 村（社区）公示 7 天
    APPROVED = "approved"  # 确认（居家养老：获得名额）
    REFUSED = "refused"  # 不予确认，书面说明理由
    WAITING = "waiting"  # 居家养老：符合条件，本年度名额已满，轮候
    WITHDRAWN = "withdrawn"  # 申请人撤回


OPEN = (Status.RECEIVED, Status.CHECKED, Status.NOTICED, Status.WAITING)


class Step(enum.StrEnum):
    RECEIVE = "receive"
    CHECK = "check"
    NOTICE = "notice"
    PLAN = "plan"  # 居家养老：服务计划
    DECIDE = "decide"
    PLACE = "place"  # 居家养老：轮候者获得名额
    ENROL = "enrol"  # 居家养老：签订协议，登记服务组织
    WITHDRAW = "withdraw"


class Application(Model):
    """An application for 特困 support or for purchased home care, received at the
    applicant's township; its steps are in `steps`."""

    __tablename__ = "applications"
    __table_args__ = (
        # one open application per person and kind, however many clerks press at once
        sa.Index(
            "uq_applications_open_per_person",
            "person_id",
            "kind",
            unique=True,
            sqlite_where=sa.text("status IN ('received', 'checked', 'noticed', 'waiting')"),
            postgresql_where=sa.text("status IN ('received', 'checked', 'noticed', 'waiting')"),
        ),
        sa.Index("ix_applications_township_status", "township_code", "status"),
        sa.Index("ix_applications_year_kind", "year", "kind"),
        sa.CheckConstraint("status <> 'refused' OR reasons <> ''", name="refusal_has_reasons"),
        sa.CheckConstraint(
            "status <> 'withdrawn' OR withdraw_reason <> ''", name="withdrawal_has_reason"
        ),
        sa.CheckConstraint(
            "notice_until IS NULL OR notice_until >= notice_from", name="notice_dates_in_order"
        ),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[Kind] = mapped_column(enum_column(Kind, "application_kind"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    township_code: Mapped[str] = mapped_column(
        sa.ForeignKey("regions.code"), comment="where it was received: the township's scope"
    )
    village_code: Mapped[str | None] = mapped_column(sa.ForeignKey("regions.code"))
    status: Mapped[Status] = mapped_column(
        enum_column(Status, "application_status"), default=Status.RECEIVED
    )
    version: Mapped[int] = mapped_column(
        default=1, comment="bumped by every step: the conditional update's guard"
    )
    year: Mapped[int] = mapped_column(comment="the year applied for (home care: subsidy year)")
    received_on: Mapped[date]
    due: Mapped[date | None] = mapped_column(comment="deadline of the next step")
    source: Mapped[str] = mapped_column(
        sa.String(16),
        default="desk",
        comment="desk (at the township), or the list that found the person: disability, dibao, age",
    )
    proposal_id: Mapped[int | None] = mapped_column(
        comment="the comparison proposal accepted to start it (dynamic feature, by id)"
    )
    by_proxy: Mapped[bool] = mapped_column(default=False, comment="申请由他人代为提出")
    proxy_name: Mapped[str] = mapped_column(sa.String(64), default="")
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    support_wanted: Mapped[str | None] = mapped_column(
        sa.String(12), comment="特困: dispersed or centralized, as the applicant asks"
    )
    # the township's check: 六项自理能力评估 (True = done alone), and what the visit found
    eating: Mapped[bool | None] = mapped_column(comment="进食")
    dressing: Mapped[bool | None] = mapped_column(comment="穿衣")
    transfer: Mapped[bool | None] = mapped_column(comment="上下床")
    toileting: Mapped[bool | None] = mapped_column(comment="如厕")
    walking: Mapped[bool | None] = mapped_column(comment="室内行走")
    bathing: Mapped[bool | None] = mapped_column(comment="洗澡")
    care_level: Mapped[CareLevel | None] = mapped_column(enum_column(CareLevel, "care_level"))
    check_note: Mapped[str] = mapped_column(
        sa.String(500), default="", comment="home visit, income and supporters (入户调查)"
    )
    lives_alone: Mapped[bool | None] = mapped_column(comment="居家养老：独居")
    services_wanted: Mapped[list] = mapped_column(
        sa.JSON, default=list, comment="居家养老：service codes asked for"
    )
    eligible: Mapped[bool | None] = mapped_column(comment="居家养老：a rule of the year matched")
    matched_rules: Mapped[list] = mapped_column(
        sa.JSON, default=list, comment="[{code, label}] that matched"
    )
    need_score: Mapped[int | None] = mapped_column(comment="居家养老：assessed need, for the rank")
    need_reasons: Mapped[list] = mapped_column(sa.JSON, default=list)
    # 居家养老 service plan, priced against the year's catalogue and subsidy
    plan_lines: Mapped[list] = mapped_column(sa.JSON, default=list)
    plan_total: Mapped[Decimal | None] = mapped_column(MoneyType())
    plan_subsidy: Mapped[Decimal | None] = mapped_column(MoneyType())
    plan_self_paid: Mapped[Decimal | None] = mapped_column(MoneyType())
    # 特困 notice in the village (7 days)
    notice_from: Mapped[date | None]
    notice_until: Mapped[date | None]
    # the bureau's decision
    decided_on: Mapped[date | None]
    approved: Mapped[bool | None]
    reasons: Mapped[str] = mapped_column(
        sa.String(500), default="", comment="written reasons, required for a refusal"
    )
    category: Mapped[str | None] = mapped_column(
        sa.String(12), comment="特困: elderly, disabled or minor"
    )
    support: Mapped[str | None] = mapped_column(
        sa.String(12), comment="特困: dispersed or centralized"
    )
    support_id: Mapped[int | None] = mapped_column(sa.ForeignKey("wubao_supports.id"))
    support_from: Mapped[date | None] = mapped_column(comment="first day of the month after")
    waiting_since: Mapped[date | None] = mapped_column(comment="居家养老：on the waiting list")
    provider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("providers.id"))
    enrolment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enrolments.id"))
    agreed_on: Mapped[date | None] = mapped_column(comment="居家养老：协议签订日")
    withdraw_reason: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    person: Mapped[Person] = relationship(lazy="joined")
    steps: Mapped[list[ApplicationStep]] = relationship(
        back_populates="application", order_by="ApplicationStep.id", lazy="selectin"
    )

    def assessment(self) -> dict[str, bool | None]:
        from eldercare.selfcare import ITEMS

        return {k: getattr(self, k) for k in ITEMS}


class ApplicationStep(Model):
    """A step done: on which day, by whom, against which deadline, late or not."""

    __tablename__ = "application_steps"
    __table_args__ = (sa.UniqueConstraint("application_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[Step] = mapped_column(enum_column(Step, "application_step"))
    on: Mapped[date] = mapped_column(
        "done_on", comment="the day it was done (as the clerk dates it)"
    )
    at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, comment="when it was recorded"
    )
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    due: Mapped[date | None] = mapped_column(comment="the deadline that applied")
    late: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(sa.String(500), default="")

    application: Mapped[Application] = relationship(back_populates="steps")
    by: Mapped[User | None] = relationship(lazy="joined")


class HomecareYear(Model):
    """The places of purchased home care in a year (11,000 in the district). The row is
    locked (a relative update of `version`) before places are counted, so two decisions
    at once cannot both take the last place."""

    __tablename__ = "homecare_places"
    __table_args__ = (sa.CheckConstraint("places >= 0", name="places_not_negative"),)

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    places: Mapped[int] = mapped_column(default=11000)
    version: Mapped[int] = mapped_column(default=1)


class EligibilityRule(Model):
    """One rule of a year's home-care eligibility: all its conditions must hold (an age,
    one of some categories, one of some care levels); an applicant is eligible when any
    rule of the year holds."""

    __tablename__ = "eligibility_rules"
    __table_args__ = (
        sa.UniqueConstraint("year", "code"),
        sa.CheckConstraint("min_age IS NULL OR min_age BETWEEN 0 AND 120", name="age_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    label: Mapped[str] = mapped_column(sa.String(64))
    min_age: Mapped[int | None]
    categories: Mapped[list] = mapped_column(
        sa.JSON, default=list, comment="any of these person categories"
    )
    care_levels: Mapped[list] = mapped_column(
        sa.JSON, default=list, comment="any of these assessed care levels"
    )


class YearValue(Model):
    """A number the bureau sets for a home-care (or 特困) year: a step's working days, a
    need point (intake/settings.py names them). A year without its own rows uses the
    latest earlier year's, then the defaults."""

    __tablename__ = "intake_year_values"
    __table_args__ = (
        sa.UniqueConstraint("year", "code"),
        sa.CheckConstraint("value BETWEEN 0 AND 1000", name="value_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    value: Mapped[int]
