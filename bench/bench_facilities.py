"""Facilities requests for the benchmark: the bed board of the largest care home (as its
manager and as the bureau), the list, the occupancy dashboard, placement with ranked beds,
and their API calls. `make bench` (bench/run.py) measures them with every other page.

Alone, on a demo already loaded (e.g. one `bench/run.py --keep` left):
    python bench/bench_facilities.py --instance FOLDER [--repeat 20]
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Case, make_app, measure_pages, site_at


def cases(app) -> list[Case]:
    import sqlalchemy as sa

    from eldercare.extensions import db
    from eldercare.models import User, WubaoSupport
    from eldercare.timeutil import local_today
    from facilities.models import Bed, Facility, Stay

    with app.app_context():
        biggest, _beds = db.session.execute(
            sa.select(Facility.id, sa.func.count(Bed.id))
            .join(Bed, Bed.facility_id == Facility.id)
            .where(Facility.kind == "care_home")
            .group_by(Facility.id)
            .order_by(sa.func.count(Bed.id).desc(), Facility.id)
            .limit(1)
        ).one()
        manager = db.session.scalar(
            sa.select(User.username).where(User.facility_id == biggest).order_by(User.id)
        )
        applicant = db.session.scalar(
            sa.select(WubaoSupport.person_id)
            .where(
                WubaoSupport.applied_centralized_on.is_not(None), WubaoSupport.end_date.is_(None)
            )
            .order_by(WubaoSupport.person_id)
            .limit(1)
        )
        a_bed = db.session.scalar(
            sa.select(Stay.bed_id).where(Stay.facility_id == biggest).order_by(Stay.id).limit(1)
        )
    year_ago = local_today() - timedelta(days=365)
    return [
        Case("facilities list", "/facilities", "admin"),
        Case("bed board, manager (largest home)", f"/facilities/{biggest}", manager),
        Case("bed board, bureau (same home)", f"/facilities/{biggest}", "admin"),
        Case("occupancy dashboard", "/facilities/occupancy", "admin"),
        Case("placements (waiting list)", "/placements", "admin"),
        Case("placement with ranked beds", f"/placements?person_id={applicant}", "admin"),
        Case("API placement options", f"/api/v1/people/{applicant}/placement-options", "admin"),
        Case("API facility beds (largest home)", f"/api/v1/facilities/{biggest}/beds", "admin"),
        Case("API bed history", f"/api/v1/beds/{a_bed}/history", "admin"),
        Case("API overview a year ago", f"/api/v1/stats/overview?date={year_ago}", "admin"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instance", required=True, help="an instance with the demo loaded")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    app = make_app(site_at(args.instance))
    print("| request | p50 ms | p95 ms | SQL statements |\n| --- | --- | --- | --- |")
    for t in measure_pages(app, cases(app), args.repeat):
        print(
            f"| {t.label} | {t.p50:.1f} | {t.p95:.1f} | {t.sql:.0f} |"
            if t.status == 200
            else f"| {t.label} | HTTP {t.status} | | |"
        )


if __name__ == "__main__":
    main()
