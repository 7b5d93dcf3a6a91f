"""Where a scan's time goes (issue 15: a scan is cheap), measured so that a loaded machine
does not change the answer: CPU time, not wall time, per request, of the app (this
process) and of its PostgreSQL backend (read from /proc), beside /healthz measured the
same way; the statements each request sends with their round-trip times; and, with
--profile, the app's own time split by library (cProfile, self time per module).

The scans go through the whole WSGI stack (Flask's test client, no network): one worker's
bearer token, check-in then check-out with a meal at one elder after another. On a demo
already loaded:
    python bench/scan_profile.py --instance FOLDER [--pairs 200 --profile]
(DATABASE_URL=postgresql+psycopg://… for PostgreSQL.)
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import sys
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from common import make_app, site_at  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of a PostgreSQL backend so far; 0 for SQLite."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Statements:
    """Each statement's text (shortened) and round-trip time, per request kind."""

    def __init__(self, engine) -> None:
        import sqlalchemy as sa

        self.kind = "warm"
        self.times: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.count: dict[str, int] = defaultdict(int)
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, _cursor, statement, *_a, **_kw) -> None:
        conn.info["t0"] = time.perf_counter()

    def _after(self, conn, _cursor, statement, *_a, **_kw) -> None:
        text = re.sub(r"\s+", " ", statement)[:110]
        self.times[self.kind][text].append(time.perf_counter() - conn.info.pop("t0"))
        self.count[self.kind] += 1


CATEGORIES = [
    ("SQL driver (psycopg, sqlite3: round trips)", r"psycopg|sqlite3|_sqlite"),
    ("SQLAlchemy ORM", r"sqlalchemy/orm"),
    ("SQLAlchemy core/engine", r"sqlalchemy"),
    ("pydantic", r"pydantic"),
    ("JSON", r"/json/|jsonutil|simplejson"),
    ("babel / i18n", r"babel|i18n"),
    ("Flask / Werkzeug / Login / WTF", r"flask|werkzeug|itsdangerous"),
    ("audit (eldercare.audit*)", r"eldercare/audit"),
    ("auth (eldercare.auth)", r"eldercare/auth"),
    ("homecare", r"homecare/"),
    ("eldercare (other)", r"eldercare/"),
    ("hashlib / hmac", r"hashlib|hmac|_hashlib"),
    ("other", r"."),
]


def by_library(stats: pstats.Stats, requests: int) -> list[tuple[str, float]]:
    """Self time (ms per request) of the profiled calls, grouped by where they live."""
    out: dict[str, float] = defaultdict(float)
    for (filename, _line, name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{filename}:{name}"
        for label, pattern in CATEGORIES:
            if re.search(pattern, where):
                out[label] += tt
                break
    return sorted(((k, v * 1000 / requests) for k, v in out.items()), key=lambda kv: -kv[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instance", required=True)
    parser.add_argument("--pairs", type=int, default=200, help="check-in + check-out pairs")
    parser.add_argument("--profile", action="store_true", help="cProfile the scans")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    app = make_app(site_at(args.instance))

    import sqlalchemy as sa

    from eldercare.auth.services import create_user, issue_token
    from eldercare.extensions import db
    from eldercare.models import Person
    from homecare import cards as hc_cards
    from homecare.models import Enrolment, Provider

    with app.app_context():
        # A worker of its own for each run: an earlier run's visits at the same times
        # would overlap this one's (worker_overlap), which costs statements an ordinary
        # scan does not send. The elders are its provider's, scanned at their doors.
        provider = db.session.scalars(sa.select(Provider).order_by(Provider.id)).first()
        worker = create_user(
            f"bench_w{uuid.uuid4().hex[:8]}",
            "Bench-2026-" + uuid.uuid4().hex[:8],
            "worker",
            provider_id=provider.id,
        )
        token = issue_token(worker).token
        homes = [
            (hc_cards.url(e), lat, lng)
            for e, lat, lng in db.session.execute(
                sa.select(Enrolment, Person.home_lat, Person.home_lng)
                .join(Person)
                .where(Enrolment.provider_id == provider.id, Enrolment.status == "active")
                .order_by(Enrolment.id)
                .limit(2000)
            )
        ]
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    with app.app_context():
        stmts = Statements(db.engine)
        postgres = db.engine.dialect.name == "postgresql"
    pid: list[int | None] = [None]

    def remember_pid(dbapi_conn, _record):
        if postgres:
            cur = dbapi_conn.cursor()
            cur.execute("SELECT pg_backend_pid()")
            pid[0] = cur.fetchone()[0]
            cur.close()

    with app.app_context():
        db.engine.dispose()
        sa.event.listen(db.engine, "connect", remember_pid)
    base = datetime.now(UTC) - timedelta(days=1)  # as bench_homecare's scans
    offset = int.from_bytes(os.urandom(2), "big")
    n = [0]

    def scan() -> int:
        i = n[0]
        n[0] += 1
        url, lat, lng = homes[(offset + i // 2) % len(homes)]
        body = {
            "qr": url,
            "kind": "check_in" if i % 2 == 0 else "check_out",
            "at": (base + timedelta(minutes=3 * i)).isoformat(),
            "client_id": str(uuid.uuid4()),
            "lat": lat,
            "lng": lng,
        }
        if i % 2:
            body["services"] = [{"code": "meal", "quantity": 1}]
        r = client.post("/api/v1/homecare/scans", json=body, headers=headers)
        r.close()
        if r.status_code not in (200, 201):
            raise SystemExit(f"scan {i}: {r.status_code} {r.get_data(as_text=True)[:300]}")
        return r.status_code

    def healthz() -> int:
        r = client.get("/healthz")
        r.close()
        return r.status_code

    for _ in range(20):  # warm: caches, the pool's connection, the statement cache
        scan()
        healthz()
    if pid[0] is None and postgres:
        raise SystemExit("no backend pid")

    def measure(kind: str, fn, count: int, profiler=None) -> dict[str, float]:
        stmts.kind = kind
        stmts.count[kind] = 0
        cpu0, be0, wall0 = time.process_time(), backend_cpu(pid[0]), time.perf_counter()
        if profiler:
            profiler.enable()
        for _ in range(count):
            fn()
        if profiler:
            profiler.disable()
        cpu, be, wall = (
            time.process_time() - cpu0,
            backend_cpu(pid[0]) - be0,
            time.perf_counter() - wall0,
        )
        return {
            "app_cpu_ms": cpu * 1000 / count,
            "db_cpu_ms": be * 1000 / count,
            "wall_ms": wall * 1000 / count,
            "statements": stmts.count[kind] / count,
        }

    requests = 2 * args.pairs
    h = measure("healthz", healthz, requests)
    prof = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not waits
    s = measure("scan", scan, requests, prof)
    load = os.getloadavg()
    print(f"load average {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}; {requests} requests each")
    print("| per request | /healthz | scan (in/out mean) | scan ÷ /healthz |")
    print("| --- | --- | --- | --- |")
    for key, label in (
        ("app_cpu_ms", "app CPU ms"),
        ("db_cpu_ms", "PostgreSQL backend CPU ms"),
        ("wall_ms", "wall ms"),
        ("statements", "statements"),
    ):
        ratio = s[key] / h[key] if h[key] else float("nan")
        print(f"| {label} | {h[key]:.2f} | {s[key]:.2f} | {ratio:.1f}× |")
    tot_h = h["app_cpu_ms"] + h["db_cpu_ms"]
    tot_s = s["app_cpu_ms"] + s["db_cpu_ms"]
    print(
        f"| **CPU, app + database** | {tot_h:.2f} | {tot_s:.2f} | "
        f"**{tot_s / tot_h:.1f}× (÷ = {tot_h / tot_s:.3f})** |"
    )
    print("\nstatements of a scan pair (check-in + check-out), round trip ms (mean, total/pair):")
    rows = sorted(stmts.times["scan"].items(), key=lambda kv: -sum(kv[1]))
    for text, ts in rows:
        per_pair = sum(ts) * 1000 / args.pairs
        print(f"  {len(ts) / args.pairs:4.1f}×  {per_pair:6.3f} ms  {text}")
    if prof is not None:
        stats = pstats.Stats(prof)
        print("\napp CPU self time by library, ms per scan (under the profiler: inflated):")
        for label, ms in by_library(stats, requests):
            print(f"  {ms:7.3f}  {label}")
        print(f"\ncumulative, top {args.top}:")
        stats.sort_stats("cumulative").print_stats(args.top)
        print(f"\nself, top {args.top}:")
        stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
