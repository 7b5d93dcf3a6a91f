"""`make bench`: the demo district at scale 1 and 10, measured in one run; writes the
table into bench/README.md (everything below its notes marker is kept as written).

For each scale, in a fresh temporary instance:
  1. the demo load (`eldercare init-db`, `eldercare demo --scale N`), timed, step by step;
  2. in a child process, through the whole WSGI stack (no network): p50/p95 server time and
     SQL statements of the main pages and API calls, as multiples of /healthz measured
     the same way; then the reconciliation of the last full month (bench_reconcile.py);
  3. `eldercare serve --workers 4` over real HTTP: /healthz and scans per second from
     concurrent client threads (bench_homecare.py), and the RSS of the worker process that
     serves a large export while it is downloaded.
Ratios (× /healthz, scans ÷ /healthz, scale 10 ÷ scale 1) are what to compare between
runs: the machine's speed and load move the milliseconds, much less the ratios.

With BENCH_DATABASE_URL=postgresql+psycopg://…/ec_bench the same runs on PostgreSQL too
(that database is emptied first; scales from BENCH_PG_SCALES, default the same).

Usage: python bench/run.py [--scales 1,10] [--repeat 20] [--seconds 10] [--keep]
       python bench/run.py --render RESULTS.json   (the README again, from raw results)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

import bench_facilities  # noqa: E402
import bench_homecare  # noqa: E402
import bench_reconcile  # noqa: E402
from common import (  # noqa: E402
    Case,
    Demo,
    Stopwatch,
    build,
    child_site,
    healthz_ms,
    machine,
    make_app,
    measure_pages,
    new_site,
    reply,
    reply_default,
    run_child,
    session_cookie,
)
from report import render  # noqa: E402
from server import Server, export_memory  # noqa: E402

README = HERE.parent / "README.md"
RESULTS = "eldercare-bench-results.json"
MARKER = "<!-- Notes below are kept by bench/run.py: edit them by hand. -->"
EXPORTS = [
    ("people, Excel (every person)", "/people?format=xlsx"),
    ("visits, CSV (every visit)", "/homecare/visits?format=csv"),
]


def cases(app) -> list[Case]:
    """The pages people open every day, the overview API, and the facilities requests."""
    import sqlalchemy as sa

    from dynamic.models import Comparison
    from eldercare.extensions import db
    from eldercare.models import Person, WubaoSupport
    from homecare.claims.models import Claim, ClaimStatus

    with app.app_context():
        person = db.session.scalar(
            sa.select(WubaoSupport.person_id)
            .where(WubaoSupport.support == "centralized")
            .order_by(WubaoSupport.person_id)
            .limit(1)
        )
        claim = db.session.scalar(
            sa.select(Claim.id)
            .where(Claim.status == ClaimStatus.RECONCILED)
            .order_by(Claim.line_count.desc(), Claim.id)
            .limit(1)
        )
        comparison = db.session.scalar(sa.select(sa.func.max(Comparison.id)))
        number = db.session.get(Person, person).id_number  # decrypted: what a clerk types
    return [
        Case("healthz (cheapest)", "/healthz", None),
        Case("dashboard", "/", "admin"),
        Case("people list", "/people", "admin"),
        Case("people search (name)", "/people?q=王", "admin"),
        Case("people search (ID number)", f"/people?q={number}", "admin"),
        Case("person page (in a care home)", f"/people/{person}", "admin"),
        *bench_facilities.cases(app),
        Case("home-care enrolments", "/homecare/enrolments", "admin"),
        Case("home-care visits", "/homecare/visits", "admin"),
        Case("claims list", "/homecare/claims", "admin"),
        Case("claim review (largest reconciled claim)", f"/homecare/claims/{claim}", "admin"),
        Case("call-backs", "/homecare/callbacks", "admin"),
        Case("provider scorecards", "/homecare/scorecards", "admin"),
        Case("comparisons (dynamic)", "/comparisons", "admin"),
        Case("a comparison with its proposals", f"/comparisons/{comparison}", "admin"),
        Case("dynamic-management figures", "/comparisons/figures", "admin"),
        Case("public notices", "/notices", "admin"),
        Case("annual reviews", "/reviews", "admin"),
        Case("public figures (no login)", "/public", None),
        Case("API overview", "/api/v1/stats/overview", "admin"),
        Case("API people page", "/api/v1/people?per_page=50", "admin"),
        Case("API visits page", "/api/v1/homecare/visits?per_page=50", "admin"),
    ]


def sizes(app) -> dict[str, int]:
    """How big the district is: what the pages' work grows with."""
    import sqlalchemy as sa

    from eldercare.extensions import db
    from eldercare.models import Person
    from facilities.models import Bed, Facility
    from homecare.claims.models import Claim, ClaimLine, ClaimStatus
    from homecare.models import LedgerEntry, Visit

    def count(stmt) -> int:
        return db.session.scalar(stmt) or 0

    with app.app_context():
        claim = db.session.execute(
            sa.select(Claim.id, Claim.line_count)
            .where(Claim.status == ClaimStatus.RECONCILED)
            .order_by(Claim.line_count.desc(), Claim.id)
            .limit(1)
        ).one()
        return {
            "people": count(sa.select(sa.func.count(Person.id))),
            "beds in care homes": count(
                sa.select(sa.func.count(Bed.id))
                .join(Facility, Facility.id == Bed.facility_id)
                .where(Facility.kind == "care_home")
            ),
            "beds in the largest care home": count(
                sa.select(sa.func.count(Bed.id))
                .join(Facility, Facility.id == Bed.facility_id)
                .where(Facility.kind == "care_home")
                .group_by(Bed.facility_id)
                .order_by(sa.func.count(Bed.id).desc())
                .limit(1)
            ),
            "home-care visits": count(sa.select(sa.func.count(Visit.id))),
            "ledger entries": count(sa.select(sa.func.count(LedgerEntry.id))),
            "claim lines": count(sa.select(sa.func.count(ClaimLine.id))),
            "lines of the claim reviewed": claim.line_count,
            "its exception lines": count(
                sa.select(sa.func.count(ClaimLine.id)).where(
                    ClaimLine.claim_id == claim.id,
                    sa.or_(ClaimLine.reason_bits != 0, ClaimLine.override_decision.is_not(None)),
                )
            ),
        }


def in_process(site, repeat: int, threads: int) -> dict:
    """The child's part: pages, then what the server part needs, then reconciliation
    (last: it changes the claims the pages show)."""
    app = make_app(site)
    unit = healthz_ms(app)
    pages = measure_pages(app, cases(app), repeat)
    return {
        "sizes": sizes(app),
        "healthz_ms": unit,
        "pages": pages,
        "cookie": session_cookie(app, "admin"),
        "cards": bench_homecare.cards(app, threads),
        "reconcile": bench_reconcile.measure(app),
    }


def measure_site(site, args) -> dict:
    print(
        f"{site.database} scale {site.scale}: building the demo district in {site.folder} …",
        flush=True,
    )
    demo = build(site)
    print(f"  demo loaded in {demo.seconds:.1f} s; pages and reconciliation …", flush=True)
    result = run_child(HERE, site, str(args.repeat), str(args.threads))
    result["demo"] = demo
    print(
        f"  serve --workers {args.workers}: /healthz and scans, {args.threads} threads × "
        f"{args.seconds:.0f} s; exports …",
        flush=True,
    )
    with Server(site, args.workers) as server:
        rates = bench_homecare.scan_rates(server, result.pop("cards"), args.threads, args.seconds)
        result["rates"] = {name: asdict(r) for name, r in rates.items()}
        result["exports"] = [
            asdict(export_memory(server, result["cookie"], path)) for _label, path in EXPORTS
        ]
    del result["cookie"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="1,10")
    parser.add_argument("--repeat", type=int, default=20, help="requests per page")
    parser.add_argument("--workers", type=int, default=4, help="server worker processes")
    parser.add_argument("--threads", type=int, default=8, help="HTTP client threads")
    parser.add_argument("--seconds", type=float, default=10, help="per throughput figure")
    parser.add_argument("--keep", action="store_true", help="keep the demo instances")
    parser.add_argument(
        "--results",
        default=str(Path(tempfile.gettempdir()) / RESULTS),
        help="where the raw results go (JSON)",
    )
    parser.add_argument(
        "--no-sqlite", action="store_true", help="with BENCH_DATABASE_URL: PostgreSQL only"
    )
    parser.add_argument("--readme", default=str(README), help="the file to write")
    parser.add_argument(
        "--render",
        metavar="JSON",
        help="only write the README from the raw results of an earlier run",
    )
    args = parser.parse_args()
    if args.render:
        run = json.loads(Path(args.render).read_text())
    else:
        text = json.dumps(measure_all(args), default=reply_default)
        Path(args.results).write_text(text)
        run = json.loads(text)
    results = {}
    for key, r in run["results"].items():
        name, scale = key.split("|")
        results[(name, int(scale))] = r | {"demo": Demo(**r["demo"])}
    text = render(
        results,
        run["before"],
        run["after"],
        run["seconds"],
        argparse.Namespace(**run["args"]),
        EXPORTS,
    )
    readme = Path(args.readme)
    notes = ""
    if readme.exists() and MARKER in (old := readme.read_text()):
        notes = old.split(MARKER, 1)[1]
    readme.write_text(text + "\n" + MARKER + (notes or "\n"))
    print(text)
    print(f"written to {readme}; raw results: {args.results}")


def measure_all(args) -> dict:
    """Every database and scale, one after the other (each in a fresh instance)."""
    clock = Stopwatch()
    before = machine()
    runs = [] if args.no_sqlite else [("SQLite", None, args.scales)]
    if url := os.environ.get("BENCH_DATABASE_URL"):
        runs.append(("PostgreSQL", url, os.environ.get("BENCH_PG_SCALES", args.scales)))
    results = {}
    for name, url, scales in runs:
        for scale in (int(s) for s in scales.split(",")):
            site = new_site(scale, url)
            try:
                results[f"{name}|{scale}"] = measure_site(site, args)
            finally:
                if args.keep:
                    print(f"  kept: {site.folder} ({site.url})")
                else:
                    shutil.rmtree(site.folder, ignore_errors=True)
    return {
        "results": results,
        "before": before,
        "after": machine(),
        "seconds": clock(),
        "args": {
            k: v
            for k, v in vars(args).items()
            if k in ("scales", "repeat", "workers", "threads", "seconds")
        },
    }


if __name__ == "__main__":
    if child := child_site(sys.argv):
        site, rest = child
        reply(in_process(site, int(rest[0]), int(rest[1])))
    else:
        main()
