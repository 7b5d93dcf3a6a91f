"""Roster import jobs: a page upload is a job (eldercare.models.imports.ImportJob).

Small files run inline in the request; large ones in a thread of the process that
received them. Progress goes to the job row through its own short transactions, so any
worker answers the page's polling. The import itself is one transaction that also marks
the job done: a job is "done" with created people if and only if they were committed. A
process that dies mid-import leaves nothing stored and a job that the next poll marks
failed.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ..audit import current_actor, set_actor
from ..database import rowcount, utcnow, write_intent
from ..extensions import db
from ..models.imports import ImportJob, JobKind, JobStatus
from . import imports, roster

log = logging.getLogger(__name__)

INLINE_BYTES = 256 * 1024  # up to ~2,500 rows: answered within the request
STALE_AFTER = 600  # seconds without a heartbeat: the job is taken as dead
KEEP_CHECKED_FILE = 24 * 3600  # a checked file waits a day for "import it"

_TOKEN = secrets.token_hex(4)  # tells this process from a later one with the same pid


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_TOKEN}"


def create_job(content: bytes, filename: str, kind: str, user) -> ImportJob:
    """A queued job holding the file (flushes; the caller commits)."""
    _purge_old_files()
    job = ImportJob(
        kind=JobKind(kind),
        filename=(filename or "")[-200:],
        size=len(content),
        user_id=user.id,
        username=user.username,
        content=content,
        worker=worker_id(),
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    db.session.add(job)
    db.session.flush()
    return job


def _purge_old_files() -> None:
    cutoff = utcnow() - timedelta(seconds=KEEP_CHECKED_FILE)
    db.session.execute(
        sa.update(ImportJob)
        .where(ImportJob.created_at < cutoff, ImportJob.content.is_not(None))
        .values(content=None)
    )


def _set(job_id: int, **values) -> None:
    """Job bookkeeping in its own transaction, beside the import's."""
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(ImportJob).where(ImportJob.id == job_id).values(updated_at=utcnow(), **values)
        )


def run_job(job_id: int) -> None:
    """Run a queued job to its end in the current app context (a request or a thread).
    Never raises: a failure is written to the job."""
    db.session.commit()  # whatever the request holds is committed before the job starts
    _set(job_id, status=JobStatus.RUNNING, phase="reading", worker=worker_id())
    job = db.session.get_one(ImportJob, job_id)
    content, kind, filename = job.content or b"", job.kind, job.filename
    db.session.rollback()
    # Checking only reads: a deferred BEGIN on SQLite, so that the progress writes get in.
    token = write_intent.set(False)
    try:
        checked = roster.check_roster(content, filename, progress=_progress(job_id))
        db.session.rollback()
        write_intent.set(True)
        _finish(job_id, kind, checked)
    except Exception:
        log.exception("roster import job %s failed", job_id)
        db.session.rollback()
        try:
            _set(
                job_id,
                status=JobStatus.FAILED,
                phase="",
                finished_at=utcnow(),
                content=None,
                message="导入时服务器出错，没有保存任何数据。请稍后重新上传；若一再出错，请联系管理员。",
            )
        except Exception:  # the database itself is gone; the next poll marks it stale
            log.exception("could not mark import job %s failed", job_id)
    finally:
        write_intent.reset(token)


def _progress(job_id: int) -> roster.Progress:
    """Progress written to the job at most every 0.3 s, and never while saving."""
    last = [0.0]

    def progress(phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if phase == "saving" or (now - last[0] < 0.3 and done < total):
            return  # the writing transaction holds SQLite's lock: no bookkeeping then
        last[0] = now
        _set(job_id, phase=phase, rows_done=done, rows_total=total)

    return progress


def _finish(job_id: int, kind: JobKind, checked: roster.CheckedRoster) -> None:
    """Store a clean import and mark the job done, in one transaction: done means stored."""
    report = checked.report
    total = report.rows
    if not report.errors and kind == JobKind.IMPORT:
        _set(job_id, phase="saving", rows_done=0, rows_total=total)
        report = imports.save_roster(checked)
        if report.errors:
            db.session.rollback()
    done = {
        "status": JobStatus.DONE,
        "phase": "",
        "report": report.as_dict(),
        "rows_done": total,
        "rows_total": total,
        "finished_at": utcnow(),
        "updated_at": utcnow(),
    }
    if kind == JobKind.IMPORT:
        done["content"] = None  # imported or refused: the file is not kept
    db.session.execute(sa.update(ImportJob).where(ImportJob.id == job_id).values(**done))
    db.session.commit()


def start_job(job: ImportJob) -> None:
    """Run inline for a small file, else in a background thread of this process."""
    if job.size <= current_app.config.get("IMPORT_INLINE_BYTES", INLINE_BYTES):
        run_job(job.id)
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    actor = current_actor.get()
    job_id = job.id

    def target() -> None:
        set_actor(actor)
        with app.app_context():
            try:
                run_job(job_id)
            finally:
                db.session.remove()

    threading.Thread(target=target, name=f"roster-import-{job_id}", daemon=True).start()


def confirm_job(job_id: int) -> bool:
    """Turn a clean, finished check into an import of the same file, once (a conditional
    update: a second click changes nothing)."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.report is None or job.report.get("errors"):
        return False
    result = db.session.execute(
        sa.update(ImportJob)
        .where(
            ImportJob.id == job_id,
            ImportJob.kind == JobKind.CHECK,
            ImportJob.status == JobStatus.DONE,
            ImportJob.content.is_not(None),
        )
        .values(
            kind=JobKind.IMPORT,
            status=JobStatus.QUEUED,
            phase="",
            rows_done=0,
            finished_at=None,
            worker=worker_id(),
        )
    )
    db.session.flush()
    db.session.refresh(job)
    return rowcount(result) == 1


def _alive(worker: str) -> bool | None:
    """Whether the process named by `worker` (host:pid:token) still runs; None when that
    cannot be told from here (another host)."""
    host, pid, token = [*worker.split(":"), "", "", ""][:3]
    me_host, me_pid, _me_token = worker_id().split(":")
    if host != me_host or not pid.isdigit():
        return None
    if pid == me_pid:
        return token == _TOKEN  # same pid, other token: an earlier process, gone
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(int(pid))


def _zombie(pid: int) -> bool:
    """A process that has exited but whose parent has not reaped it yet: dead all the
    same. A gunicorn worker killed with its master stays one until init reaps it, and
    some container inits reap late or never; os.kill(pid, 0) still finds it."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def refresh_stale(job: ImportJob) -> ImportJob:
    """A queued or running job whose process died is marked failed (nothing was stored:
    the import commits together with 'done')."""
    if not job.active:
        return job
    dead = _alive(job.worker) is False or job.updated_at < utcnow() - timedelta(seconds=STALE_AFTER)
    if dead:
        db.session.execute(
            sa.update(ImportJob)
            .where(
                ImportJob.id == job.id,
                ImportJob.status == job.status,
                ImportJob.updated_at == job.updated_at,
            )
            .values(
                status=JobStatus.FAILED,
                phase="",
                finished_at=utcnow(),
                content=None,
                message="导入在服务器上中断（处理它的进程已退出），没有保存任何数据。请重新上传文件。",
            )
        )
        db.session.commit()
        db.session.refresh(job)
    return job


PHASES = {"reading": "正在读取文件", "checking": "正在逐行检查", "saving": "正在写入数据库"}
STATUS = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}


def job_json(job: ImportJob) -> dict:
    report = job.report or None
    return {
        "id": job.id,
        "kind": job.kind.value,
        "status": job.status.value,
        "status_label": STATUS[job.status.value],
        "phase": job.phase,
        "phase_label": PHASES.get(job.phase, ""),
        "filename": job.filename,
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "percent": job.percent,
        "message": job.message,
        "report": report,
        "stored": bool(
            job.status.value == "done"
            and job.kind.value == "import"
            and report
            and not report.get("errors")
        ),
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
