"""Patterns across visits (issue 14, point 4): what no single scan shows.

Per worker and local month:
- `impossible_travel`: a visit whose worker's previous visit (by check-in, the visits not
  overlapping: an overlap is `worker_overlap`'s) is farther away than 60 km/h allows in
  the time from that visit's check-out to this one's check-in, with 1 km to spare for
  approximate points. Each visit's place is its elder's home point; where the home is
  missing, the check-in scan's location; a pair with neither is not judged.
- `same_place`: a check-in scanned away from its elder's home (more than 200 m from the
  home point, or the home unknown: nothing then shows the scan was at home) within 50 m
  of the check-ins of two or more other elders' visits of the same provider on the same
  local day, those also away from home: cards scanned in the office. Three elders of one
  building scanned at their homes are at home, and not flagged.
- the shares of visits flagged `late_upload` and `no_location` at scan time.

Finding them is one query for the month's visits (with the day before, for the first
visit's predecessor), worked through in Python per worker and per provider-day; marking
them is one UPDATE per code that appends the code to visits that lack it (idempotent,
audited with the ids). The figures for the page and the API are one grouped query. So
the number of statements does not grow with the number of workers or visits.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

import sqlalchemy as sa

from eldercare import audit
from eldercare.extensions import db
from eldercare.models import Person, User
from eldercare.timeutil import Month, to_local

from .flags import distance_m
from .models import Enrolment, Provider, Visit, VisitStatus

#: found across visits here, in the order the page shows them
FOUND = ("impossible_travel", "same_place")
#: flagged at scan time, counted here
COUNTED = ("late_upload", "no_location")
CODES = FOUND + COUNTED

SPEED_KMH = 60
SLACK_M = 1000  # home points are approximate; next door is never an impossible trip
SPOT_M = 50  # "one spot"
AWAY_M = 200  # a check-in this far from the home point was not scanned at home
SPOT_ELDERS = 3  # different elders scanned at one spot on one day
CHUNK = 5000  # ids per UPDATE (SQLite's and PostgreSQL's parameter limits)
# A grid of cells a little over 50 m, so that a spot's neighbours are in its own and
# the eight cells around it: no comparison of every pair of a provider's day.
_CELL = 0.0005  # degrees of latitude (about 55 m); longitude cells scaled below


@dataclass(slots=True)
class _Row:
    id: int
    worker: int
    provider: int
    person: int
    check_in: datetime
    check_out: datetime | None
    lat: float | None
    lng: float | None
    home_lat: float | None
    home_lng: float | None

    @property
    def place(self) -> tuple[float, float] | None:
        if self.home_lat is not None and self.home_lng is not None:
            return self.home_lat, self.home_lng
        if self.lat is not None and self.lng is not None:
            return self.lat, self.lng
        return None

    @property
    def away(self) -> bool:
        """Scanned somewhere that is not shown to be the elder's home."""
        if self.lat is None or self.lng is None:
            return False
        if self.home_lat is None or self.home_lng is None:
            return True
        return distance_m(self.lat, self.lng, self.home_lat, self.home_lng) > AWAY_M


def _rows(month: str, provider_id: int | None) -> list[_Row]:
    start, end = Month.parse(month).bounds_utc()
    stmt = (
        sa.select(
            Visit.id,
            Visit.worker_id,
            Visit.provider_id,
            Enrolment.person_id,
            Visit.check_in_at,
            Visit.check_out_at,
            Visit.lat,
            Visit.lng,
            Person.home_lat,
            Person.home_lng,
        )
        .join(Enrolment, Enrolment.id == Visit.enrolment_id)
        .join(Person, Person.id == Enrolment.person_id)
        # the day before too: the month's first visit has a predecessor
        .where(Visit.check_in_at >= start - timedelta(days=1), Visit.check_in_at < end)
        .order_by(Visit.worker_id, Visit.check_in_at, Visit.id)
    )
    if provider_id is not None:
        stmt = stmt.where(Visit.provider_id == provider_id)
    return [_Row(*r) for r in db.session.execute(stmt)]  # type: ignore[call-arg]  # a dataclass


def _impossible(rows: list[_Row], start: datetime) -> set[int]:
    """Visits (from `start`) whose worker's previous visit is too far for the time between."""
    found = set()
    for prev, cur in pairwise(rows):
        if prev.worker != cur.worker or cur.check_in < start:
            continue
        gap = (cur.check_in - (prev.check_out or prev.check_in)).total_seconds()
        a, b = prev.place, cur.place
        if gap < 0 or a is None or b is None:
            continue  # overlapping visits are worker_overlap's; no place, no judgement
        if distance_m(*a, *b) > SLACK_M + SPEED_KMH * 1000 * gap / 3600:
            found.add(cur.id)
    return found


def _same_place(rows: list[_Row], start: datetime) -> set[int]:
    """Away-from-home check-ins with two or more other elders' within SPOT_M, per
    provider and local day."""
    groups: dict[tuple[int, date], list[_Row]] = defaultdict(list)
    for r in rows:
        if r.check_in >= start and r.away:
            groups[(r.provider, to_local(r.check_in).date())].append(r)
    found: set[int] = set()
    for group in groups.values():
        if len({r.person for r in group}) < SPOT_ELDERS:
            continue
        cells: dict[tuple[int, int], list[_Row]] = defaultdict(list)
        for r in group:
            cells[_cell(r)].append(r)
        for r in group:
            cx, cy = _cell(r)
            near = {
                o.person
                for dx in (-1, 0, 1)
                for dy in (-1, 0, 1)
                for o in cells.get((cx + dx, cy + dy), ())
                # away: located
                if distance_m(r.lat, r.lng, o.lat, o.lng) <= SPOT_M  # type: ignore[arg-type]
            }
            if len(near) >= SPOT_ELDERS:
                found.add(r.id)
    return found


def _cell(r: _Row) -> tuple[int, int]:
    # longitude cells are as wide as latitude ones up to about 60° north (cos 60° = 0.5)
    return int(r.lat // _CELL), int(r.lng // (2 * _CELL))  # type: ignore[operator]  # away: located


def find(month: str, provider_id: int | None = None) -> dict[str, set[int]]:
    """The visits of `month` (local, YYYY-MM) that show each pattern, {code: {visit ids}};
    only `provider_id`'s if given. Reads only."""
    start, _end = Month.parse(month).bounds_utc()
    rows = _rows(month, provider_id)
    return {"impossible_travel": _impossible(rows, start), "same_place": _same_place(rows, start)}


def _append(code: str):
    """The exceptions list with `code` appended, in SQL (no read-modify-write: a scan
    flagging the same visit at the same moment keeps its code)."""
    current = sa.func.coalesce(
        sa.func.nullif(sa.cast(Visit.exceptions, sa.String), "null"), "[]"
    )  # a JSON null (no list yet) becomes the empty list
    if db.engine.dialect.name == "sqlite":
        return sa.func.json_insert(current, "$[#]", code)
    jsonb = sa.dialects.postgresql.JSONB
    return sa.cast(sa.cast(current, jsonb).op("||")(sa.func.to_jsonb(sa.literal(code))), sa.JSON)


def flag_month(month: str, provider_id: int | None = None) -> dict[str, int]:
    """Find the month's patterns and add each code to the visits that show it and lack
    it; a visit no longer open becomes `flagged` (as Visit.flag does). Idempotent: a
    re-run changes nothing. Audited: one entry per code with the visits changed.
    Returns {code: visits newly flagged}. Flushes, never commits."""
    db.session.flush()  # the visits are expired below: nothing of theirs may be pending
    found = find(month, provider_id)
    done = {}
    for code, ids in found.items():
        changed: list[int] = []
        ordered = sorted(ids)
        for i in range(0, len(ordered), CHUNK):
            changed.extend(
                db.session.scalars(
                    sa.update(Visit)
                    .where(
                        Visit.id.in_(ordered[i : i + CHUNK]),
                        sa.not_(
                            sa.func.coalesce(sa.cast(Visit.exceptions, sa.String), "").contains(
                                f'"{code}"'
                            )
                        ),
                    )
                    .values(
                        exceptions=_append(code),
                        status=sa.case(
                            (Visit.status == VisitStatus.OPEN, Visit.status),
                            else_=VisitStatus.FLAGGED,
                        ),
                    )
                    .returning(Visit.id)
                    .execution_options(synchronize_session=False)
                )
            )
        if changed:
            audit.record(
                "visit_pattern",
                "visits",
                None,
                {"code": code, "month": month, "visits": sorted(changed)},
            )
        done[code] = len(changed)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Visit):  # visits loaded before see their new codes
            db.session.expire(obj)
    return done


def run_job(period: str) -> dict:
    """The scheduled job (period: a local day): the patterns of that day's month so far."""
    return flag_month(period[:7])


def yesterday(now: datetime) -> str:
    return (now.date() - timedelta(days=1)).isoformat()


# --- figures ------------------------------------------------------------------------------


def share(n: int, d: int) -> str | None:
    if not d:
        return None
    return str((Decimal(n) / d).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def _code_filter(code: str):
    return sa.cast(Visit.exceptions, sa.String).contains(f'"{code}"')


def figures(month: str) -> dict:
    """Per worker and per provider of `month`: visits, and each code's count and share,
    the highest first (visits with any pattern, then the strongest patterns). One
    grouped query, and one for the providers without visits."""
    providers: dict[int, dict] = {
        pid: {
            "provider_id": pid,
            "provider": name,
            "visits": 0,
            "flagged": 0,
            "counts": dict.fromkeys(CODES, 0),
        }
        for pid, name in db.session.execute(sa.select(Provider.id, Provider.name))
    }
    workers = []
    for wid, display, username, pid, _pname, n, flagged, *counts in _per_worker(month):
        workers.append(
            {
                "worker_id": wid,
                "worker": display or username,
                "provider_id": pid,
                "provider": providers[pid]["provider"],
                "visits": n,
                "flagged": flagged,
                "counts": dict(zip(CODES, counts, strict=True)),
            }
        )
        p = providers[pid]
        p["visits"] += n
        p["flagged"] += flagged
        for c, k in zip(CODES, counts, strict=True):
            p["counts"][c] += k
    return {
        "month": month,
        "codes": list(CODES),
        "workers": _ranked(workers),
        "providers": _ranked(providers.values()),
    }


def _per_worker(month: str) -> list:
    """(worker id, display name, username, provider id, provider, visits, visits with any
    code, then each code's count) per worker with visits in `month`."""
    start, end = Month.parse(month).bounds_utc()
    any_code = sa.or_(*(_code_filter(c) for c in CODES))
    return list(
        db.session.execute(
            sa.select(
                Visit.worker_id,
                User.display_name,
                User.username,
                Visit.provider_id,
                Provider.name,
                sa.func.count(Visit.id),
                sa.func.count(Visit.id).filter(any_code),
                *(sa.func.count(Visit.id).filter(_code_filter(c)) for c in CODES),
            )
            .join(User, User.id == Visit.worker_id)
            .join(Provider, Provider.id == Visit.provider_id)
            .where(Visit.check_in_at >= start, Visit.check_in_at < end)
            .group_by(
                Visit.worker_id, User.display_name, User.username, Visit.provider_id, Provider.name
            )
        ).all()
    )


def _ranked(items) -> list[dict]:
    """The most flagged first, then by the strongest patterns, the most visits."""
    return sorted(
        items,
        key=lambda r: (
            -r["flagged"],
            *(-r["counts"][c] for c in CODES),
            -r["visits"],
            r.get("worker_id") or 0,
            r["provider_id"],
        ),
    )


def as_json(figs: dict) -> dict:
    """The figures as the API answers them: each code {"count", "share"}, shares as
    strings with three decimals (null without visits)."""

    def row(r: dict) -> dict:
        out = {k: v for k, v in r.items() if k not in ("counts", "flagged")}
        for c in CODES:
            out[c] = {"count": r["counts"][c], "share": share(r["counts"][c], r["visits"])}
        return out

    return {
        "month": figs["month"],
        "workers": [row(r) for r in figs["workers"]],
        "providers": [row(r) for r in figs["providers"]],
    }


def demo_step(ctx) -> None:
    """Demo step 43: the year's months so far looked through, as the nightly job would
    have done (the claims step then reconciles over them)."""
    found: defaultdict[str, int] = defaultdict(int)
    for m in range(1, ctx.today.month + 1):
        for code, n in flag_month(Month(ctx.today.year, m).text).items():
            found[code] += n
    ctx.echo("    patterns: " + ", ".join(f"{c} {n}" for c, n in found.items()))
