"""Facilities benchmark: the bed board, placement and the overview on the demo district.

Builds the demo at each scale in a temporary instance (SQLite), then measures in-process
(through the whole WSGI stack) p50/p95 milliseconds and SQL statements per request.
Writes bench/facilities.md.

Usage: python bench/bench_facilities.py [--scales 1,10] [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build(scale: int, folder: Path) -> float:
    env = dict(os.environ, ELDERCARE_INSTANCE=str(folder))
    env.pop("DATABASE_URL", None)
    cli = [sys.executable, "-m", "eldercare.cli"]
    subprocess.run([*cli, "init-db"], env=env, check=True, capture_output=True)
    t0 = time.perf_counter()
    subprocess.run([*cli, "demo", "--scale", str(scale)], env=env, check=True,
                   capture_output=True)
    return time.perf_counter() - t0


def measure(repeat: int) -> list[tuple[str, float, float, int]]:
    import sqlalchemy as sa
    from sqlalchemy import event

    from eldercare import create_app
    from eldercare.auth.services import issue_token
    from eldercare.extensions import db
    from eldercare.models import User, WubaoSupport
    from facilities.models import Bed, Facility, Stay

    app = create_app()
    out = []
    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
        biggest = db.session.scalar(
            sa.select(Facility.id).join(Bed, Bed.facility_id == Facility.id)
            .where(Facility.kind == "care_home").group_by(Facility.id)
            .order_by(sa.func.count(Bed.id).desc()).limit(1))
        manager = db.session.scalar(sa.select(User).where(User.facility_id == biggest))
        applicant = db.session.scalar(sa.select(WubaoSupport.person_id).where(
            WubaoSupport.applied_centralized_on.is_not(None), WubaoSupport.end_date.is_(None))
            .limit(1))
        a_bed = db.session.scalar(sa.select(Stay.bed_id).where(Stay.facility_id == biggest)
                                  .limit(1))
        tokens = {u.username: issue_token(u).token for u in (admin, manager)}
        db.session.commit()
        beds = db.session.scalar(sa.select(sa.func.count(Bed.id))
                                 .where(Bed.facility_id == biggest))
        cases = [
            (f"bed board, manager ({beds} beds)", f"/facilities/{biggest}", manager.username),
            ("bed board, bureau", f"/facilities/{biggest}", "admin"),
            ("facilities list", "/facilities", "admin"),
            ("occupancy dashboard (12-month trend)", "/facilities/occupancy", "admin"),
            ("placement page with ranked beds", f"/placements?person_id={applicant}", "admin"),
            ("API overview today", "/api/v1/stats/overview", "admin"),
            ("API overview a year ago", "/api/v1/stats/overview?date="
             f"{datetime.now(UTC).date().replace(year=datetime.now(UTC).year - 1)}", "admin"),
            ("API placement options", f"/api/v1/people/{applicant}/placement-options", "admin"),
            ("API bed history", f"/api/v1/beds/{a_bed}/history", "admin"),
            ("API facility beds", f"/api/v1/facilities/{biggest}/beds", "admin"),
        ]
        counter = {"n": 0}

        @event.listens_for(db.engine, "before_cursor_execute")
        def _count(*_a):
            counter["n"] += 1

        client = app.test_client()
        for label, path, who in cases:
            headers = {"Authorization": f"Bearer {tokens[who]}"}
            if not path.startswith("/api/"):
                user = db.session.scalar(sa.select(User).where(User.username == who))
                with client.session_transaction() as s:
                    s["_user_id"] = user.get_id()
                    s["_fresh"] = True
                    s["seen"] = s["started"] = int(time.time())
                headers = {}
            times, sql = [], 0
            for i in range(repeat + 2):
                counter["n"] = 0
                t0 = time.perf_counter()
                resp = client.get(path, headers=headers)
                resp.close()
                elapsed = (time.perf_counter() - t0) * 1000
                if resp.status_code != 200:
                    raise SystemExit(f"{label}: HTTP {resp.status_code}")
                if i >= 2:  # warm-up
                    times.append(elapsed)
                    sql = counter["n"]
            times.sort()
            out.append((label, statistics.median(times), times[int(len(times) * 0.95) - 1], sql))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="1")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(repr(measure(args.repeat)))
        return
    lines = [
        "# Facilities benchmark",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, SQLite; "
        "in-process through the WSGI stack (`python bench/bench_facilities.py`).",
        "",
    ]
    for scale in (int(s) for s in args.scales.split(",")):
        folder = Path(tempfile.mkdtemp(prefix=f"ec-fac-bench-{scale}-"))
        load = build(scale, folder)
        env = dict(os.environ, ELDERCARE_INSTANCE=str(folder))
        env.pop("DATABASE_URL", None)
        child = subprocess.run([sys.executable, __file__, "--child", "--repeat",
                                str(args.repeat)], env=env, check=True, capture_output=True,
                               text=True)
        rows = eval(child.stdout.strip().splitlines()[-1])  # noqa: S307 — our own child's repr
        lines += [f"## Scale {scale}: demo loaded in {load:.1f} s", "",
                  "| request | p50 ms | p95 ms | SQL statements |", "| --- | --- | --- | --- |"]
        lines += [f"| {label} | {p50:.1f} | {p95:.1f} | {sql} |" for label, p50, p95, sql in rows]
        lines.append("")
        print("\n".join(lines[-len(rows) - 4:]), flush=True)
    (HERE / "facilities.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
