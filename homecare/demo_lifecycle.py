"""The demo's enrolment lifecycle (step 44, issue 17.4 and 17.8): a few elders withdraw
today (their balance kept, frozen), as many are enrolled in their places with paperwork
that came late (`enrolled_on` weeks back), so that the district still counts 11,000
enrolled (× scale); a few change provider today, their balance moved; and the day's
alerts are written, balances nearly used among them (the `alerts` job runs again on
its schedule, with every feature's data)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.jobs import run_alerts
from eldercare.models import Person, Role, User

from . import lifecycle, services
from .models import Enrolment, Visit, VisitStatus

WITHDRAWALS = 3
TRANSFERS = 4
REASONS = ("入住养老机构", "随子女迁居外地", "本人申请退出，改由家人照料")


def step(ctx) -> None:
    st = ctx.homecare
    today = ctx.today
    clerk = db.session.scalars(sa.select(User).where(User.role == Role.ADMIN).limit(1)).one()
    busy = set(
        db.session.scalars(sa.select(Visit.enrolment_id).where(Visit.status == VisitStatus.OPEN))
    )
    pool = [eid for eid, _pid, _prov in st.enrolments if eid not in busy]
    chosen = ctx.rng.sample(pool, ctx.n(WITHDRAWALS) + ctx.n(TRANSFERS))
    leaving, moving = chosen[: ctx.n(WITHDRAWALS)], chosen[ctx.n(WITHDRAWALS) :]
    for i, eid in enumerate(leaving):
        lifecycle.withdraw(
            clerk, db.session.get_one(Enrolment, eid), today, REASONS[i % len(REASONS)]
        )
    moved = []
    for eid in moving:
        e = db.session.get_one(Enrolment, eid)
        to = next(p for p in st.providers[1:] + st.providers[:1] if p != e.provider_id)
        new = lifecycle.transfer(clerk, e, services.get_provider(to), today)
        moved.append(new.id)
    late = _late_enrolments(ctx, ctx.n(WITHDRAWALS))
    db.session.flush()
    made = run_alerts(today.isoformat())["alerts"]
    ctx.echo(
        f"    {len(leaving)} withdrawn, {len(moved)} changed provider, {len(late)} "
        f"enrolled late (from {late[0].enrolled_on if late else '-'}), {made} alerts"
    )


def _late_enrolments(ctx, count: int) -> list[Enrolment]:
    """New elders enrolled in the withdrawn elders' places, their paperwork typed in today
    for a service that began weeks ago (or on 1 January, early in the year)."""
    st = ctx.homecare
    start = max(ctx.today - timedelta(days=42), ctx.today.replace(month=1, day=1))
    sexes = [ctx.rng.choice("MF") for _ in range(count)]
    ids = ctx.add_people(
        [{"name": ctx.name(s), "birth_date": ctx.birth(62, 92), "sex": s} for s in sexes]
    )
    out = []
    for pid in ids:
        person = db.session.get_one(Person, pid)
        provider = st.by_township.get(person.township_code, st.providers[0])
        out.append(
            services.enrol(
                person,
                services.get_provider(provider),
                st.year,
                lifecycle.enrolled_on(st.year, start, ctx.today),
            )
        )
    return out
