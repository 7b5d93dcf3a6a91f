"""Helpers for killing servers and CLI processes at a named point (eldercare/faults.py)
and for reading the database while a killed process's transaction may still hold
SQLite's write lock."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from pathlib import Path

import pytest
import requests
from flask import has_app_context

from eldercare import faults
from eldercare.database import write_intent
from eldercare.extensions import db
from tests import factories as f
from tests.conftest import LiveServer

INSTANCE = Path(os.environ["ELDERCARE_INSTANCE"])


@pytest.fixture(autouse=True)
def _no_markers():
    """Each test starts without pause markers (a marker means: already paused once)."""
    for m in INSTANCE.glob("fault-*.pid"):
        m.unlink()
    yield


def paused_server(points: str, workers: int = 2) -> LiveServer:
    """A server whose first request to reach each of `points` (comma-separated) in each
    test sleeps there (ELDERCARE_FAULT_PAUSE)."""
    if has_app_context():
        db.session.commit()  # hold no SQLite lock while the server boots and works
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(faults.ENV, points)
        return LiveServer(workers=workers)


def wait_paused(point: str, request=None, timeout: float = 30) -> int:
    """The pid of the process that reached `point` and sleeps there. `request`: the
    background request that should get there (its answer, if it came, says why not)."""
    path = faults.marker(INSTANCE, point)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"nothing reached {point} in {timeout} s")


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"


def sigkill(pid: int) -> None:
    """SIGKILL, and wait until the process is no more (a zombie is no more)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not _gone(pid):
        assert time.monotonic() < deadline, f"pid {pid} survived SIGKILL"
        time.sleep(0.02)


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def kill_server(server: LiveServer) -> None:
    """The whole server at once, as a power cut or the OOM killer would: the gunicorn
    master and every worker, SIGKILL, no clean-up of any kind."""
    workers = children(server.proc.pid)
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)
    for pid in workers:
        sigkill(pid)
    server.stop()  # closes its log; the process is gone already


@contextlib.contextmanager
def reading():
    """Read the database in a transaction of its own without asking for SQLite's write
    lock, which a killed process may have held a moment ago."""
    db.session.rollback()
    token = write_intent.set(False)
    try:
        yield db.session
    finally:
        db.session.rollback()
        write_intent.reset(token)


def page_session(server: LiveServer, username: str) -> requests.Session:
    """A browser's session on `server`: logged in, cookies kept."""
    s = requests.Session()
    page = s.get(server.url + "/login", timeout=30)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    resp = s.post(
        server.url + "/login",
        timeout=30,
        allow_redirects=False,
        data={"username": username, "password": f.PASSWORD, "csrf_token": token},
    )
    assert resp.status_code == 302, resp.text
    return s


def csrf_of(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=30)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
