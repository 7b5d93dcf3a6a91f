"""Jobs run once per period, whatever happens (API.md "jobs", ENGINEERING.md scheduler)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from datetime import datetime

import pytest
import sqlalchemy as sa

from eldercare.jobs import (
    RETRY_MINUTES,
    JobError,
    catch_up,
    missed_periods,
    run_job,
    scheduled_run,
)
from eldercare.models import Alert, JobFailure, JobRun
from eldercare.registry import Job, registry
from eldercare.timeutil import LOCAL
from tests.conftest import ROOT


@pytest.fixture
def counting_job(app):
    """A job that writes one alert per run and can be told to crash half way."""
    state = {"crash": False}

    def work(period):
        from eldercare.extensions import db

        db.session.add(Alert(day=period, kind="test", role="admin", message="work"))
        db.session.flush()
        if state["crash"]:
            raise RuntimeError("power cut half way")
        return {"written": 1}

    job = Job("test-count", work, "day", {"hour": 1}, "test")
    registry().add_job(job)
    yield state
    registry().jobs.pop("test-count")


def alerts(db):
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Alert).where(Alert.kind == "test")
    )


def test_a_period_is_done_once_however_often_it_is_started(db, counting_job):
    first = run_job("test-count", "2026-11-01")
    second = run_job("test-count", "2026-11-01")
    assert first.done and not second.done
    assert alerts(db) == 1
    assert run_job("test-count", "2026-11-02").done
    assert alerts(db) == 2


def test_a_crash_half_way_leaves_nothing_and_the_period_is_redone(db, counting_job):
    counting_job["crash"] = True
    with pytest.raises(RuntimeError):
        run_job("test-count", "2026-11-01")
    assert alerts(db) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 0
    assert "power cut" in db.session.scalar(sa.select(JobFailure.error))
    counting_job["crash"] = False
    assert run_job("test-count", "2026-11-01").done
    assert alerts(db) == 1


def test_a_failed_scheduled_run_is_tried_again_for_the_same_period(app, db, counting_job):
    """The database away when the scheduler fires: the run fails, and the scheduler tries
    the same period again a few minutes later (and gives up after a few tries)."""

    class Scheduler:  # what the run would add to APScheduler
        def __init__(self):
            self.added = []

        def add_job(self, fn, trigger, **kw):
            self.added.append((fn, trigger, kw))

    sched = Scheduler()
    counting_job["crash"] = True
    db.session.commit()
    scheduled_run(app, sched, "test-count", "2026-11-01")
    ((fn, trigger, kw),) = sched.added
    assert trigger == "date" and kw["args"][2:] == ["test-count", "2026-11-01", 1]
    assert kw["run_date"] > datetime.now(LOCAL)
    counting_job["crash"] = False
    fn(*kw["args"])  # the retry, minutes later
    assert alerts(db) == 1 and len(sched.added) == 1
    assert db.session.scalar(sa.select(JobRun.period).where(JobRun.job == "test-count")) == (
        "2026-11-01"
    )

    counting_job["crash"] = True
    sched.added.clear()
    db.session.commit()  # the run takes SQLite's write lock in a session of its own
    scheduled_run(app, sched, "test-count", "2026-11-02", attempt=len(RETRY_MINUTES))
    assert sched.added == []  # the last try: left for the catch-up and the jobs page


def test_bad_names_and_periods_are_refused(app, counting_job):
    with pytest.raises(JobError):
        run_job("no-such-job")
    with pytest.raises(JobError):
        run_job("test-count", "2026-13-01")


def test_missed_periods_are_caught_up_at_start(db, counting_job):
    run_job("test-count", "2026-11-25")
    now = datetime(2026, 11, 28, 9, 0, tzinfo=LOCAL)
    job = registry().jobs["test-count"]
    assert missed_periods(job, now) == ["2026-11-26", "2026-11-27", "2026-11-28"]
    catch_up(now)
    assert missed_periods(job, now) == []
    assert alerts(db) == 4


def test_a_new_installation_starts_with_the_current_period_only(db, counting_job):
    now = datetime(2026, 11, 28, 9, 0, tzinfo=LOCAL)
    assert missed_periods(registry().jobs["test-count"], now) == ["2026-11-28"]


@pytest.mark.race
def test_two_processes_running_the_same_job_and_period_do_it_once(app, db):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "eldercare.cli", "jobs", "run", "alerts", "--period", "2026-11-29"]
    for _ in range(3):  # a race is run more than once
        db.session.execute(sa.delete(JobRun))
        db.session.commit()
        procs = [
            subprocess.Popen(
                cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(4)
        ]
        outs = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), outs
        done = [o for o, _ in outs if ": done in" in o]
        assert len(done) == 1, outs
        runs = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(JobRun)
            .where(JobRun.job == "alerts", JobRun.period == "2026-11-29")
        )
        assert runs == 1


def test_the_jobs_page_lists_jobs_and_runs_one_now(client, admin):
    from tests import factories as f

    f.login(client, admin)
    page = client.get("/jobs")
    assert page.status_code == 200 and "alerts" in page.text
    resp = client.post(
        "/jobs/alerts/run", data={"csrf_token": f.csrf(client, "/jobs"), "period": "2026-11-29"}
    )
    assert resp.status_code == 302
    assert "2026-11-29" in client.get("/jobs").text


def test_only_admins_see_the_jobs_page(client, make_user):
    from tests import factories as f

    f.login(client, make_user("auditor"))
    assert client.get("/jobs").status_code == 403


def _children(pid: int) -> list[int]:
    path = f"/proc/{pid}/task/{pid}/children"
    try:
        with open(path) as fh:
            return [int(p) for p in fh.read().split()]
    except FileNotFoundError:
        return []


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"  # a zombie has gone
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads /proc (Linux)")
def test_the_scheduler_of_a_killed_server_stops_too(app, db):
    """`eldercare serve --scheduler` killed outright (SIGKILL: no chance to stop its
    children): its scheduler notices within seconds and stops, so that the restarted
    server's scheduler is the only one. (Its web workers are gunicorn's: they notice the
    master gone at their next wake-up, within half the worker timeout.)"""
    import signal
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "eldercare.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            "1",
            "--scheduler",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: list[int] = []
    try:
        deadline = time.time() + 30
        while time.time() < deadline and len(children) < 2:
            children = _children(serve.pid)
            time.sleep(0.2)
        scheduler = [p for p in children if "scheduler" in _cmdline(p)]
        assert len(scheduler) == 1, [_cmdline(p) for p in children]
        time.sleep(1)  # the scheduler is up and watching
        serve.kill()
        serve.wait()
        deadline = time.time() + 20
        while time.time() < deadline and _alive(scheduler[0]):
            time.sleep(0.2)
        assert not _alive(scheduler[0]), "the orphaned scheduler kept running"
    finally:
        serve.kill()
        for pid in children:  # the orphaned gunicorn (and the scheduler, had it stayed)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# --- periods that have not begun ---------------------------------------------------------


def _next_period(kind: str, now: datetime) -> str:
    """The first period after the one `now` is in."""
    from datetime import timedelta

    from eldercare.jobs import FORMATS

    if kind == "year":
        return str(now.year + 1)
    if kind == "month":
        return (now.replace(day=28) + timedelta(days=4)).strftime(FORMATS["month"])
    step = timedelta(days=1) if kind == "day" else timedelta(hours=1)
    return (now + step).strftime(FORMATS[kind])


def test_every_job_refuses_a_period_that_has_not_begun(app, db):
    """`subsidy-year --period 2028` in 2026 would expire every balance for good: no job,
    of any kind, runs a period that has not started, and nothing is recorded."""
    from eldercare.jobs import now_local

    kinds = {job.name: job.period_kind for job in registry().jobs.values()}
    assert {
        "subsidy-year",
        "close-stale-visits",
        "occupancy-snapshot",
        "draft-claims",
        "alerts",
    } <= set(kinds)
    assert set(kinds.values()) == {"year", "month", "day", "hour"}
    for name, kind in kinds.items():
        period = _next_period(kind, now_local())
        with pytest.raises(JobError, match="尚未开始"):
            run_job(name, period)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobFailure)) == 0


def test_the_period_now_running_is_allowed_up_to_its_last_moment(
    app, db, counting_job, monkeypatch
):
    """Both sides of the boundary: the day that began a second ago runs, the day that
    begins in a second does not."""
    from eldercare import jobs

    monkeypatch.setattr(jobs, "now_local", lambda: datetime(2026, 11, 30, 0, 0, 1, tzinfo=LOCAL))
    assert run_job("test-count", "2026-11-30").done
    monkeypatch.setattr(jobs, "now_local", lambda: datetime(2026, 11, 30, 23, 59, 59, tzinfo=LOCAL))
    with pytest.raises(JobError, match="尚未开始"):
        run_job("test-count", "2026-12-01")


def test_the_command_line_and_the_jobs_page_refuse_next_year(app, db, client, admin):
    from tests import factories as f

    year = str(datetime.now(LOCAL).year + 1)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "eldercare.cli", "jobs", "run", "subsidy-year", "--period", year],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and f"{year} 尚未开始" in done.stderr, done
    f.login(client, admin)
    resp = client.post(
        "/jobs/subsidy-year/run",
        data={"csrf_token": f.csrf(client, "/jobs"), "period": year},
        follow_redirects=True,
    )
    assert "尚未开始" in resp.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 0


def test_the_test_clock_moves_the_runner_and_is_inert_when_unset(
    app, db, counting_job, monkeypatch
):
    """ELDERCARE_FAULT_CLOCK (servers in other processes cannot be monkeypatched) moves the
    runner's now; unset, the real clock decides; a time without its offset is refused."""
    from eldercare import faults, jobs

    monkeypatch.delenv(faults.CLOCK_ENV, raising=False)
    with pytest.raises(JobError, match="尚未开始"):
        run_job("test-count", "2099-01-01")
    monkeypatch.setenv(faults.CLOCK_ENV, "2099-01-01T00:05:00+08:00")
    assert jobs.now_local() == datetime(2099, 1, 1, 0, 5, tzinfo=LOCAL)
    assert run_job("test-count", "2099-01-01").done
    monkeypatch.setenv(faults.CLOCK_ENV, "2099-01-01T00:05:00")
    with pytest.raises(ValueError, match="offset"):
        jobs.now_local()
