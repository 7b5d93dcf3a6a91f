"""The people export (`/people?format=xlsx|csv`, every person) timed in process through
the whole WSGI stack, as the bureau's admin, the body read to its end; with the SQL
statements it sent and, with --profile, where the time went (cProfile, top 25).

Issue 15: at demo scale 10 (131,230 people) it ran past gunicorn's 120-second timeout.
On a demo already loaded:
    python bench/bench_people_export.py --instance FOLDER [--formats xlsx,csv] [--profile]
    python bench/bench_people_export.py --instance FOLDER --code /path/to/other/checkout
(--code: import eldercare from another checkout, e.g. main, to compare before/after.)
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instance", required=True, help="an instance with the demo loaded")
    parser.add_argument("--formats", default="xlsx,csv")
    parser.add_argument("--user", default="admin", help="who exports (a page session)")
    parser.add_argument("--code", help="import eldercare from this checkout instead")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.code:
        sys.path.insert(0, str(Path(args.code).resolve()))
    from common import StatementCounter, logged_in, make_app, site_at

    site = site_at(args.instance)
    app = make_app(site)
    import sqlalchemy as sa

    import eldercare
    from eldercare.extensions import db
    from eldercare.models import Person, User

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == args.user))
        people = db.session.scalar(sa.select(sa.func.count()).select_from(Person))
        counter = StatementCounter(db.engine)
        user_id = user.get_id()
    client = app.test_client()
    logged_in(client, user_id)
    print(f"code: {Path(eldercare.__file__).parent.parent}; {site.database}; {people:,} people")
    print("| format | status | seconds | MB | statements | µs per person |")
    print("| --- | --- | --- | --- | --- | --- |")
    for fmt in args.formats.split(","):
        counter.n = 0
        profile = cProfile.Profile() if args.profile else None
        t0 = time.perf_counter()
        if profile:
            profile.enable()
        resp = client.get(f"/people?format={fmt}")
        size = sum(len(block) for block in resp.response)
        resp.close()
        if profile:
            profile.disable()
        seconds = time.perf_counter() - t0
        print(
            f"| {fmt} | {resp.status_code} | {seconds:.1f} | {size / 1e6:.1f} | {counter.n} | "
            f"{seconds / people * 1e6:.0f} |"
        )
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
