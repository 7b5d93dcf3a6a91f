"""Reconciliation cost per claim line: the district's last full month (the demo leaves
its claims submitted, one per provider), each claim reconciled through the API in process
(the whole WSGI stack, no network).

Per claim: the first reconciliation (which also draws the call-back sample), re-runs
(idempotent: nothing changes, nothing is written), and the service call with commit
after every line's answer was forgotten, so that every line is decided and written again
(wall and CPU time: the machine's load inflates the first, not the second). `make bench`
(bench/run.py) gives the cost per line as a share of one /healthz request; alone, on a
demo already loaded:
    python bench/bench_reconcile.py --instance FOLDER [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import StatementCounter, healthz_ms, make_app, site_at


def measure(app, repeat: int = 3) -> dict:
    import sqlalchemy as sa

    from eldercare.auth.services import issue_token
    from eldercare.extensions import db
    from eldercare.models import User
    from homecare.claims import services
    from homecare.claims.models import Claim, ClaimLine, ClaimStatus

    with app.app_context():
        count = StatementCounter(db.engine)
        admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
        admin_id = admin.id
        token = issue_token(admin).token
        db.session.commit()
        month = db.session.scalar(
            sa.select(sa.func.max(Claim.month)).where(Claim.status == ClaimStatus.SUBMITTED)
        )
        if month is None:
            raise SystemExit("no submitted claims to reconcile: use a freshly loaded demo")
        claims = [
            (c.id, c.line_count)
            for c in db.session.scalars(
                sa.select(Claim).where(Claim.month == month).order_by(Claim.line_count.desc())
            )
        ]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    rows = []
    for claim_id, lines in claims:
        api, first, sql_first = [], 0.0, 0
        count.n = 0
        for i in range(repeat + 1):
            t0 = time.perf_counter()
            r = client.post(f"/api/v1/homecare/claims/{claim_id}/reconcile", headers=headers)
            dt = (time.perf_counter() - t0) * 1000
            if r.status_code != 200:
                raise SystemExit(f"reconcile {claim_id}: HTTP {r.status_code} {r.text[:300]}")
            if i == 0:
                first, sql_first, count.n = dt, count.n, 0
            else:
                api.append(dt)
        sql = count.n / max(repeat, 1)
        full, full_cpu = [], []
        with app.app_context():
            clerk = db.session.get(User, admin_id)
            for _ in range(repeat):
                db.session.execute(
                    sa.update(ClaimLine)
                    .where(ClaimLine.claim_id == claim_id)
                    .values(
                        auto_decision=None,
                        auto_amount=None,
                        reason_bits=0,
                        decision=None,
                        approved_amount=None,
                    )
                )
                db.session.commit()
                claim = db.session.get(Claim, claim_id)
                t0, c0 = time.perf_counter(), time.process_time()
                services.reconcile(claim, clerk)
                db.session.commit()
                full.append((time.perf_counter() - t0) * 1000)
                full_cpu.append((time.process_time() - c0) * 1000)
            db.session.remove()
        rows.append(
            {
                "claim": claim_id,
                "lines": lines,
                "first_ms": first,
                "rerun_ms": statistics.median(api),
                "full_ms": statistics.median(full),
                "full_cpu_ms": statistics.median(full_cpu),
                "sql_first": sql_first,
                "sql": sql,
            }
        )
    lines = sum(r["lines"] for r in rows) or 1
    return {
        "month": month,
        "claims": rows,
        "lines": lines,
        "largest": rows[0] if rows else None,
        "first_ms": sum(r["first_ms"] for r in rows),
        "full_ms": sum(r["full_ms"] for r in rows),
        "per_line_us": sum(r["full_ms"] for r in rows) / lines * 1000,
        "per_line_cpu_us": sum(r["full_cpu_ms"] for r in rows) / lines * 1000,
        "rerun_per_line_us": sum(r["rerun_ms"] for r in rows) / lines * 1000,
        "first_per_line_us": sum(r["first_ms"] for r in rows) / lines * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--instance",
        required=True,
        help="an instance with the demo loaded and its last month's claims still submitted",
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    app = make_app(site_at(args.instance))
    unit = healthz_ms(app)
    r = measure(app, args.repeat)
    print(
        f"month {r['month']}: {r['lines']:,} lines in {len(r['claims'])} claims\n"
        f"first reconciliation, API: {r['first_ms']:.0f} ms "
        f"({r['first_per_line_us']:.0f} µs a line)\n"
        f"every line decided and written: {r['full_ms']:.0f} ms "
        f"({r['per_line_us']:.0f} µs a line, CPU {r['per_line_cpu_us']:.0f} µs)\n"
        f"re-run, API: {r['rerun_per_line_us']:.0f} µs a line\n"
        f"/healthz p50 {unit:.2f} ms: a line costs {r['per_line_us'] / 1000 / unit:.3f} "
        "of one /healthz"
    )


if __name__ == "__main__":
    main()
