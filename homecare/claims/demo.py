"""Demo step 50: a claim for every provider and past month of the year that has visits,
in every status (the last month submitted, the one before reconciled, the one before that
approved, the older ones paid), with the mistakes real claim files carry planted in
their lines — amounts typed wrong, lines pasted twice, a neighbour's ID number, hours
rounded up, a date in the next month, lines for visits that were never logged. Visits
flagged at scan time (overlaps, deceased elders, no check-out) bring their own, and those
without proof of presence hold their lines: the clerk resolved them in the approved and
paid claims (DEMO_RESOLUTIONS); the reconciled claim still waits for it.

Set-wise like the rest: each claim is one INSERT ... SELECT, each kind of mistake one
UPDATE or INSERT ... SELECT, each reconciliation one UPDATE ... FROM.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from eldercare.database import stored, table_of
from eldercare.extensions import db
from eldercare.models import Role, User
from eldercare.timeutil import Month

from .. import services as hs
from ..models import Provider, Service, Unit, Visit
from . import callbacks, presence, services
from .models import CallbackOutcome, CallbackSample, Claim, ClaimLine, ClaimStatus


def _users() -> tuple[User | None, dict[int, User]]:
    clerk = db.session.scalar(
        sa.select(User).where(User.username == "clerk1")
    ) or db.session.scalar(sa.select(User).where(User.role == Role.ADMIN).limit(1))
    bosses: dict[int, User] = {}
    for u in db.session.scalars(
        sa.select(User).where(User.role == Role.PROVIDER).order_by(User.id)
    ):
        if u.provider_id is not None:
            bosses.setdefault(u.provider_id, u)
    return clerk, bosses


def _plant(claim: Claim, year: int, next_month_first: date) -> None:
    """The usual mistakes of a hand-made claim file, each in a few lines (by line number,
    so the same seed gives the same claim)."""
    cid = claim.id
    lines = table_of(ClaimLine)
    mine = lines.c.claim_id == cid
    # amounts typed wrong: five yuan too much
    db.session.execute(
        lines.update()
        .where(mine, lines.c.line_no % 89 == 3)
        .values(amount=stored(lines.c.amount) + 500)
    )
    # hours rounded up by two on hourly services, the amount following the price
    hourly = (
        sa.select(Service.code)
        .where(Service.year == hs.price_year(year), Service.unit == Unit.HOUR)
        .scalar_subquery()
    )
    price = (
        sa.select(stored(Service.price))
        .where(Service.year == hs.price_year(year), Service.code == lines.c.service_code)
        .scalar_subquery()
    )
    db.session.execute(
        lines.update()
        .where(mine, lines.c.line_no % 131 == 7, lines.c.service_code.in_(hourly))
        .values(quantity=stored(lines.c.quantity) + 200, amount=stored(lines.c.amount) + 2 * price)
    )
    # a neighbour's ID number (the next line's elder)
    l2 = lines.alias("l2")

    def neighbours(column: str):  # the encrypted number and its blind index, as stored
        return (
            sa.select(l2.c[column])
            .where(
                l2.c.claim_id == cid,
                l2.c.line_no == lines.c.line_no + 1,
                l2.c.visit_id != lines.c.visit_id,
            )
            .scalar_subquery()
        )

    db.session.execute(
        lines.update()
        .where(mine, lines.c.line_no % 211 == 11)
        .values(
            id_number=sa.func.coalesce(neighbours("id_number"), lines.c.id_number),
            id_number_hash=sa.func.coalesce(neighbours("id_number_hash"), lines.c.id_number_hash),
        )
    )
    # a date in the next month
    db.session.execute(
        lines.update()
        .where(mine, lines.c.line_no % 307 == 13)
        .values(service_date=next_month_first)
    )
    top = db.session.scalar(sa.select(sa.func.max(lines.c.line_no)).where(mine)) or 0
    top_visit = db.session.scalar(sa.select(sa.func.max(Visit.id))) or 0
    copied = [c for c in lines.c if c.name not in ("id", "line_no", "visit_id")]
    # lines pasted twice
    src = lines.alias("src")
    dup = sa.select(
        *[src.c[c.name] for c in copied if c.name != "claim_id"],
        sa.literal(cid),
        (src.c.line_no + top).label("line_no"),
        src.c.visit_id,
    ).where(src.c.claim_id == cid, src.c.line_no % 173 == 5)
    db.session.execute(
        lines.insert().from_select(
            [c.name for c in copied if c.name != "claim_id"] + ["claim_id", "line_no", "visit_id"],
            dup,
        )
    )
    # lines for visits that were never logged
    ghost = sa.select(
        *[src.c[c.name] for c in copied if c.name != "claim_id"],
        sa.literal(cid),
        (src.c.line_no + 2 * top).label("line_no"),
        (src.c.line_no + top_visit + 100_000).label("visit_id"),
    ).where(src.c.claim_id == cid, src.c.line_no % 397 == 17)
    db.session.execute(
        lines.insert().from_select(
            [c.name for c in copied if c.name != "claim_id"] + ["claim_id", "line_no", "visit_id"],
            ghost,
        )
    )
    services.finish_submission(claim)


def _callbacks(claim: Claim, clerk: User, rng) -> None:
    """Call-backs made for the older claims: most confirmed, some unreachable, the odd
    complaint, and now and then a visit nobody made (reversed in the ledger)."""
    pending = list(
        db.session.scalars(
            sa.select(CallbackSample.id)
            .where(CallbackSample.claim_id == claim.id, CallbackSample.outcome.is_(None))
            .order_by(CallbackSample.id)
        )
    )
    outcomes = {}
    for sid in pending:
        r = rng.random()
        outcomes[sid] = (
            CallbackOutcome.NOT_DELIVERED
            if r < 0.005
            else CallbackOutcome.COMPLAINT
            if r < 0.05
            else CallbackOutcome.UNREACHABLE
            if r < 0.15
            else CallbackOutcome.CONFIRMED
        )
    for sid, outcome in outcomes.items():
        if outcome == CallbackOutcome.NOT_DELIVERED:
            callbacks.record_outcome(
                db.session.get_one(CallbackSample, sid),
                outcome.value,
                "老人说当天没有人上门",
                clerk,
            )
    plain = [sid for sid, o in outcomes.items() if o != CallbackOutcome.NOT_DELIVERED]
    for outcome in (
        CallbackOutcome.CONFIRMED,
        CallbackOutcome.UNREACHABLE,
        CallbackOutcome.COMPLAINT,
    ):
        ids = [sid for sid in plain if outcomes[sid] == outcome]
        if ids:
            db.session.execute(
                sa.update(CallbackSample)
                .where(CallbackSample.id.in_(ids))
                .values(
                    outcome=outcome,
                    recorded_by_id=clerk.id,
                    recorded_at=claim.reconciled_at,
                    note="" if outcome == CallbackOutcome.CONFIRMED else "已致电家属",
                )
            )


#: How the demo's clerk resolved the held lines of the older claims (presence.py): a
#: card scanned away from home is not paid; a scan without place or sent late is paid on
#: the provider's proof, and a visit to an elder not yet placed as the visit it is.
DEMO_RESOLUTIONS = (
    ("reject", "office_scanning", "same_place"),
    ("reject", "no_proof", "impossible_travel"),
    ("reject", "office_scanning", "suspect_card"),
    ("reject", "no_proof", "far_from_home"),
    ("accept", "provider_proof", "future_time"),
    ("accept", "provider_proof", "late_upload"),
    ("accept", "provider_proof", "no_location"),
    ("accept", "home_point_pending", "no_home_point"),
)


def _resolve_held(claim: Claim, clerk: User) -> None:
    """The clerk's word on every held line, one resolution per exception."""
    for action, reason, exception in DEMO_RESOLUTIONS:
        presence.resolve(claim, clerk, action, reason, exception=exception)


def claims(ctx) -> None:
    """Claims for the past months of the demo year for each provider (step 50)."""
    clerk, bosses = _users()
    year = ctx.today.year
    months = list(range(1, ctx.today.month))
    made = 0
    for provider in db.session.scalars(sa.select(Provider).order_by(Provider.id)).all():
        for m in months:
            month = Month(year, m)
            if not db.session.scalar(
                sa.select(Visit.id)
                .where(
                    Visit.provider_id == provider.id,
                    Visit.check_in_at >= month.start_utc,
                    Visit.check_in_at < month.end_utc,
                )
                .limit(1)
            ):
                continue
            claim = services.generate(provider, month.text, bosses.get(provider.id))
            if claim.line_count == 0:  # every visit wholly self-paid: nothing to claim
                db.session.delete(claim)
                db.session.flush()
                continue
            made += 1
            _plant(claim, year, month.next().first)
            age = months[-1] - m  # 0: last month
            if age == 0 or clerk is None:
                continue
            services.reconcile(claim, clerk)
            if age >= 2:  # called back first: approval waits for the call-backs
                _callbacks(claim, clerk, ctx.rng)
                _resolve_held(claim, clerk)  # and for every held line's resolution
                services.approve(claim, clerk)
            if age >= 3:
                services.pay(claim, clerk)
    done = db.session.execute(
        sa.select(Claim.status, sa.func.count(Claim.id)).group_by(Claim.status)
    ).all()
    if made:
        ctx.notes.append(
            "claims: "
            + ", ".join(
                f"{ClaimStatus(s).value} {n}" for s, n in sorted(done, key=lambda r: r[0].value)
            )
        )
    else:
        ctx.notes.append("claims: no home-care visits in past months, so no claims")
