"""What the benchmarks share: a demo district in a temporary instance, the app in process
with a statement counter, timing, child processes, the machine (server.py: a real
`eldercare serve` and the memory of its workers).

`make bench` (bench/run.py) uses all of it; bench_facilities.py, bench_homecare.py and
bench_reconcile.py measure one feature each and run alone too (each has --instance).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --- where a demo district lives --------------------------------------------------------


@dataclass
class Site:
    """One demo district: an instance folder and its database (SQLite in the folder, or
    the PostgreSQL database of BENCH_DATABASE_URL, emptied first)."""

    scale: int
    folder: Path
    url: str

    @property
    def database(self) -> str:
        return "PostgreSQL" if self.url.startswith("postgresql") else "SQLite"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Every feature loaded (an empty ELDERCARE_FEATURES runs the core alone: its
        # pages answer 404, which is what an earlier run measured), no second factor
        # (sessions are made by hand), no scheduler, this checkout's code first.
        env.pop("ELDERCARE_FEATURES", None)
        env.update(
            ELDERCARE_INSTANCE=str(self.folder),
            DATABASE_URL=self.url,
            ELDERCARE_TOTP="off",
            ELDERCARE_SCHEDULER="0",
            PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
        )
        return env

    def use(self) -> None:
        """Point this process at the site (before the app is created)."""
        os.environ.clear()
        os.environ.update(self.env())

    def remove(self) -> None:
        for f in self.folder.iterdir():
            f.unlink()
        self.folder.rmdir()


def new_site(scale: int, database_url: str | None = None) -> Site:
    folder = Path(tempfile.mkdtemp(prefix=f"eldercare-bench-{scale}-"))
    if database_url:
        _empty_postgres(database_url)
        return Site(scale, folder, database_url)
    return Site(scale, folder, f"sqlite:///{folder / 'bench.db'}")


def site_at(folder: str | Path, scale: int = 0) -> Site:
    """A kept instance folder (its SQLite database, or DATABASE_URL if set)."""
    folder = Path(folder).resolve()
    name = "bench.db" if (folder / "bench.db").exists() else "eldercare.db"
    return Site(scale, folder, os.environ.get("DATABASE_URL") or f"sqlite:///{folder / name}")


def _empty_postgres(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@dataclass
class Demo:
    seconds: float
    steps: dict[str, float]
    summary: list[str]  # the figures the demo prints (care homes, beds, visits…)


def build(site: Site) -> Demo:
    """`eldercare init-db`, then `eldercare demo --scale N`, timed."""
    cli = [sys.executable, "-m", "eldercare.cli"]
    env = site.env()
    subprocess.run([*cli, "init-db"], env=env, check=True, capture_output=True, cwd=ROOT)
    t0 = time.perf_counter()
    out = subprocess.run(
        [*cli, "demo", "--scale", str(site.scale)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    seconds = time.perf_counter() - t0
    steps, summary = {}, []
    for line in out.splitlines():
        if m := re.fullmatch(r"  (\S.*?)\s+(\d+\.\d\d) s", line):
            steps[m.group(1)] = float(m.group(2))
        elif line.startswith("    ") or re.match(r"(facilities|claims|dynamic): ", line):
            summary.append(line.strip())
    return Demo(seconds, steps, summary)


# --- the app in process -----------------------------------------------------------------


def make_app(site: Site):
    """The app for the site, in this process, with every feature loaded."""
    site.use()
    from eldercare import create_app
    from eldercare.config import FEATURES

    app = create_app()
    missing = [f for f in FEATURES if f not in app.config["FEATURES"]]
    if missing:
        raise SystemExit(f"features not loaded: {missing} (ELDERCARE_FEATURES?)")
    return app


class StatementCounter:
    """SQL statements sent to the database, counted at the cursor."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.n = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_args, **_kw) -> None:
        self.n += 1


def percentiles(ms: list[float]) -> tuple[float, float]:
    """p50 and p95 (nearest rank) of a list of milliseconds."""
    ordered = sorted(ms)
    return statistics.median(ordered), ordered[max(0, math.ceil(len(ordered) * 0.95) - 1)]


@dataclass
class Case:
    label: str
    path: str
    who: str | None  # username, or None for no login


@dataclass
class Timing:
    label: str
    path: str
    status: int
    p50: float = 0.0
    p95: float = 0.0
    sql: float = 0.0  # statements per request
    n: int = 0


def logged_in(client, user_id: str) -> None:
    """A page session for the user of `user_id` (User.get_id()), as the login page would
    leave it (no second factor)."""
    with client.session_transaction() as s:
        s.clear()
        s["_user_id"] = user_id
        s["_fresh"] = True
        s["seen"] = s["started"] = int(time.time())


def measure_pages(app, cases: list[Case], repeat: int, budget_s: float = 8.0) -> list[Timing]:
    """Server time of each GET through the whole WSGI stack (no network), after one
    warm-up request: p50/p95 over `repeat` requests (fewer if they take longer than
    `budget_s` together, at least 5), and the statements each request sends."""
    import sqlalchemy as sa

    from eldercare.auth.services import issue_token
    from eldercare.extensions import db
    from eldercare.models import User

    with app.app_context():
        counter = StatementCounter(db.engine)
        users = {c.who for c in cases if c.who}
        found = db.session.scalars(sa.select(User).where(User.username.in_(users))).all()
        ids = {u.username: u.get_id() for u in found}
        tokens = {u.username: issue_token(u).token for u in found}
        db.session.commit()
    client = app.test_client()
    out = []
    for case in cases:
        headers = {}
        if case.who and case.path.startswith("/api/"):
            headers = {"Authorization": f"Bearer {tokens[case.who]}"}
        elif case.who:
            logged_in(client, ids[case.who])
        else:
            client.delete_cookie("session")
        first = client.get(case.path, headers=headers)
        first.close()
        if first.status_code != 200:
            out.append(Timing(case.label, case.path, first.status_code))
            continue
        times: list[float] = []
        counter.n = 0
        started = time.perf_counter()
        while len(times) < repeat and (len(times) < 5 or time.perf_counter() - started < budget_s):
            t0 = time.perf_counter()
            client.get(case.path, headers=headers).close()
            times.append((time.perf_counter() - t0) * 1000)
        p50, p95 = percentiles(times)
        out.append(Timing(case.label, case.path, 200, p50, p95, counter.n / len(times), len(times)))
    return out


def healthz_ms(app, repeat: int = 200) -> float:
    """p50 of /healthz in process: the unit the other in-process figures are given in."""
    client = app.test_client()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        client.get("/healthz").close()
        times.append((time.perf_counter() - t0) * 1000)
    return percentiles(times[repeat // 10 :])[0]


# --- child processes --------------------------------------------------------------------


def run_child(script: Path, site: Site, *args: str) -> dict:
    """Run `script --child FOLDER URL SCALE args…` with the site's environment: a fresh
    process (a fresh app and engine) per site. The child prints one JSON line last."""
    out = subprocess.run(
        [
            sys.executable,
            str(script),
            "--child",
            str(site.folder),
            site.url,
            str(site.scale),
            *args,
        ],
        env=site.env(),
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def child_site(argv: list[str]) -> tuple[Site, list[str]] | None:
    """(site, the remaining arguments) when this process is a run_child child."""
    if len(argv) > 4 and argv[1] == "--child":
        return Site(int(argv[4]), Path(argv[2]), argv[3]), argv[5:]
    return None


def reply_default(o):
    """JSON for dataclasses (Timing, Demo…); anything else as text."""
    return asdict(o) if hasattr(o, "__dataclass_fields__") else str(o)


def reply(result) -> None:
    print(json.dumps(result, default=reply_default))


def session_cookie(app, username: str) -> str:
    """A signed page-session cookie for `username` that a real server accepts (it signs
    with the same instance's secret key)."""
    import sqlalchemy as sa

    from eldercare.extensions import db
    from eldercare.models import User

    with app.app_context():
        user_id = db.session.scalar(sa.select(User).where(User.username == username)).get_id()
    client = app.test_client()
    logged_in(client, user_id)
    return client.get_cookie("session").value


# --- the machine ------------------------------------------------------------------------


def machine() -> dict:
    load = os.getloadavg()
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, IndexError, ValueError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 2**20:.0f} GiB"
    return {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load": f"{load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}",
        "commit": subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
    }


@dataclass
class Stopwatch:
    started: float = field(default_factory=time.perf_counter)

    def __call__(self) -> float:
        return time.perf_counter() - self.started
