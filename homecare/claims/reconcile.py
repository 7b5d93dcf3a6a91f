"""Reconciliation's one statement (ENGINEERING.md, issue #5): an UPDATE ... FROM a stack
of sub-queries decides every line of a claim in the database, whatever the number of
lines. It only reads visits and ledgers and rewrites the machine's columns, so running
it again gives the same answer, and a clerk's override (kept in its own columns)
survives it. The stages, each a sub-query over the one before:

    _base      each line with its visit, elder, enrolment and price (b)
    _checks    each rejecting and adjusting reason as a 0/1 column (f)
    _payable   hours cut to the time on site, what each line may be paid (g)
    _answer    the reason bits, the decision and the amount approved (d)

services.reconcile runs it (decide) as one step of a claim's life.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import sqlalchemy as sa
import sqlalchemy.orm

from eldercare.database import UTCDateTime, stored
from eldercare.extensions import db
from eldercare.models import Person
from eldercare.timeutil import Month, hours_before, local_date, seconds_between

from ..flags import HOURS_TOLERANCE_MIN, OPEN_VISIT_WINDOW
from ..models import Enrolment, Service, Unit, Visit
from ..services import price_year
from . import presence
from .models import BIT, MONEY_REASONS, REJECTING, Claim, ClaimedVisit, ClaimLine, Decision

#: The scan rules reconciliation applies again, from where scans define them.
TOLERANCE_S = int(HOURS_TOLERANCE_MIN * 60)  # hours claimed may exceed the time on site
OPEN_HOURS = int(OPEN_VISIT_WINDOW.total_seconds() // 3600)  # the longest a visit stays open


def _flag(cond) -> sa.ColumnElement:
    return sa.case((cond, 1), else_=0)


P = SimpleNamespace(
    claim_id=sa.bindparam("p_claim_id", type_=sa.Integer),
    provider_id=sa.bindparam("p_provider_id", type_=sa.Integer),
    year=sa.bindparam("p_year", type_=sa.Integer),
    price_year=sa.bindparam("p_price_year", type_=sa.Integer),
    first=sa.bindparam("p_first", type_=sa.Date),
    last=sa.bindparam("p_last", type_=sa.Date),
    start=sa.bindparam("p_start", type_=UTCDateTime()),
    end=sa.bindparam("p_end", type_=UTCDateTime()),
)


def _params(claim: Claim, month: Month) -> dict:
    return {
        "p_claim_id": claim.id,
        "p_provider_id": claim.provider_id,
        "p_year": month.year,
        "p_price_year": price_year(month.year),
        "p_first": month.first,
        "p_last": month.last,
        "p_start": month.start_utc,
        "p_end": month.end_utc,
    }


def decide(claim: Claim) -> None:
    """Decide every line of `claim` (see _decisions): the machine's columns, and the
    effective decision and amount of each line without an override. Flushes nothing of
    the ORM's: the claim's totals are for the caller to store (decisions.store_totals)."""
    db.session.execute(
        _reconcile_statement(db.engine.dialect.name), _params(claim, Month.parse(claim.month))
    )


@functools.cache
def _reconcile_statement(dialect: str) -> sa.Update:
    """The one UPDATE that decides every line of a claim, built once per dialect (it is
    large: building it costs more than running it) with the claim's figures as bind
    parameters (_params)."""
    d = _decisions()
    kept = ClaimLine.override_decision.is_not(None)
    decision = sa.case((kept, ClaimLine.override_decision), else_=d.c.decision)
    approved = sa.case((kept, ClaimLine.override_amount), else_=d.c.approved)
    changed = sa.or_(
        ClaimLine.reason_bits.is_distinct_from(d.c.bits),
        ClaimLine.auto_decision.is_distinct_from(d.c.decision),
        ClaimLine.auto_amount.is_distinct_from(d.c.approved),
        ClaimLine.decision.is_distinct_from(decision),
        ClaimLine.approved_amount.is_distinct_from(approved),
    )
    # Only lines whose answer changed are written: a re-run writes nothing.
    return (
        sa.update(ClaimLine)
        .where(ClaimLine.id == d.c.id, changed)
        .values(
            reason_bits=d.c.bits,
            auto_decision=d.c.decision,
            auto_amount=d.c.approved,
            decision=decision,
            approved_amount=approved,
        )
        .execution_options(synchronize_session=False)
    )


def _decisions() -> sa.Subquery:
    """One row per line of `claim`: id, bits, decision, approved (fen). API.md's rules:

    rejecting — no_visit, duplicate_line (the later line of the same visit and service,
    or a line whose visit another claim holds: claimed.py),
    id_mismatch, outside_month, visit_incomplete, deceased (service after death),
    not_enrolled, worker_overlap (the worker's earlier visit still open at check-in);
    adjusting — amount_mismatch (to price × quantity), quantity_exceeds_time (hours to
    the time on site), over_budget (the visit's accepted lines, in line order, down to
    what it drew from the ledger)."""
    return _answer(_payable(_checks(_base())))


def _base() -> sa.Subquery:
    """Each line of the claim with what it is checked against: its visit (the provider's
    own only), the elder, the enrolment, the price of the service that year."""
    v, e, p, s = Visit, Enrolment, Person, Service
    cl = sa.orm.aliased(ClaimLine, name="l")
    exc = sa.cast(v.exceptions, sa.String)
    return (
        sa.select(
            cl.id,
            cl.line_no,
            cl.visit_id,
            cl.service_date,
            stored(cl.quantity).label("qty"),
            stored(cl.amount).label("amt"),
            cl.id_number_hash.label("claimed_id"),
            v.id.label("vid"),
            v.check_in_at,
            v.check_out_at,
            stored(v.subsidised).label("sub"),
            exc.label("exc"),
            p.id_number_hash.label("real_id"),
            p.death_date,
            e.year,
            e.enrolled_on,
            e.ended_on,
            e.end_reason,
            stored(s.price).label("price"),
            s.unit,
            _flag(_worker_elsewhere(v)).label("overlap"),
            _flag(_claimed_elsewhere(cl)).label("elsewhere"),
            seconds_between(v.check_in_at, v.check_out_at).label("secs"),
            local_date(v.check_in_at).label("visit_date"),
            sa.func.row_number()
            .over(partition_by=(cl.visit_id, cl.service_code), order_by=cl.line_no)
            .label("dup_rank"),
        )
        .select_from(cl)
        .outerjoin(v, sa.and_(v.id == cl.visit_id, v.provider_id == P.provider_id))
        .outerjoin(e, e.id == v.enrolment_id)
        .outerjoin(p, p.id == e.person_id)
        .outerjoin(
            s,
            sa.and_(
                s.year == P.price_year,  # codes ignore case
                sa.func.lower(s.code) == sa.func.lower(cl.service_code),
            ),
        )
        .where(cl.claim_id == P.claim_id)
        .subquery("b")
    )


def _worker_elsewhere(v) -> sa.Exists:
    """The worker was still in another home when this visit began: an earlier check-in of
    the same worker, within the 12 hours a visit may last (longer ones are closed as
    stale, as at scan time), not yet checked out. A few entries of ix_visits_worker_in
    per line."""
    w = sa.orm.aliased(Visit, name="w")
    return sa.exists().where(
        w.worker_id == v.worker_id,
        w.id != v.id,
        w.check_in_at >= hours_before(v.check_in_at, OPEN_HOURS),
        w.check_in_at <= v.check_in_at,
        sa.or_(w.check_in_at < v.check_in_at, sa.and_(w.check_in_at == v.check_in_at, w.id < v.id)),
        w.check_out_at > v.check_in_at,
    )


def _claimed_elsewhere(cl) -> sa.Exists:
    """The line's visit is claimed by another claim not withdrawn (claimed.py): a
    supplementary claim's line for a visit claimed before is a duplicate."""
    return sa.exists().where(
        ClaimedVisit.visit_id == cl.visit_id, ClaimedVisit.claim_id != P.claim_id
    )


def _checks(b: sa.Subquery) -> sa.Subquery:
    """Each reason of API.md as a 0/1 column, the amount as priced (base), and the hours
    claimed so far on the visit, line by line (cum_h)."""
    has_visit = b.c.vid.is_not(None)
    dead = _dead(b, has_visit)
    price_amt = (b.c.price * b.c.qty + 50) // 100
    hourly = sa.and_(has_visit, b.c.unit == Unit.HOUR, b.c.secs.is_not(None))
    counted_hours = sa.case((sa.and_(hourly, b.c.dup_rank == 1), b.c.qty), else_=0)
    return sa.select(
        b.c.id,
        b.c.line_no,
        b.c.visit_id,
        b.c.qty,
        b.c.amt,
        b.c.price,
        b.c.sub,
        b.c.secs,
        _flag(b.c.vid.is_(None)).label("no_visit"),
        _flag(
            sa.and_(b.c.visit_id.is_not(None), sa.or_(b.c.dup_rank > 1, b.c.elsewhere == 1))
        ).label("duplicate_line"),
        _flag(sa.and_(has_visit, b.c.real_id != b.c.claimed_id)).label("id_mismatch"),
        _flag(
            sa.or_(
                b.c.service_date < P.first,
                b.c.service_date > P.last,
                sa.and_(has_visit, sa.or_(b.c.check_in_at < P.start, b.c.check_in_at >= P.end)),
            )
        ).label("outside_month"),
        _flag(sa.and_(has_visit, b.c.check_out_at.is_(None))).label("visit_incomplete"),
        _flag(dead).label("deceased"),
        _flag(_not_enrolled(b, has_visit, dead)).label("not_enrolled"),
        _flag(
            sa.and_(has_visit, sa.or_(b.c.overlap == 1, b.c.exc.contains('"worker_overlap"')))
        ).label("worker_overlap"),
        _flag(sa.or_(b.c.price.is_(None), b.c.amt != price_amt)).label("amount_mismatch"),
        sa.case((b.c.price.is_(None), 0), (b.c.amt != price_amt, price_amt), else_=b.c.amt).label(
            "base"
        ),
        _flag(hourly).label("hourly"),
        # PostgreSQL's sum(bigint) is numeric: cast back, so that // stays integer division
        sa.cast(
            sa.func.sum(counted_hours).over(
                partition_by=b.c.visit_id, order_by=b.c.line_no, rows=(None, 0)
            ),
            sa.BigInteger,
        ).label("cum_h"),
        presence.bits(b.c.exc).label("presence"),  # the visit's presence exceptions
    ).subquery("f")


def _dead(b: sa.Subquery, has_visit) -> sa.ColumnElement:
    """Enrolment and death are judged on the day of the visit (the day the service was
    given), and on the claimed date too for a death: a claim dated after it is not paid."""
    return sa.and_(
        has_visit,
        sa.or_(
            sa.and_(
                b.c.death_date.is_not(None),
                sa.or_(b.c.service_date > b.c.death_date, b.c.visit_date > b.c.death_date),
            ),
            b.c.exc.contains('"deceased"'),
        ),
    )


def _not_enrolled(b: sa.Subquery, has_visit, dead) -> sa.ColumnElement:
    """Not enrolled that year on the visit's day (an enrolment ended otherwise than by
    death), unless the elder had died (deceased says so)."""
    ended = sa.and_(
        b.c.ended_on.is_not(None), b.c.ended_on <= b.c.visit_date, b.c.end_reason != "deceased"
    )
    return sa.and_(
        has_visit,
        sa.not_(dead),
        sa.or_(
            b.c.year != P.year,
            b.c.visit_date < b.c.enrolled_on,
            ended,
            b.c.exc.contains('"not_enrolled"'),
        ),
    )


def _payable(f: sa.Subquery) -> sa.Subquery:
    """Rejected lines pay nothing; hourly lines are cut to the time on site; what each
    line may be paid, and the visit's running total of it (cum_pay)."""
    rejected = sum((f.c[code] for code in REJECTING), sa.literal(0)) > 0
    too_long = sa.and_(f.c.hourly == 1, f.c.cum_h * 36 > f.c.secs + TOLERANCE_S)
    room_h = f.c.secs // 36 - (f.c.cum_h - f.c.qty)
    allowed_h = sa.case((room_h < 0, 0), (room_h > f.c.qty, f.c.qty), else_=room_h)
    amt2 = sa.case((too_long, (f.c.price * allowed_h + 50) // 100), else_=f.c.base)
    payable = sa.case((rejected, 0), else_=amt2)
    return sa.select(
        f,
        _flag(too_long).label("quantity_exceeds_time"),
        _flag(rejected).label("rejected"),
        payable.label("payable"),
        sa.cast(
            sa.func.sum(payable).over(
                partition_by=f.c.visit_id, order_by=f.c.line_no, rows=(None, 0)
            ),
            sa.BigInteger,
        ).label("cum_pay"),
    ).subquery("g")


def _answer(g: sa.Subquery) -> sa.Subquery:
    """The reason bits, the decision and the amount approved: the visit's accepted lines,
    in line order, down to what it drew from the ledger (over_budget)."""
    room = g.c.sub - (g.c.cum_pay - g.c.payable)
    room0 = sa.case((room < 0, 0), else_=room)
    over = sa.and_(g.c.rejected == 0, g.c.payable > room0)
    bits = (
        sum(
            (g.c[code] * BIT[code] for code in MONEY_REASONS if code != "over_budget"),
            _flag(over) * BIT["over_budget"],
        )
        + g.c.presence
    )
    adjusted = sa.or_(over, (g.c.amount_mismatch + g.c.quantity_exceeds_time) > 0)
    return sa.select(
        g.c.id,
        bits.label("bits"),
        sa.case(
            (g.c.rejected == 1, Decision.REJECTED.value),
            (adjusted, Decision.ADJUSTED.value),
            else_=Decision.APPROVED.value,
        ).label("decision"),
        sa.case((g.c.rejected == 1, 0), (over, room0), else_=g.c.payable).label("approved"),
    ).subquery("d")
