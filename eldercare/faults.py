"""Fault points for the fault tests (tests/faults/): inert unless a test asks.

`pause("scan-debited")` in the middle of an operation does nothing at all unless the
environment variable ELDERCARE_FAULT_PAUSE names that point (a comma-separated list
may name several) — never set in production.
When it does, the first process to get there writes its pid to
``<instance>/fault-<point>.pid`` and sleeps, holding its open transaction, so that the
test can SIGKILL it at exactly that place and then check that nothing was half done.
Only the first process pauses (the file is created exclusively): the same operation
retried after the restart runs through.

`clock()` is the other test-only setting: ELDERCARE_FAULT_CLOCK (an ISO date and time with
its offset) is the moment the job runner takes for now, so that a test can run a year's job
on servers that believe it is the new year's night. Unset, it is None and nothing changes.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

ENV = "ELDERCARE_FAULT_PAUSE"
CLOCK_ENV = "ELDERCARE_FAULT_CLOCK"
PAUSE_SECONDS = 60  # the test kills long before; should it not, the work goes on


def marker(instance: str | Path, point: str) -> Path:
    return Path(instance) / f"fault-{point}.pid"


def pause(point: str) -> None:
    """Sleep here if ELDERCARE_FAULT_PAUSE names `point` (test-only; see module doc)."""
    if point not in os.environ.get(ENV, "").split(","):
        return
    from flask import current_app

    try:
        fd = os.open(
            marker(current_app.instance_path, point), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
        )
    except FileExistsError:
        return  # paused once already: the retry after the restart goes through
    with os.fdopen(fd, "w") as fh:
        fh.write(str(os.getpid()))
    time.sleep(PAUSE_SECONDS)


def clock() -> datetime | None:
    """The job runner's now if ELDERCARE_FAULT_CLOCK sets one (test-only; see module doc)."""
    text = os.environ.get(CLOCK_ENV)
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{CLOCK_ENV} needs an offset, e.g. +08:00")
    return moment
