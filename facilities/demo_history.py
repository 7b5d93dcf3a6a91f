"""The facilities demo's year behind today: an open stay for every resident, and before
them transfers (within and between homes), deaths and moves, leaves, beds under repair
and beds held for applicants, none of them overlapping in a bed (demo.py builds the
facilities and beds first)."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from eldercare.bulk import insert_returning_ids, insert_rows
from eldercare.database import table_of
from eldercare.extensions import db
from eldercare.models import Person, WubaoSupport
from eldercare.timeutil import LOCAL

from .models import Bed, BedOutage, Leave, Stay, TransferRequest


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL)


class VacantBeds:
    """The care-home beds nobody holds today, by (facility, sex), each handed out once to
    carry history of its own (a past stay, an outage, a reservation)."""

    def __init__(self, rng: random.Random, bed_plan, occupant, care_beds: int):
        self.rng = rng
        self.used = set(occupant)  # bed indexes that carry history already
        vacant = [i for i in range(care_beds) if i not in occupant]
        rng.shuffle(vacant)
        self.by_key: dict[tuple, list[int]] = defaultdict(list)  # (facility, sex) -> indexes
        for i in vacant:
            self.by_key[(bed_plan[i][0], bed_plan[i][3])].append(i)

    def take(self, fid: int, sex: str, other_home: bool = False) -> int | None:
        keys = [
            k for k in self.by_key if k[1] == sex and (k[0] != fid if other_home else k[0] == fid)
        ]
        self.rng.shuffle(keys)
        for k in keys:
            while self.by_key[k]:
                i = self.by_key[k].pop()
                if i not in self.used:
                    self.used.add(i)
                    return i
        return None


@dataclass
class Current:
    """Today's open stays (rows and ids, in the same order) and when each began."""

    stays: list[dict]
    ids: list[int]
    start_of: dict[int, date]  # bed index -> start of its open stay
    moved_in: dict[int, tuple]  # bed index -> (previous bed index, date, between homes)


def history(ctx, bed_plan, bed_ids, occupant, care_beds, homes) -> None:
    """Open stays for every resident, and a year of what came before them."""
    vacant = VacantBeds(ctx.rng, bed_plan, occupant, care_beds)
    current = _open_stays(ctx, bed_plan, bed_ids, occupant, vacant)
    _exits(ctx, bed_plan, bed_ids, care_beds, homes, vacant, current)
    _leaves(ctx, current)
    _outages_and_reservations(ctx, bed_plan, bed_ids, care_beds, vacant)


def _open_stays(ctx, bed_plan, bed_ids, occupant, vacant: VacantBeds) -> Current:
    """Every resident's open stay; some came by a transfer during the year, from a bed
    of the same home or (with the bureau's approval) of another."""
    rng, today = ctx.rng, ctx.today
    year_ago = today - timedelta(days=365)
    stays, previous = [], []  # previous: past stays of residents who were transferred
    transfers = []  # (resident stay index, previous stay index, between homes)
    start_of = {}
    residents = sorted(occupant.items())
    long_stayers = [(i, r) for i, r in residents if r.start_date < year_ago - timedelta(days=35)]
    rng.shuffle(long_stayers)
    moved_in = {}
    for n, (i, _r) in enumerate(long_stayers[: ctx.n(34)]):
        between = n < ctx.n(6)
        j = vacant.take(bed_plan[i][0], bed_plan[i][3], other_home=between)
        if j is None:
            continue
        t = today - timedelta(days=rng.randrange(20, 340))
        moved_in[i] = (j, t, between)
    for i, r in residents:
        start = moved_in[i][1] if i in moved_in else r.start_date
        start_of[i] = start
        stays.append(
            {
                "person_id": r.id,
                "bed_id": bed_ids[i],
                "facility_id": bed_plan[i][0],
                "start_date": start,
                "end_date": None,
                "end_reason": None,
            }
        )
        if i in moved_in:
            j, t, between = moved_in[i]
            previous.append(
                {
                    "person_id": r.id,
                    "bed_id": bed_ids[j],
                    "facility_id": bed_plan[j][0],
                    "start_date": r.start_date,
                    "end_date": t,
                    "end_reason": "transferred",
                }
            )
            transfers.append((len(stays) - 1, len(previous) - 1, between))
    prev_ids = insert_returning_ids(Stay, previous)
    for s_i, p_i, _b in transfers:
        stays[s_i]["previous_stay_id"] = prev_ids[p_i]
    for s in stays:
        s.setdefault("previous_stay_id", None)
    stay_ids = insert_returning_ids(Stay, stays)
    insert_rows(
        TransferRequest,
        [
            {
                "stay_id": prev_ids[p_i],
                "to_bed_id": stays[s_i]["bed_id"],
                "on_date": stays[s_i]["start_date"],
                "reason": "离家人近",
                "status": "approved",
                "requested_at": at(stays[s_i]["start_date"] - timedelta(days=10), 9),
                "decided_at": at(stays[s_i]["start_date"] - timedelta(days=5), 15),
                "decision_note": "同意",
                "new_stay_id": stay_ids[s_i],
            }
            for s_i, p_i, between in transfers
            if between
        ],
    )
    return Current(stays, stay_ids, start_of, moved_in)


def _exits(ctx, bed_plan, bed_ids, care_beds, homes, vacant: VacantBeds, current: Current) -> None:
    """Deaths and moves during the year: in the bed a recent admission took over, or in a
    bed now vacant; the persons, their past stays and their ended 特困 support."""
    rng, today = ctx.rng, ctx.today
    year_ago = today - timedelta(days=365)
    ended = []  # (bed index, end date, reason)
    recent = [
        i
        for i in sorted(current.start_of)
        if current.start_of[i] > year_ago + timedelta(days=45) and i not in current.moved_in
    ]
    rng.shuffle(recent)
    deaths, moves = ctx.n(92), ctx.n(8)
    for i in recent[: int(deaths * 0.6)]:
        ended.append((i, current.start_of[i] - timedelta(days=rng.randrange(2, 40)), "deceased"))
    attempts = 0
    while len(ended) < deaths + moves and attempts < 10 * (deaths + moves):
        attempts += 1
        fid, _ri, _c, sex = bed_plan[rng.randrange(care_beds)]
        j = vacant.take(fid, sex)
        if j is None:
            continue
        reason = "deceased" if len(ended) < deaths else "moved"
        ended.append((j, today - timedelta(days=rng.randrange(3, 360)), reason))
    gone = []
    for j, d, reason in ended:
        sex = bed_plan[j][3]
        township = next(t.code for fid, t in homes if fid == bed_plan[j][0])
        gone.append(
            {
                "name": ctx.name(sex),
                "birth_date": ctx.birth(68, 99),
                "sex": sex,
                "township_code": township,
                "village_code": rng.choice(ctx.villages[township])
                if township in ctx.villages
                else None,
                "care_level": rng.choice(("full", "full", "partial", "self")),
                "status": "deceased" if reason == "deceased" else "moved",
                "death_date": d if reason == "deceased" else None,
            }
        )
    gone_ids = ctx.add_people(gone)
    moved_rows = [
        {"b_id": pid, "b_md": d}
        for pid, (_j, d, reason) in zip(gone_ids, ended, strict=True)
        if reason == "moved"
    ]
    if moved_rows:
        table = table_of(Person)
        db.session.execute(
            table.update()
            .where(table.c.id == sa.bindparam("b_id"))
            .values(moved_date=sa.bindparam("b_md")),
            moved_rows,
        )
    past, supports = [], []
    for pid, (j, d, reason) in zip(gone_ids, ended, strict=True):
        start = d - timedelta(days=rng.randrange(150, 2500))
        past.append(
            {
                "person_id": pid,
                "bed_id": bed_ids[j],
                "facility_id": bed_plan[j][0],
                "start_date": start,
                "end_date": d,
                "end_reason": reason,
                "previous_stay_id": None,
            }
        )
        supports.append(
            {
                "person_id": pid,
                "category": "elderly",
                "support": "centralized",
                "start_date": start,
                "end_date": d,
                "end_reason": "death" if reason == "deceased" else "moved",
                "applied_centralized_on": None,
                "review_due": None,
            }
        )
    insert_returning_ids(Stay, past)
    insert_rows(WubaoSupport, supports)
    ctx.add_categories([(pid, "tekun") for pid in gone_ids])


def _leaves(ctx, current: Current) -> None:
    """A year of leaves behind, and some residents away today (a few overdue)."""
    rng, today = ctx.rng, ctx.today
    year_ago = today - timedelta(days=365)
    stays, stay_ids = current.stays, current.ids
    leaves = []
    order = list(range(len(stays)))
    rng.shuffle(order)
    away = order[: ctx.n(26)]
    for k in away:
        start = max(stays[k]["start_date"], today - timedelta(days=rng.randrange(1, 25)))
        expected = start + timedelta(days=rng.randrange(3, 30))
        leaves.append(
            {
                "stay_id": stay_ids[k],
                "kind": rng.choice(("hospital", "hospital", "home_visit")),
                "start_date": start,
                "expected_return": expected,
                "returned_on": None,
                "note": "",
            }
        )
    for k in order[ctx.n(26) : ctx.n(26) + ctx.n(260)]:
        lo = max(stays[k]["start_date"], year_ago)
        span = (today - timedelta(days=30) - lo).days
        if span < 5:
            continue
        start = lo + timedelta(days=rng.randrange(span))
        length = rng.randrange(2, 21)
        leaves.append(
            {
                "stay_id": stay_ids[k],
                "kind": rng.choice(("hospital", "home_visit", "other")),
                "start_date": start,
                "expected_return": start + timedelta(days=length),
                "returned_on": start + timedelta(days=length + rng.choice((0, 0, 1, 3))),
                "note": "",
            }
        )
    insert_rows(Leave, leaves)


OUTAGE_REASONS = (
    "卫生间漏水维修",
    "床体损坏，待更换",
    "呼叫器故障维修",
    "房间墙面翻新",
    "消防整改",
)


def _outages_and_reservations(ctx, bed_plan, bed_ids, care_beds, vacant: VacantBeds) -> None:
    """A few beds under repair, a few held for applicants on the waiting list."""
    rng, today = ctx.rng, ctx.today
    outages = []
    for _ in range(ctx.n(8)):
        fid, _ri, _c, sex = bed_plan[rng.randrange(care_beds)]
        j = vacant.take(fid, sex)
        if j is not None:
            outages.append((j, today - timedelta(days=rng.randrange(3, 90))))
    if outages:
        # each with its reason, as the board shows it (issue 17.2); picked in turn, not
        # drawn, so that the demo's other figures stay as they were
        why = [OUTAGE_REASONS[i % len(OUTAGE_REASONS)] for i in range(len(outages))]
        insert_rows(
            BedOutage,
            [
                {"bed_id": bed_ids[j], "start_date": d, "end_date": None, "reason": r}
                for (j, d), r in zip(outages, why, strict=True)
            ],
        )
        for (j, _d), r in zip(outages, why, strict=True):
            db.session.execute(
                sa.update(Bed)
                .where(Bed.id == bed_ids[j])
                .values(out_of_service=True, out_of_service_reason=r)
                .execution_options(synchronize_session=False)
            )
    for pid in ctx.waiting_ids[: ctx.n(3)]:
        sex = db.session.scalars(sa.select(Person.sex).where(Person.id == pid)).one()
        fid = bed_plan[rng.randrange(care_beds)][0]
        j = vacant.take(fid, sex.value)
        if j is not None:
            db.session.execute(
                sa.update(Bed)
                .where(Bed.id == bed_ids[j])
                .values(reserved_for_id=pid)
                .execution_options(synchronize_session=False)
            )
