"""Reconciliation cost per claim line, at the demo scale and ten times it.

For each scale: build the demo district (SQLite, `eldercare demo --scale N`), take the
last full month's claims (the demo leaves them submitted), and reconcile each provider's
claim through the API in-process (server time through the WSGI stack, as bench/run.py
measures pages): the first run, which also draws the call-back sample, then repeats
(reconciliation is idempotent). Also the database work alone (service call and commit),
the SQL statements per reconciliation, and one /healthz request for scale. Appends the
table to bench/NOTES.md, which bench/run.py includes in bench/README.md.

Usage: python bench/bench_reconcile.py [--scales 1,10] [--repeat 5] [--keep]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build(scale: int, folder: Path) -> tuple[float, float | None]:
    env = dict(os.environ, ELDERCARE_INSTANCE=str(folder),
               DATABASE_URL=f"sqlite:///{folder / 'bench.db'}", ELDERCARE_TOTP="off")
    cli = [sys.executable, "-m", "eldercare.cli"]
    subprocess.run([*cli, "init-db"], env=env, check=True, capture_output=True)
    t0 = time.perf_counter()
    out = subprocess.run([*cli, "demo", "--scale", str(scale)], env=env, check=True,
                         capture_output=True, text=True).stdout
    total = time.perf_counter() - t0
    step = None
    for line in out.splitlines():
        parts = line.split()
        if parts[:1] == ["claims"] and len(parts) >= 3 and parts[-1] == "s":
            step = float(parts[-2])
    return total, step


def measure(folder: Path, repeat: int) -> dict:
    os.environ["ELDERCARE_INSTANCE"] = str(folder)
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.db'}"
    import sqlalchemy as sa
    from sqlalchemy import event

    from eldercare import create_app
    from eldercare.auth.services import issue_token
    from eldercare.extensions import db
    from eldercare.models import User
    from homecare.claims import services
    from homecare.claims.models import Claim, ClaimLine, ClaimStatus

    app = create_app()
    count = {"n": 0}
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute",
                     lambda *a, **k: count.__setitem__("n", count["n"] + 1))
        admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
        admin_id = admin.id
        token = issue_token(admin).token
        db.session.commit()
        month = db.session.scalar(sa.select(sa.func.max(Claim.month)))
        claims = [(c.id, c.line_count) for c in db.session.scalars(
            sa.select(Claim).where(Claim.month == month).order_by(Claim.line_count.desc()))]
        submitted = all(c.status == ClaimStatus.SUBMITTED for c in db.session.scalars(
            sa.select(Claim).where(Claim.month == month)))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    healthz = []
    for _ in range(50):
        t0 = time.perf_counter()
        client.get("/healthz").close()
        healthz.append((time.perf_counter() - t0) * 1000)
    rows = []
    for claim_id, lines in claims:
        times, first = [], None
        count["n"] = 0
        for i in range(repeat + 1):
            t0 = time.perf_counter()
            r = client.post(f"/api/v1/homecare/claims/{claim_id}/reconcile", headers=headers)
            dt = (time.perf_counter() - t0) * 1000
            assert r.status_code == 200, r.text[:300]
            if i == 0:
                first, sql_first = dt, count["n"]
                count["n"] = 0
            else:
                times.append(dt)
        sql = count["n"] / max(repeat, 1)
        db_only, cpu, full, full_cpu = [], [], [], []
        with app.app_context():
            clerk = db.session.get(User, admin_id)
            for _ in range(repeat):
                claim = db.session.get(Claim, claim_id)
                t0, c0 = time.perf_counter(), time.process_time()
                services.reconcile(claim, clerk)
                db.session.commit()
                db_only.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
                # the same with every answer forgotten first, so that every line is written
                db.session.execute(sa.update(ClaimLine).where(ClaimLine.claim_id == claim_id)
                                   .values(auto_decision=None, auto_amount=None, reason_bits=0,
                                           decision=None, approved_amount=None))
                db.session.commit()
                claim = db.session.get(Claim, claim_id)
                t0, c0 = time.perf_counter(), time.process_time()
                services.reconcile(claim, clerk)
                db.session.commit()
                full.append((time.perf_counter() - t0) * 1000)
                full_cpu.append((time.process_time() - c0) * 1000)
            db.session.remove()
        rows.append({"claim": claim_id, "lines": lines, "first_ms": first,
                     "api_ms": statistics.median(times), "db_ms": statistics.median(db_only),
                     "cpu_ms": statistics.median(cpu), "full_ms": statistics.median(full),
                     "full_cpu_ms": statistics.median(full_cpu),
                     "sql": sql, "sql_first": sql_first})
    return {"month": month, "fresh": submitted, "healthz_ms": statistics.median(healthz),
            "claims": rows}


def write(results: dict, demo: dict) -> str:
    now = datetime.now(UTC)
    out = [f"## Reconciliation (bench/bench_reconcile.py, {now:%Y-%m-%d %H:%M} UTC)", "",
           f"{platform.machine()}, {os.cpu_count()} cores, Python "
           f"{platform.python_version()}, SQLite; server time in-process through the WSGI "
           "stack. One claim per provider for the last full month of the demo year; "
           "the API answer carries every line. Repeats are the idempotent re-runs (which "
           "write nothing: only changed answers are written). Wall times depend on the "
           f"machine's load (load average {os.getloadavg()[0]:.1f} at the end); CPU time "
           "does not.", "",
           "| figure | " + " | ".join(f"scale {s}" for s in results) + " |",
           "| --- | " + " | ".join("---" for _ in results) + " |"]

    def row(label, fn):
        out.append(f"| {label} | " + " | ".join(fn(s, r) for s, r in results.items()) + " |")

    row("demo load, all steps (s)", lambda s, r: f"{demo[s][0]:.0f}" if demo[s][0] else "—")
    row("demo claims step (s)", lambda s, r: f"{demo[s][1]:.1f}" if demo[s][1] else "—")
    row("claim lines in the district month",
        lambda s, r: f"{sum(c['lines'] for c in r['claims']):,}")
    row("largest claim (lines)", lambda s, r: f"{r['claims'][0]['lines']:,}")
    row("largest claim: first reconcile, API (ms)",
        lambda s, r: f"{r['claims'][0]['first_ms']:.0f}")
    row("largest claim: re-run, API p50 (ms)", lambda s, r: f"{r['claims'][0]['api_ms']:.0f}")
    row("largest claim: service + commit, every line written, p50 (ms)",
        lambda s, r: f"{r['claims'][0]['full_ms']:.0f}")
    row("largest claim: the same, CPU time (ms)",
        lambda s, r: f"{r['claims'][0]['full_cpu_ms']:.0f}")
    row("largest claim: service + commit, re-run (nothing changes), p50 (ms)",
        lambda s, r: f"{r['claims'][0]['db_ms']:.0f}")
    row("district month, service + commit, every line written (ms)",
        lambda s, r: f"{sum(c['full_ms'] for c in r['claims']):.0f}")
    row("cost per line, API re-run (µs)", lambda s, r: f"{per_line(r, 'api_ms') * 1000:.0f}")
    row("cost per line, every line written (µs)",
        lambda s, r: f"{per_line(r, 'full_ms') * 1000:.0f}")
    row("cost per line, every line written, CPU (µs)",
        lambda s, r: f"{per_line(r, 'full_cpu_ms') * 1000:.0f}")
    row("/healthz p50 (ms)", lambda s, r: f"{r['healthz_ms']:.2f}")
    row("a line (every line written) costs this share of one /healthz",
        lambda s, r: f"{per_line(r, 'full_ms') / r['healthz_ms']:.3f}")
    row("SQL statements per reconciliation (first / re-run)",
        lambda s, r: f"{r['claims'][0]['sql_first']:.0f} / {r['claims'][0]['sql']:.0f}")
    text = "\n".join(out) + "\n"
    notes = ROOT / "bench" / "NOTES.md"
    head = "" if notes.exists() else "# Notes beside the page benchmarks\n\n"
    with notes.open("a") as fh:
        fh.write(head + text + "\n")
    return text


def per_line(r: dict, key: str) -> float:
    lines = sum(c["lines"] for c in r["claims"]) or 1
    return sum(c[key] for c in r["claims"]) / lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="1,10")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the demo databases")
    parser.add_argument("--reuse", default="", help="SCALE=FOLDER,… of kept demo databases")
    args = parser.parse_args()
    reuse = dict(item.split("=", 1) for item in args.reuse.split(",") if item)
    results, demo = {}, {}
    for scale in [int(s) for s in args.scales.split(",")]:
        if str(scale) in reuse:
            folder, args.keep = Path(reuse[str(scale)]), True
            demo[scale] = (None, None)
        else:
            folder = Path(tempfile.mkdtemp(prefix=f"eldercare-reconcile-{scale}-"))
            print(f"scale {scale}: building the demo district in {folder} …", flush=True)
            demo[scale] = build(scale, folder)
        print(f"scale {scale}: reconciling …", flush=True)
        out = subprocess.run([sys.executable, __file__, "--measure", str(folder),
                              "--repeat", str(args.repeat)], capture_output=True, text=True,
                             check=True).stdout
        results[scale] = eval(out.strip().splitlines()[-1])  # noqa: S307 — our own child's repr
        if not args.keep:
            for f in folder.iterdir():
                f.unlink()
            folder.rmdir()
    print(write(results, demo))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--measure":
        repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 5
        print(repr(measure(Path(sys.argv[2]), repeat)))
    else:
        main()
