from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..database import UTCDateTime, utcnow
from ..extensions import Model


class JobRun(Model):
    """A job's work for one period, done. Written in the same transaction as the work:
    a crash rolls both back, and the unique key lets no second process do it again."""

    __tablename__ = "job_runs"
    __audit__ = False  # the run record is itself the trail
    __table_args__ = (sa.UniqueConstraint("job", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(40))
    period: Mapped[str] = mapped_column(sa.String(16), comment="YYYY, YYYY-MM, YYYY-MM-DD or …THH")
    trigger: Mapped[str] = mapped_column(sa.String(16), comment="scheduler, catch-up, cli, page")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    duration_ms: Mapped[int] = mapped_column(default=0)
    summary: Mapped[dict] = mapped_column(sa.JSON, default=dict, comment="what the run changed")
    user_id: Mapped[int | None]


class JobFailure(Model):
    """A run that failed and was rolled back (kept apart, since its work left nothing)."""

    __tablename__ = "job_failures"
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(40), index=True)
    period: Mapped[str] = mapped_column(sa.String(16))
    trigger: Mapped[str] = mapped_column(sa.String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    error: Mapped[str] = mapped_column(sa.Text)


class Alert(Model):
    """Something a person should look at, made by the `alerts` job for a day and shown on
    the dashboard of whom it concerns (a role, and a facility or provider where given)."""

    __tablename__ = "alerts"
    __audit__ = False
    __table_args__ = (sa.Index("ix_alerts_day_role", "day", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[str] = mapped_column(sa.String(10))
    kind: Mapped[str] = mapped_column(sa.String(40), comment="balance_low, review_due, home_full…")
    role: Mapped[str] = mapped_column(sa.String(12), comment="who it concerns: admin, manager…")
    facility_id: Mapped[int | None]
    provider_id: Mapped[int | None]
    township_code: Mapped[str | None] = mapped_column(
        sa.String(12), comment="for a township clerk's alerts: their township"
    )
    message: Mapped[str] = mapped_column(sa.String(300))
    link: Mapped[str] = mapped_column(sa.String(200), default="")
    count: Mapped[int] = mapped_column(default=1)
    template: Mapped[str] = mapped_column(
        sa.String(300),
        default="",
        server_default="",
        comment="the message's catalogue entry (msgid), or empty",
    )
    params: Mapped[dict | None] = mapped_column(
        sa.JSON, comment="the values of the template's placeholders"
    )

    @property
    def text(self) -> str:
        """The message in the reader's language (the stored one is the source language)."""
        if not self.template:
            return self.message
        from flask_babel import gettext

        try:
            return gettext(self.template, **(self.params or {}))
        except (KeyError, ValueError, TypeError):  # a catalogue that no longer fits
            return self.message
