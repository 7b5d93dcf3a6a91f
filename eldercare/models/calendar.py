"""The working calendar: China's statutory holidays and the weekends worked in exchange
(调休), as the State Council publishes them each year. Every deadline counted in working
days reads it (eldercare/workdays.py)."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..database import UTCDateTime, enum_column, utcnow
from ..extensions import Model


class DayKind(enum.StrEnum):
    HOLIDAY = "holiday"  # 放假: no work, whatever the weekday
    WORKDAY = "workday"  # 调休上班: a Saturday or Sunday worked


class CalendarDay(Model):
    """A day that is not what its weekday says. One row per day (the primary key), so a
    day is never both a holiday and a day worked."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    kind: Mapped[DayKind] = mapped_column(enum_column(DayKind, "calendar_day_kind"))
    name: Mapped[str] = mapped_column(
        sa.String(32), default="", comment="the holiday it belongs to: 春节, 国庆节, …"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
