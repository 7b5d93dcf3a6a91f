"""The demo's year of home-care visits, planned before anything is written (demo.py
writes them): who is visited how often, which services and how much, the workers' rounds,
the planted exceptions and patterns, proof of presence as phones give it, each visit
priced against the elder's balance. Seeded: the same district every time."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate

from eldercare.timeutil import LOCAL

from .flags import distance_m

ZERO = Decimal("0.00")

# How often each service is picked, and how much of it (hours, sessions, meals).
MIX = {
    "meal": (30, (1, 1, 2)),
    "clean": (22, (1, 1, 1.5, 2)),
    "care": (18, (1, 1, 1.5, 2)),
    "bath": (10, (1,)),
    "company": (8, (1, 1, 2)),
    "haircut": (6, (1,)),
    "errand": (4, (1,)),
    "escort": (2, (2, 3)),
}
#: Visits per elder in the year so far: some never use the service, a few use it often
#: (those run out of subsidy and pay the rest themselves).
VISIT_COUNTS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12)
VISIT_WEIGHTS = (18, 16, 20, 16, 11, 8, 5, 3, 1, 1, 1)
#: Proof of presence (issue 14): shares of scans without location and of late uploads,
#: and of elders whose home point the bureau has not decided yet; reasons as workers give
#: them (no signal in the hills above all).
NO_LOCATION_SHARE = 0.03
LATE_UPLOAD_SHARE = 0.01
NO_HOME_POINT_SHARE = 0.04
NO_LOCATION_WEIGHTS = {"no_signal": 50, "denied": 25, "no_gps": 15, "other": 10}


@dataclass
class _State:
    year: int = 0
    providers: list[int] = field(default_factory=list)
    workers: dict[int, list[int]] = field(default_factory=dict)
    by_township: dict[str, int] = field(default_factory=dict)
    enrolments: list[tuple[int, int, int]] = field(default_factory=list)  # id, person, prov


def state(ctx) -> _State:
    if not hasattr(ctx, "homecare"):
        ctx.homecare = _State(year=ctx.today.year)
    return ctx.homecare


def utc(day: date, minutes: int) -> datetime:
    return (datetime.combine(day, time.min, tzinfo=LOCAL) + timedelta(minutes=minutes)).astimezone(
        UTC
    )


@dataclass
class _Visit:
    enrolment: int
    provider: int
    day: date
    lines: list[tuple[str, Decimal]]
    worker: int = 0
    start: int = 0  # minutes after local midnight
    minutes: int = 0
    exceptions: list[str] = field(default_factory=list)
    manual: str = ""
    open: bool = False
    far: bool = False
    spot: tuple[float, float] | None = None  # scanned here rather than at the home


#: MIX's codes, their cumulative weights (random.choices draws the same with them as
#: with the weights, without adding them up for every visit) and their amounts as Decimal
CODES = list(MIX)
CODE_CUM_WEIGHTS = list(accumulate(MIX[c][0] for c in CODES))
AMOUNTS = {c: tuple(Decimal(str(q)) for q in MIX[c][1]) for c in CODES}
VISIT_CUM_WEIGHTS = list(accumulate(VISIT_WEIGHTS))


def _pick_lines(rng, hour_units: set[str]) -> list[tuple[str, Decimal]]:
    first = rng.choices(CODES, cum_weights=CODE_CUM_WEIGHTS)[0]
    picked = {first}
    if rng.random() < 0.3:
        picked.add(rng.choices(CODES, cum_weights=CODE_CUM_WEIGHTS)[0])
    return [(c, rng.choice(AMOUNTS[c])) for c in sorted(picked)]


def _duration(rng, lines, hour_units: set[str]) -> int:
    hours = sum(q for c, q in lines if c in hour_units)
    base = int(hours * 60) if hours else 0
    extra = sum(35 if c == "bath" else 20 for c, _ in lines if c not in hour_units)
    return max(15, base + extra + rng.randrange(-3, 12))


def _travel_minutes(homes: dict, a: int, b: int) -> int:
    """The drive from one elder's home to the next at 40 km/h, with five minutes to park:
    an honest day never looks like an impossible trip (homecare/patterns.py)."""
    pa, pb = homes.get(a), homes.get(b)
    if not pa or not pb or None in pa or None in pb:
        return 0
    return 5 + distance_m(*pa, *pb) * 60 // 40_000


def _plan(ctx, st: _State, hour_units: set[str], homes: dict) -> list[_Visit]:
    """Which elder is visited on which day with which services; then each worker's day
    laid out one home after another (no worker in two homes at once, and time to drive
    between them)."""
    rng = ctx.rng
    first, last = date(st.year, 1, 2), ctx.today - timedelta(days=1)
    span = max(1, (last - first).days)
    plan: list[_Visit] = []
    for eid, _pid, prov in st.enrolments:
        n = rng.choices(VISIT_COUNTS, cum_weights=VISIT_CUM_WEIGHTS)[0]
        for _ in range(n):
            day = first + timedelta(days=rng.randrange(span + 1))
            plan.append(_Visit(eid, prov, day, _pick_lines(rng, hour_units)))
    buckets: dict[tuple[int, date], list[_Visit]] = defaultdict(list)
    for v in plan:
        v.worker = rng.choice(st.workers[v.provider])
        buckets[(v.worker, v.day)].append(v)
    for visits in buckets.values():
        t = 8 * 60 + rng.randrange(0, 40)
        for i, v in enumerate(visits):
            v.start, v.minutes = t, _duration(rng, v.lines, hour_units)
            way = rng.randrange(20, 45)  # the way to the next home
            if i + 1 < len(visits):
                way = max(way, _travel_minutes(homes, v.enrolment, visits[i + 1].enrolment))
            t += v.minutes + way
    return plan


def _plant(ctx, plan: list[_Visit], st: _State) -> None:
    """A few visits of each exception, so that the lists and claims have some to show."""
    rng = ctx.rng
    sample = rng.sample(plan, min(len(plan), ctx.n(60)))
    for i, v in enumerate(sample):
        kind = i % 6
        if kind == 0:
            v.minutes, v.exceptions = 6, ["too_short"]
        elif kind == 1:
            v.far, v.exceptions = True, ["far_from_home"]
        elif kind == 2:
            v.manual, v.exceptions = rng.choice(["card_lost", "card_damaged"]), ["manual"]
        elif kind == 3:
            v.lines = [("clean", Decimal("3"))]
            v.minutes, v.exceptions = 70, ["quantity_exceeds_time"]
        elif kind == 4:
            v.open, v.exceptions = True, ["no_check_out"]
        else:
            v.exceptions = ["suspect_card"]
    # One worker in two homes at once: a second home started during the first visit.
    theirs = defaultdict(list)
    for eid, _pid, prov in st.enrolments:
        theirs[prov].append(eid)
    for v in rng.sample(plan, min(len(plan), ctx.n(8))):
        twin = _Visit(
            rng.choice(theirs[v.provider]),
            v.provider,
            v.day,
            [("company", Decimal("1"))],
            worker=v.worker,
            start=v.start + 15,
            minutes=60,
            exceptions=["worker_overlap"],
        )
        plan.append(twin)


def presence_of(rng, v: _Visit, home, undecided: dict) -> tuple[list[str], str, timedelta]:
    """The visit's flags with proof of presence: no home point (undecided or unknown),
    no location now and then (never on a planted far or suspect scan, whose place is the
    point), late now and then. Returns the flags, the reason, and the upload delay."""
    exceptions = list(v.exceptions)
    if v.enrolment in undecided or home[0] is None:
        # no home point: nothing to measure a distance from
        exceptions = [c for c in exceptions if c != "far_from_home"] + ["no_home_point"]
    reason = ""
    if (
        not v.manual
        and not v.far
        and "suspect_card" not in exceptions
        and (home[0] is None or rng.random() < NO_LOCATION_SHARE)
    ):
        exceptions.append("no_location")
        codes = list(NO_LOCATION_WEIGHTS)
        reason = rng.choices(codes, [NO_LOCATION_WEIGHTS[c] for c in codes])[0]
    delay = timedelta(minutes=rng.randrange(0, 3))
    if not v.manual and rng.random() < LATE_UPLOAD_SHARE:
        exceptions.append("late_upload")
        delay = timedelta(hours=rng.randrange(73, 150))
    return exceptions, reason, delay


def _plant_patterns(ctx, plan: list[_Visit], st: _State, homes: dict) -> None:
    """The dishonest patterns for the patterns page to find (homecare/patterns.py), on
    a day of last month, with a random generator of their own (the rest of the demo
    draws the same numbers as before): a worker of the second provider scanning four
    elders' cards one after another from one spot 1.5 km from the first one's home, and
    a worker of the third provider who checks in at a home 15 km or more from the last
    one ten minutes after leaving it."""
    day = ctx.today.replace(day=1) - timedelta(days=18)
    if day < date(st.year, 1, 2) or len(st.providers) < 3:
        return
    rng = random.Random(f"patterns-{st.year}")  # noqa: S311  # nosec B311 # demo data, not secrets
    located = defaultdict(list)
    for eid, _pid, prov in st.enrolments:
        if None not in homes.get(eid, (None, None)):
            located[prov].append(eid)
    _plant_office(plan, st, located[st.providers[1]], homes, day, rng)
    _plant_travel(plan, st, located[st.providers[2]], homes, day, rng)


def _plant_office(plan: list[_Visit], st: _State, pool: list, homes: dict, day, rng) -> None:
    """Four elders' cards scanned one after another from one spot 1.5 km from the
    first one's home, by a worker of the second provider."""
    office_p = st.providers[1]
    elders = rng.sample(pool, 4)
    home = homes[elders[0]]
    spot = (home[0] + 0.0135, home[1])  # about 1.5 km north of the first home
    if all(distance_m(*spot, *homes[e]) > 300 for e in elders):
        worker = st.workers[office_p][min(2, len(st.workers[office_p]) - 1)]
        for i, eid in enumerate(elders):
            plan.append(
                _Visit(
                    eid,
                    office_p,
                    day,
                    [("meal", Decimal("1"))],
                    worker=worker,
                    start=17 * 60 + 30 + 20 * i,
                    minutes=12,
                    spot=spot,
                )
            )


def _plant_travel(plan: list[_Visit], st: _State, pool: list, homes: dict, day, rng) -> None:
    """A worker of the third provider checking in at a home 15 km or more from the last
    one ten minutes after leaving it."""
    travel_p = st.providers[2]
    for _ in range(200):
        a, b = rng.sample(pool, 2)
        if distance_m(*homes[a], *homes[b]) >= 15_000:
            worker = st.workers[travel_p][min(1, len(st.workers[travel_p]) - 1)]
            plan.append(
                _Visit(
                    a,
                    travel_p,
                    day,
                    [("care", Decimal("1"))],
                    worker=worker,
                    start=18 * 60,
                    minutes=62,
                )
            )
            plan.append(
                _Visit(
                    b,
                    travel_p,
                    day,
                    [("clean", Decimal("1"))],
                    worker=worker,
                    start=19 * 60 + 12,
                    minutes=63,
                )
            )
            break


def scan_spot(rng, v: _Visit, home) -> tuple[float | None, float | None, int | None]:
    """Where the phone was at check-in, and how far from the home: beside it, or far off
    for a planted far scan, or the pattern's own spot; nothing without a home point."""
    if v.spot and home[0] is not None:
        return *v.spot, distance_m(*v.spot, *home)
    if home[0] is not None and home[1] is not None:
        off = 0.015 + rng.uniform(0, 0.01) if v.far else rng.uniform(-0.0004, 0.0004)
        lat, lng = home[0] + off, home[1] + rng.uniform(-0.0004, 0.0004)
        return lat, lng, distance_m(lat, lng, *home)
    return None, None, None


def priced(v: _Visit, catalogue: dict, balance: dict) -> tuple[list, Decimal, Decimal]:
    """The visit's lines priced from the catalogue, its amount, and the subsidised part
    (what is left of the elder's balance, taken off it here); nothing for an open visit."""
    if v.open:
        return [], ZERO, ZERO
    lines = [
        (c, q, catalogue[c].price, (q * catalogue[c].price).quantize(Decimal("0.01")))
        for c, q in v.lines
    ]
    amount = sum((x[3] for x in lines), ZERO)
    subsidised = min(amount, balance[v.enrolment])
    balance[v.enrolment] -= subsidised
    return lines, amount, subsidised


def visit_row(v: _Visit, spot, presence: tuple, amount: Decimal, subsidised: Decimal) -> dict:
    """The visit's row as the scans would have left it."""
    lat, lng, dist = spot
    exceptions, reason, created = presence
    if "no_location" in exceptions:
        lat = lng = None
    if "no_location" in exceptions or "no_home_point" in exceptions:
        dist = None
    check_in = utc(v.day, v.start)
    check_out = None if v.open else check_in + timedelta(minutes=v.minutes)
    status = "open" if v.open and not exceptions else ("flagged" if exceptions else "completed")
    return {
        "enrolment_id": v.enrolment,
        "provider_id": v.provider,
        "worker_id": v.worker,
        "check_in_at": check_in,
        "check_out_at": check_out,
        "status": status,
        "amount": amount,
        "subsidised": subsidised,
        "self_paid": amount - subsidised,
        "lat": lat if not v.manual else None,
        "lng": lng if not v.manual else None,
        "distance_m": dist if not v.manual else None,
        "manual": bool(v.manual),
        "manual_reason": v.manual,
        "manual_note": "老人服务卡遗失，已电话核实" if v.manual else "",
        "exceptions": exceptions,
        "no_location_reason": reason,
        "created_at": (check_out or check_in) + created,
    }


def full_plan(ctx, st: _State, hour_units: set[str], homes: dict) -> list[_Visit]:
    """The plan with its planted exceptions and patterns, in time order."""
    plan = _plan(ctx, st, hour_units, homes)
    _plant(ctx, plan, st)
    _plant_patterns(ctx, plan, st, homes)
    plan.sort(key=lambda v: (v.day, v.start, v.enrolment))
    return plan
