from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .. import crypto
from ..crypto import EncryptedString
from ..database import UTCDateTime, enum_column, utcnow
from ..extensions import Model


class Sex(enum.StrEnum):
    M = "M"
    F = "F"


class PersonStatus(enum.StrEnum):
    ACTIVE = "active"
    DECEASED = "deceased"
    MOVED = "moved"  # moved out of the district


class CareLevel(enum.StrEnum):
    SELF = "self"  # 全自理
    PARTIAL = "partial"  # 半护理
    FULL = "full"  # 全护理


class Category(enum.StrEnum):
    TEKUN = "tekun"  # 特困 (五保)
    DIBAO = "dibao"  # 低保
    AGE80 = "age80"  # 80 岁以上
    DISABLED = "disabled"  # 残疾人
    ALONE = "alone"  # 独居
    EMPTY_NEST = "empty_nest"  # 空巢


class WubaoCategory(enum.StrEnum):
    ELDERLY = "elderly"
    DISABLED = "disabled"
    MINOR = "minor"


class Support(enum.StrEnum):
    DISPERSED = "dispersed"  # 分散供养, at home
    CENTRALIZED = "centralized"  # 集中供养, in a care home


class Person(Model):
    """Someone in the district's registry. The ID number is unique and normalised by
    eldercare.idnumbers; birth date and sex are derived from it.

    The ID number and the health notes are stored encrypted (eldercare.crypto); the ORM
    decrypts them. Setting `id_number` sets its blind indexes, which carry the UNIQUE
    constraint and every search: `Person.id_number_is(number)`, never the column itself.
    """

    __tablename__ = "people"
    __table_args__ = (
        sa.CheckConstraint(
            "(status = 'deceased') = (death_date IS NOT NULL)", name="death_date_iff_deceased"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), index=True)
    id_number: Mapped[str] = mapped_column(
        EncryptedString("id_number", 100), comment="AES-GCM (eldercare.crypto)"
    )
    id_number_hash: Mapped[str] = mapped_column(
        sa.String(64), unique=True, comment="blind index: HMAC-SHA256 of the normalised number"
    )
    id_tail_hash: Mapped[str] = mapped_column(
        sa.String(64), index=True, comment="HMAC-SHA256 of the last 4 characters (search)"
    )
    birth_date: Mapped[date]
    sex: Mapped[Sex] = mapped_column(enum_column(Sex, "sex"))
    phone: Mapped[str] = mapped_column(sa.String(32), default="")
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    township_code: Mapped[str | None] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    village_code: Mapped[str | None] = mapped_column(sa.ForeignKey("regions.code"))
    care_level: Mapped[CareLevel | None] = mapped_column(enum_column(CareLevel, "care_level"))
    status: Mapped[PersonStatus] = mapped_column(
        enum_column(PersonStatus, "person_status"), default=PersonStatus.ACTIVE, index=True
    )
    death_date: Mapped[date | None]
    moved_date: Mapped[date | None]
    emergency_contact: Mapped[str] = mapped_column(sa.String(100), default="")
    health_notes: Mapped[str] = mapped_column(
        EncryptedString("health_notes"),
        default="",
        comment="sensitive (PIPL art. 28): admin and managers only; AES-GCM",
    )
    home_lat: Mapped[float | None] = mapped_column(sa.Float)
    home_lng: Mapped[float | None] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    categories: Mapped[list[PersonCategory]] = relationship(
        back_populates="person", cascade="all, delete-orphan", lazy="selectin"
    )
    supports: Mapped[list[WubaoSupport]] = relationship(
        back_populates="person", order_by="WubaoSupport.start_date", lazy="selectin"
    )

    @validates("id_number")
    def _index_number(self, _key: str, number: str) -> str:
        self.id_number_hash = crypto.id_number_hash(number)
        self.id_tail_hash = crypto.id_tail_hash(number)
        return number

    @classmethod
    def id_number_is(cls, number: str) -> sa.ColumnElement[bool]:
        """SQL condition: this person's ID number is `number` (normalised)."""
        return cls.id_number_hash == crypto.id_number_hash(number)

    @classmethod
    def id_number_in(cls, numbers) -> sa.ColumnElement[bool]:
        """SQL condition: the ID number is one of `numbers` (normalised)."""
        return cls.id_number_hash.in_([crypto.id_number_hash(n) for n in numbers])

    @property
    def category_set(self) -> set[Category]:
        return {c.category for c in self.categories}

    @property
    def current_support(self) -> WubaoSupport | None:
        return next((s for s in self.supports if s.end_date is None), None)

    def age_on(self, day: date) -> int:
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.name}>"


class PersonCategory(Model):
    __tablename__ = "person_categories"
    __table_args__ = (sa.UniqueConstraint("person_id", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"))
    category: Mapped[Category] = mapped_column(enum_column(Category, "category"))
    person: Mapped[Person] = relationship(back_populates="categories")


class WubaoSupport(Model):
    """A period of 特困 (五保) support. One open period per person; ending it keeps it."""

    __tablename__ = "wubao_supports"
    __table_args__ = (
        sa.Index(
            "uq_wubao_supports_open_per_person",
            "person_id",
            unique=True,
            sqlite_where=sa.text("end_date IS NULL"),
            postgresql_where=sa.text("end_date IS NULL"),
        ),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    category: Mapped[WubaoCategory] = mapped_column(enum_column(WubaoCategory, "wubao_category"))
    support: Mapped[Support] = mapped_column(enum_column(Support, "support"))
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    end_reason: Mapped[str] = mapped_column(sa.String(40), default="")
    applied_centralized_on: Mapped[date | None] = mapped_column(
        comment="applied for centralised support (集中供养) and waits for a bed"
    )
    review_due: Mapped[date | None] = mapped_column(comment="annual review (年度复核) due")

    person: Mapped[Person] = relationship(back_populates="supports")
