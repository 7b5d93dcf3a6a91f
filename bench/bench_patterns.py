"""Patterns across visits (homecare/patterns.py): the cost of finding a district month's
impossible trips and cards scanned at one spot, of marking them (the nightly job and the
start of every reconciliation; on a loaded demo nothing is new, so this is the re-run),
and of the figures behind the patterns page and API — time and SQL statements, which
must not grow with the district (scale 1 and 10: the same statements, more rows).

`make bench` (bench/run.py) runs it at each scale; alone, on a demo already loaded:
    python bench/bench_patterns.py --instance FOLDER [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import StatementCounter, healthz_ms, make_app, site_at


def _timed(count: StatementCounter, fn, repeat: int) -> tuple[float, int]:
    """Median milliseconds of `fn` and the statements of one run."""
    ms, sql = [], 0
    for i in range(repeat):
        count.n = 0
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000)
        if i == 0:
            sql = count.n
    return statistics.median(ms), sql


def measure(app, repeat: int = 5) -> dict:
    import sqlalchemy as sa

    from eldercare.auth.services import issue_token
    from eldercare.extensions import db
    from eldercare.models import User
    from homecare import patterns
    from homecare.models import Visit
    from homecare.patterns_views import last_month

    with app.app_context():
        count = StatementCounter(db.engine)
        admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
        token = issue_token(admin).token
        db.session.commit()
        month = last_month()
        start, end = patterns.month_bounds(month)
        visits = (
            db.session.scalar(
                sa.select(sa.func.count(Visit.id)).where(
                    Visit.check_in_at >= start, Visit.check_in_at < end
                )
            )
            or 0
        )
        workers = (
            db.session.scalar(
                sa.select(sa.func.count(sa.distinct(Visit.worker_id))).where(
                    Visit.check_in_at >= start, Visit.check_in_at < end
                )
            )
            or 0
        )

        def flag():
            patterns.flag_month(month)
            db.session.commit()

        found = {k: len(v) for k, v in patterns.find(month).items()}
        find_ms, find_sql = _timed(count, lambda: patterns.find(month), repeat)
        flag_ms, flag_sql = _timed(count, flag, repeat)
        figures_ms, figures_sql = _timed(count, lambda: patterns.figures(month), repeat)
        db.session.remove()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def api():
        r = client.get(f"/api/v1/homecare/patterns?month={month}", headers=headers)
        if r.status_code != 200:
            raise SystemExit(f"patterns API: HTTP {r.status_code} {r.text[:300]}")

    api_ms, api_sql = _timed(count, api, repeat)
    return {
        "month": month,
        "visits": visits,
        "workers": workers,
        "found": found,
        "find_ms": find_ms,
        "find_sql": find_sql,
        "flag_ms": flag_ms,
        "flag_sql": flag_sql,
        "figures_ms": figures_ms,
        "figures_sql": figures_sql,
        "api_ms": api_ms,
        "api_sql": api_sql,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instance", required=True, help="an instance with the demo loaded")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    app = make_app(site_at(args.instance))
    unit = healthz_ms(app)
    r = measure(app, args.repeat)
    print(
        f"month {r['month']}: {r['visits']:,} visits of {r['workers']:,} workers; found "
        + ", ".join(f"{k} {v}" for k, v in r["found"].items())
        + f"\nfind: {r['find_ms']:.0f} ms, {r['find_sql']} SQL statements"
        f"\nmark (re-run, nothing new): {r['flag_ms']:.0f} ms, {r['flag_sql']} statements"
        f"\nfigures: {r['figures_ms']:.0f} ms, {r['figures_sql']} statements"
        f"\nGET /api/v1/homecare/patterns: {r['api_ms']:.0f} ms, {r['api_sql']} statements"
        f"\n/healthz p50 {unit:.2f} ms"
    )


if __name__ == "__main__":
    main()
