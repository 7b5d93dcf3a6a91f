"""Home-care scans per second through `eldercare serve`, beside the cheapest request the
server answers (/healthz), fired the same way: several client threads, each over its own
keep-alive HTTP connection, for a fixed time.

Each thread is one home-care worker (its own bearer token) checking in and out at its
provider's elders one after another; every check-out picks a meal, so it is priced and
debits the elder's ledger with a conditional update. `make bench` (bench/run.py) runs
this at each scale; alone, on a demo already loaded:
    python bench/bench_homecare.py --instance FOLDER [--workers 4 --threads 8 --seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from common import (  # noqa: E402
    Site,
    child_site,
    make_app,
    reply,
    run_child,
    site_at,
)
from server import Rate, Server, get_healthz, rate  # noqa: E402


def cards(app, threads: int) -> list[tuple[str, list[tuple[str, float | None, float | None]]]]:
    """(bearer token, (card URL, the elder's home point) of the worker's provider's elders)
    for `threads` workers, each a new account of a provider in turn.

    New accounts, so that each run has the timeline to itself: scanning as an earlier
    run's worker, at the same times of the same day, would put the new visits on top of
    the old ones (worker_overlap, and the old visits flagged at every check-out), which
    is what the curves measured before: by the third run of a curve most scans were
    flagged overlaps, not the ordinary scan."""
    import sqlalchemy as sa

    from eldercare.auth.services import create_user, issue_token
    from eldercare.extensions import db
    from eldercare.models import Person
    from homecare import cards as hc_cards
    from homecare.models import Enrolment, Provider

    out = []
    with app.app_context():
        providers = db.session.scalars(sa.select(Provider).order_by(Provider.id)).all()
        run = uuid.uuid4().hex[:6]
        for i in range(threads):
            provider = providers[i % len(providers)]
            worker = create_user(
                f"bench_{run}_{i}", f"Bench-{uuid.uuid4().hex}", "worker", provider_id=provider.id
            )
            elders = db.session.execute(
                sa.select(Enrolment, Person.home_lat, Person.home_lng)
                .join(Person)
                .where(Enrolment.provider_id == provider.id, Enrolment.status == "active")
                .order_by(Enrolment.id)
                .limit(2000)
            ).all()
            out.append((issue_token(worker).token, [(hc_cards.url(e), y, x) for e, y, x in elders]))
        db.session.commit()
    return out


def scan_step(per_thread, offset: int = 0):
    """A step for common.hammer: thread i's n-th scan (in, out, in, out… at its elder n // 2,
    three minutes apart, starting yesterday, at the elder's door as a phone reports it).
    n goes on across calls (warm-up, then the measured run), so no elder is scanned twice
    at the same time."""
    base = datetime.now(UTC) - timedelta(days=1)
    counters = [0] * len(per_thread)

    def scan(conn, i: int, _n: int) -> bool:
        token, elders = per_thread[i % len(per_thread)]
        n = counters[i % len(per_thread)]
        counters[i % len(per_thread)] += 1
        # threads of one provider (8 threads, 4 providers) at different elders
        url, lat, lng = elders[(offset + 211 * i + n // 2) % len(elders)]
        body = {
            "qr": url,
            "kind": "check_in" if n % 2 == 0 else "check_out",
            "at": (base + timedelta(minutes=3 * n)).isoformat(),
            "client_id": str(uuid.uuid4()),
            "lat": lat,
            "lng": lng,
        }
        if n % 2:
            body["services"] = [{"code": "meal", "quantity": 1}]
        conn.request(
            "POST",
            "/api/v1/homecare/scans",
            json.dumps(body),
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        resp = conn.getresponse()
        resp.read()
        return resp.status in (200, 201)

    return scan


def scan_rates(
    server: Server, per_thread, threads: int, seconds: float, offset: int = 0
) -> dict[str, Rate]:
    """/healthz and scans, each for `seconds` from `threads` threads (after a warm-up)."""
    healthz = rate(server.port, threads, seconds, get_healthz)
    scans = rate(server.port, threads, seconds, scan_step(per_thread, offset))
    return {"healthz": healthz, "scans": scans}


def prepare(site: Site, threads: int) -> list:
    """cards() in a child process (the parent has no app)."""
    return run_child(HERE, site, "cards", str(threads))["cards"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instance", required=True, help="an instance with the demo loaded")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    site = site_at(args.instance)
    per_thread = prepare(site, args.threads)
    with Server(site, args.workers) as server:
        # other elders than an earlier run's on the same instance
        offset = int.from_bytes(os.urandom(2), "big")
        rates = scan_rates(server, per_thread, args.threads, args.seconds, offset)
    print(
        f"`eldercare serve --workers {args.workers}`, {args.threads} client threads, "
        f"{args.seconds:.0f} s each\n\n| request | per second | p50 ms | p95 ms | errors |\n"
        "| --- | --- | --- | --- | --- |"
    )
    for name, r in rates.items():
        print(f"| {name} | {r.per_second:,.0f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.errors} |")
    print(f"\nscans/s ÷ healthz/s = {rates['scans'].per_second / rates['healthz'].per_second:.3f}")


if __name__ == "__main__":
    if child := child_site(sys.argv):
        site, rest = child
        reply({"cards": cards(make_app(site), int(rest[1]))})
    else:
        main()
