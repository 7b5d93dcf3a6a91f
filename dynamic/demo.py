"""Demo step 60: last month's death list (accepted: deaths recorded weeks late, for the
timeliness figures), this month's death list from the police waiting for the clerk (one
row whose name differs from the registry's, one number nobody here has, a 15-digit and a
lower-case-x number), and an income list from human resources. Reviews overdue come from
the core's people step (some review dates fall before today)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import sqlalchemy as sa

from eldercare.bulk import insert_rows
from eldercare.extensions import db
from eldercare.idnumbers import make_number
from eldercare.models import Person, PersonStatus, WubaoSupport

from . import services

LAGS = [6, 9, 12, 18, 23, 27, 35, 41, 48, 56, 63, 74]  # days between a death and the list


def _csv(header: list[str], rows: list[list]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _short(number: str) -> str:
    """The first-generation 15-digit form, as old police registers still hold it."""
    return number[:6] + number[8:17]


def _extra_people(ctx, count: int) -> list[Person]:
    """特困 persons beyond the district's 1,670 whose deaths last month's list brought in
    (so the figures of PRODUCT.md still hold once they are recorded)."""
    rows = []
    for _ in range(count):
        sex = "M" if ctx.rng.random() < 0.62 else "F"
        rows.append(
            {
                "name": ctx.name(sex),
                "birth_date": ctx.birth(78, 95),
                "sex": sex,
                "care_level": "full",
            }
        )
    ids = ctx.add_people(rows)
    since = ctx.today - timedelta(days=2000)
    insert_rows(
        WubaoSupport,
        [
            {
                "person_id": pid,
                "category": "elderly",
                "support": "centralized",
                "start_date": since,
                "end_date": None,
                "end_reason": "",
                "applied_centralized_on": None,
                "review_due": date(ctx.today.year + 1, since.month, min(since.day, 28)),
            }
            for pid in ids
        ],
    )
    ctx.add_categories([(pid, "tekun") for pid in ids])
    return list(db.session.scalars(sa.select(Person).where(Person.id.in_(ids))))


def build(ctx) -> None:
    rng = ctx.rng
    # Last month's list from the health bureau: deaths weeks old, all accepted since.
    earlier = _extra_people(ctx, 5)
    rows = [
        [p.id_number, p.name, (ctx.today - timedelta(days=lag)).isoformat()]
        for p, lag in zip(earlier, (21, 34, 47, 58, 73), strict=True)
    ]
    first = services.upload_comparison(
        "death",
        _csv(["id_number", "name", "date"], rows),
        filename="上月死亡人员名单（卫健）.csv",
        source="区卫健局",
    )
    for proposal in list(first.proposals):
        services.accept(proposal)
    db.session.flush()

    # This month's list from the police: waiting for the clerk.
    pool = (
        ctx.wubao.get("centralized", [])[: ctx.n(200)]
        + ctx.wubao.get("dispersed", [])[: ctx.n(60)]
        + ctx.homecare_ids[: ctx.n(60)]
    )
    chosen = rng.sample(pool, min(len(pool), 11))
    people = {p.id: p for p in db.session.scalars(sa.select(Person).where(Person.id.in_(chosen)))}
    rows = []
    for i, pid in enumerate(chosen[:10]):
        p = people[pid]
        if p.status != PersonStatus.ACTIVE:
            continue
        died = ctx.today - timedelta(days=rng.choice(LAGS))
        died = max(died, p.birth_date + timedelta(days=1))
        number = p.id_number
        if i == 1 and p.birth_date.year < 2000:
            number = _short(number)  # a 15-digit number
        elif i == 2:
            number = number.lower()
        rows.append([number, p.name, died.isoformat()])
    # one row whose name differs from the registry's (a typo at the police station)
    odd = people[chosen[10]]
    rows.append(
        [
            odd.id_number,
            odd.name[0] + ("德" if odd.name[-1] != "德" else "福"),
            (ctx.today - timedelta(days=15)).isoformat(),
        ]
    )
    # one number nobody here has: someone from another district
    stranger = make_number("510703", date(1941, 5, 17), 373)
    rows.append([stranger, "外区人员", (ctx.today - timedelta(days=20)).isoformat()])
    comp = services.upload_comparison(
        "death",
        _csv(["id_number", "name", "date"], rows),
        filename=f"{ctx.today:%Y年%m月}死亡人员名单（公安）.csv",
        source="区公安分局",
    )

    # an income list: pensions of some 特困 persons, two of them above the line
    line = services.income_line()
    dispersed = ctx.wubao.get("dispersed", [])[ctx.n(60) : ctx.n(60) + 6]
    persons = db.session.scalars(sa.select(Person).where(Person.id.in_(dispersed))).all()
    income_rows = []
    for i, p in enumerate(persons):
        amount = line + 480 if i < 2 else line - 350
        income_rows.append(
            [p.id_number, p.name, ctx.today.replace(day=1).isoformat(), f"{amount:.2f}"]
        )
    if income_rows:
        services.upload_comparison(
            "income",
            _csv(["id_number", "name", "date", "monthly_amount"], income_rows),
            filename=f"{ctx.today:%Y年%m月}养老金发放名单（人社）.csv",
            source="区人社局",
        )
    ctx.notes.append(
        f"dynamic: last month's death list accepted ({first.rows} rows); this "
        f"month's #{comp.id} waits ({comp.proposal_count} proposals, "
        f"{comp.unmatched} unknown ID, {comp.ambiguous} ambiguous)"
    )
