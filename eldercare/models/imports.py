"""Roster import jobs: the state of an upload that any worker process can answer for.

A page upload becomes a job; the job runs in the process that received it (inline for
small files, a background thread for large ones) and keeps its progress here, so the
page's polling may reach any worker, and the clerk may leave and come back. The file is
kept only until it is imported (or for a day after a check), under the job's id, never
under the uploader's file name, and is never served back.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column

from ..database import UTCDateTime, enum_column, utcnow
from ..extensions import Model


class JobKind(enum.StrEnum):
    CHECK = "check"  # a dry run: the report only
    IMPORT = "import"  # check, then store everything or nothing


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # finished; the report says whether it had errors
    FAILED = "failed"  # crashed or interrupted: nothing was stored


class ImportJob(Model):
    __tablename__ = "import_jobs"
    # Progress is written every few hundred rows; the audit log records the import itself
    # (one entry per job plus every person created or changed), not the bookkeeping.
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[JobKind] = mapped_column(enum_column(JobKind, "import_job_kind"))
    status: Mapped[JobStatus] = mapped_column(
        enum_column(JobStatus, "import_job_status"), default=JobStatus.QUEUED, index=True
    )
    phase: Mapped[str] = mapped_column(
        sa.String(16), default="", comment="reading, checking, saving"
    )
    filename: Mapped[str] = mapped_column(
        sa.String(200), default="", comment="as uploaded; display only"
    )
    size: Mapped[int] = mapped_column(default=0)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(sa.String(64), default="")
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    report: Mapped[dict | None] = mapped_column(sa.JSON)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    worker: Mapped[str] = mapped_column(
        sa.String(120), default="", comment="host:pid:token of the process running it"
    )
    content: Mapped[bytes | None] = deferred(mapped_column(sa.LargeBinary))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, comment="heartbeat while queued or running"
    )
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def active(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)

    # Share of the bar per phase: reading a workbook takes about as long as checking
    # and storing together; storing reports no rows on SQLite (it holds the write lock).
    PHASE_SPAN = {"reading": (0, 40), "checking": (40, 70), "saving": (70, 99)}

    @property
    def percent(self) -> int:
        """Progress over the whole job, never going back when the phase changes."""
        if self.status in (JobStatus.DONE, JobStatus.FAILED):
            return 100
        low, high = self.PHASE_SPAN.get(self.phase, (0, 0))
        if not self.rows_total:
            return low
        return low + (high - low) * min(self.rows_done, self.rows_total) // self.rows_total
