"""Demo of the day-care centres (issue 17.6): a manager for each of the 20 centres and a
year of attendance behind today.

Each centre has a stable group of regulars from its own township (people of the
home-care roll: no new people, so PRODUCT.md's figures stay), each coming on most
weekdays at a habit of their own; a few join during the year and a few stop. Today's
register is under way (arrivals, nobody gone home yet). Bulk inserts only.

Managers are `dc_<township in pinyin>` (dc_weicheng for 魏城镇's centre), listed in the
demo's logins with their centre.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from eldercare.bulk import insert_returning_ids, insert_rows
from eldercare.extensions import db
from eldercare.models import Person, PersonStatus, User

from .demo_history import at
from .models import Attendance

YEAR = 365


def build(ctx, centres: list[tuple[int, Any]], password_hash: str, pinyin: dict[str, str]) -> None:
    """`centres`: (facility id, regions_data.Township) of each day-care centre."""
    managers = _managers(ctx, centres, password_hash, pinyin)
    pool = _pool(ctx)
    rows = []
    for fid, town in centres:
        rows += _year_of(ctx, fid, pool[town.code], managers[fid])
    insert_rows(Attendance, rows)
    if centres:
        ctx.notes.append(
            f"day care: {len(centres)} centres, each with its manager "
            f"dc_<township in pinyin> (e.g. dc_{pinyin.get(centres[0][1].stem)}), "
            f"{len(rows):,} attendance days in the year"
        )


def _managers(ctx, centres, password_hash: str, pinyin: dict[str, str]) -> dict[int, int]:
    accounts = [
        (f"dc_{pinyin.get(t.stem, t.code)}", fid, f"{t.name}老年人日间照料中心 负责人")
        for fid, t in centres
    ]
    ids = insert_returning_ids(
        User,
        [
            {
                "username": u,
                "display_name": name,
                "password_hash": password_hash,
                "role": "manager",
                "facility_id": fid,
                "active": True,
                "session_version": 1,
                "failed_logins": 0,
            }
            for u, fid, name in accounts
        ],
    )
    for u, _fid, name in accounts:
        ctx.accounts.append((u, "manager", name.split(" ")[0]))
    return {fid: uid for (_u, fid, _n), uid in zip(accounts, ids, strict=True)}


def _pool(ctx) -> dict[str | None, list[int]]:
    """Elders of the home-care roll who are alive and here, by township (the first few
    hundred are left to other steps that end enrolments)."""
    pool: dict[str | None, list[int]] = defaultdict(list)
    ids = ctx.homecare_ids[ctx.n(300) : ctx.n(4300)]
    if not ids:
        return pool
    for pid, code in db.session.execute(
        sa.select(Person.id, Person.township_code)
        .where(
            Person.id.between(min(ids), max(ids)),
            Person.status == PersonStatus.ACTIVE,
            Person.death_date.is_(None),
            Person.moved_date.is_(None),
        )
        .order_by(Person.id)
    ):
        pool[code].append(pid)
    return pool


def _year_of(ctx, fid: int, pool: list[int], manager_id: int) -> list[dict]:
    """A year of weekdays at one centre: each regular comes with a habit of their own,
    from the day they joined to the day they stopped (most: the whole year)."""
    rng, today = ctx.rng, ctx.today
    size = min(len(pool), ctx.n(rng.randrange(14, 27)))
    regulars = []
    for pid in rng.sample(pool, size):
        joined = (
            today - timedelta(days=YEAR)
            if rng.random() < 0.8
            else today - timedelta(days=rng.randrange(20, YEAR))
        )
        stopped = (
            today + timedelta(days=1)
            if rng.random() < 0.9
            else today - timedelta(days=rng.randrange(10, 200))
        )
        regulars.append((pid, rng.uniform(0.5, 0.95), joined, stopped))
    rows = []
    for back in range(YEAR, -1, -1):
        day = today - timedelta(days=back)
        if day.weekday() >= 5 or _closed(day):
            continue
        for pid, habit, joined, stopped in regulars:
            if not (joined <= day < stopped) or rng.random() > habit:
                continue
            arrived = at(day, 8) + timedelta(minutes=rng.randrange(20, 100))
            left = None if back == 0 else at(day, 16, rng.randrange(0, 59))
            rows.append(
                {
                    "person_id": pid,
                    "facility_id": fid,
                    "day": day,
                    "arrived_at": arrived,
                    "left_at": left,
                    "recorded_by": manager_id,
                }
            )
    return rows


def _closed(day: date) -> bool:
    """The centres close for the first days of October and of May (national holidays)."""
    return (day.month, day.day) in {(10, 1), (10, 2), (10, 3), (5, 1), (5, 2), (1, 1)}
