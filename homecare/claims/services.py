"""Claims: submission (uploaded file or generated from logged visits), reconciliation,
the clerk's overrides, approval and payment. Services take plain arguments, raise
eldercare.errors, flush and never commit.

Reconciliation is set-wise (ENGINEERING.md, issue #5): one UPDATE ... FROM a stack of
sub-queries decides every line of a claim in the database, whatever the number of
lines; a few more statements sum the totals and read the answer back. It only reads
visits and ledgers and rewrites the machine's columns, so running it again gives the
same answer, and a clerk's override (kept in its own columns) survives it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import sqlalchemy as sa
import sqlalchemy.orm

from eldercare import audit, faults
from eldercare.crypto import id_number_hash
from eldercare.database import UTCDateTime, from_fen, to_money, utcnow
from eldercare.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.models import Person, User
from eldercare.timeutil import LOCAL

from ..models import Enrolment, Provider, Service, Unit, Visit, VisitService
from . import presence, recoveries
from .files import LineIn
from .models import (
    BIT,
    MONEY_REASONS,
    REJECTING,
    Claim,
    ClaimLine,
    ClaimSource,
    ClaimStatus,
    Decision,
    reasons_of,
)

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
TOLERANCE_S = 600  # hours claimed may exceed the time on site by 10 minutes (as at scans)
OPEN_HOURS = 12  # the longest a visit stays open (visits.OPEN_VISIT_WINDOW)


@dataclass(frozen=True)
class Month:
    text: str
    first: date
    last: date
    start_utc: datetime  # local midnight of the first day
    end_utc: datetime  # local midnight after the last day

    @property
    def year(self) -> int:
        return self.first.year


def month_of(text: str) -> Month:
    """A claim month `YYYY-MM`; Invalid for anything else."""
    if not MONTH_RE.match(text or ""):
        raise Invalid("月份须为 YYYY-MM", fields={"month": "须为 YYYY-MM"})
    y, m = int(text[:4]), int(text[5:])
    first = date(y, m, 1)
    after = date(y + (m == 12), m % 12 + 1, 1)
    start = datetime(y, m, 1, tzinfo=LOCAL).astimezone(UTC)
    end = datetime(after.year, after.month, 1, tzinfo=LOCAL).astimezone(UTC)
    return Month(text, first, after - timedelta(days=1), start, end)


def raw(col) -> sa.ColumnElement:
    """A Money/quantity column as its stored integer (fen, hundredths) for arithmetic."""
    return sa.type_coerce(col, sa.BigInteger)


def _seconds_between(start, end) -> sa.ColumnElement:
    """Whole seconds from `start` to `end`, in the dialect at hand."""
    if db.engine.dialect.name == "sqlite":
        return sa.cast(sa.func.round((sa.func.julianday(end) - sa.func.julianday(start))
                                     * 86400), sa.BigInteger)
    return sa.cast(sa.extract("epoch", end - start), sa.BigInteger)


def _hours_before(col, hours: int) -> sa.ColumnElement:
    """A stored UTC time `hours` earlier, comparable with the column itself."""
    if db.engine.dialect.name == "sqlite":
        # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' text; datetime() drops the fraction,
        # which sorts just before any time of that second: a bound that includes it.
        return sa.func.datetime(col, f"-{int(hours)} hours")
    return col - sa.text(f"interval '{int(hours)} hours'")


def local_month(col) -> sa.ColumnElement:
    """'YYYY-MM' of a stored UTC time in Asia/Shanghai, for grouping by month."""
    if db.engine.dialect.name == "sqlite":
        return sa.func.substr(sa.func.datetime(col, "+8 hours"), 1, 7)
    return sa.func.to_char(sa.func.timezone("Asia/Shanghai", col), "YYYY-MM")


def _local_date(col) -> sa.ColumnElement:
    """The Asia/Shanghai date of a stored UTC time (China keeps no summer time)."""
    if db.engine.dialect.name == "sqlite":
        return sa.func.date(col, "+8 hours")
    return sa.cast(sa.func.timezone("Asia/Shanghai", col), sa.Date)


# --- submission ---------------------------------------------------------------------------


def price_year(year: int) -> int:
    """The year whose price list applies: the year's own, else the latest before it (as
    visits are priced)."""
    have = db.session.scalar(sa.select(sa.func.max(Service.year)).where(Service.year <= year))
    return have or year


def service_codes(year: int) -> set[str]:
    return set(db.session.scalars(sa.select(Service.code).where(
        Service.year == price_year(year))))


def _new_claim(provider: Provider, month: Month, source: ClaimSource, user: User | None,
               filename: str = "") -> Claim:
    if db.session.scalar(sa.select(Claim.id).where(Claim.provider_id == provider.id,
                                                   Claim.month == month.text)):
        raise Conflict(f"{provider.name} {month.text} 已有结算申报", code="claim_exists")
    claim = Claim(provider_id=provider.id, month=month.text, status=ClaimStatus.SUBMITTED,
                  source=source, filename=filename[:200],
                  submitted_by_id=user.id if user else None, submitted_at=utcnow())
    db.session.add(claim)
    db.session.flush()  # UNIQUE(provider_id, month) decides a concurrent twin here (409)
    return claim


def _finish_submission(claim: Claim) -> Claim:
    count, total = db.session.execute(sa.select(
        sa.func.count(ClaimLine.id), sa.func.coalesce(sa.func.sum(raw(ClaimLine.amount)), 0))
        .where(ClaimLine.claim_id == claim.id)).one()
    claim.line_count = count
    claim.claimed_total = from_fen(total)
    claim.rejected_total = Decimal("0.00")
    claim.approved_total = Decimal("0.00")
    db.session.flush()
    if count:  # the provider's next claim deducts its waiting recoveries (an empty one,
        recoveries.take(claim)  # which the monthly job deletes, does not)
    return claim


def submit_lines(provider: Provider, month_text: str, lines: list[LineIn], user: User | None,
                 filename: str = "") -> Claim:
    """Store an uploaded claim (already parsed and checked by files.parse).
    Raises Invalid (month), Conflict (a claim for that provider and month exists)."""
    month = month_of(month_text)
    claim = _new_claim(provider, month, ClaimSource.UPLOAD, user, filename)
    rows = [{"claim_id": claim.id, "line_no": x.line_no, "visit_id": x.visit_id,
             "id_number": x.id_number, "id_number_hash": id_number_hash(x.id_number),
             "service_date": x.service_date,
             "service_code": x.service_code, "quantity": x.quantity, "amount": x.amount,
             "reason_bits": 0, "override_reason": ""} for x in lines]
    for start in range(0, len(rows), 5000):
        db.session.execute(sa.insert(ClaimLine), rows[start:start + 5000])
    return _finish_submission(claim)


def generate(provider: Provider, month_text: str, user: User | None) -> Claim:
    """Build a claim from the provider's logged visits of the month: one line per service
    of every finished visit that drew on a ledger (a wholly self-paid visit is not the
    bureau's to pay). One INSERT ... SELECT. Raises Invalid, Conflict."""
    month = month_of(month_text)
    claim = _new_claim(provider, month, ClaimSource.GENERATED, user)
    line_no = sa.func.row_number().over(order_by=(Visit.check_in_at, Visit.id, VisitService.id))
    select = (
        # the person's encrypted number is copied as it is (one kind of value, one key)
        sa.select(sa.literal(claim.id), line_no, Visit.id, Person.id_number, Person.id_number_hash,
                  _local_date(Visit.check_in_at), VisitService.service_code,
                  raw(VisitService.quantity), raw(VisitService.amount), sa.literal(0),
                  sa.literal(""))
        .join(VisitService, VisitService.visit_id == Visit.id)
        .join(Enrolment, Enrolment.id == Visit.enrolment_id)
        .join(Person, Person.id == Enrolment.person_id)
        .where(Visit.provider_id == provider.id, Visit.check_in_at >= month.start_utc,
               Visit.check_in_at < month.end_utc, Visit.check_out_at.is_not(None),
               raw(Visit.subsidised) > 0))
    db.session.execute(sa.insert(ClaimLine).from_select(
        ["claim_id", "line_no", "visit_id", "id_number", "id_number_hash", "service_date",
         "service_code", "quantity", "amount", "reason_bits", "override_reason"], select))
    return _finish_submission(claim)


# --- reconciliation -----------------------------------------------------------------------


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
    return {"p_claim_id": claim.id, "p_provider_id": claim.provider_id,
            "p_year": month.year, "p_price_year": price_year(month.year),
            "p_first": month.first, "p_last": month.last, "p_start": month.start_utc,
            "p_end": month.end_utc}


@functools.cache
def _reconcile_statement(dialect: str) -> sa.Update:
    """The one UPDATE that decides every line of a claim, built once per dialect (it is
    large: building it costs more than running it) with the claim's figures as bind
    parameters (_params)."""
    d = _decisions()
    kept = ClaimLine.override_decision.is_not(None)
    decision = sa.case((kept, ClaimLine.override_decision), else_=d.c.decision)
    approved = sa.case((kept, ClaimLine.override_amount), else_=d.c.approved)
    changed = sa.or_(ClaimLine.reason_bits.is_distinct_from(d.c.bits),
                     ClaimLine.auto_decision.is_distinct_from(d.c.decision),
                     ClaimLine.auto_amount.is_distinct_from(d.c.approved),
                     ClaimLine.decision.is_distinct_from(decision),
                     ClaimLine.approved_amount.is_distinct_from(approved))
    # Only lines whose answer changed are written: a re-run writes nothing.
    return (sa.update(ClaimLine).where(ClaimLine.id == d.c.id, changed)
            .values(reason_bits=d.c.bits, auto_decision=d.c.decision,
                    auto_amount=d.c.approved,
                    decision=decision, approved_amount=approved)
            .execution_options(synchronize_session=False))


def _decisions() -> sa.Subquery:
    """One row per line of `claim`: id, bits, decision, approved (fen). API.md's rules:

    rejecting — no_visit, duplicate_line (the later line of the same visit and service),
    id_mismatch, outside_month, visit_incomplete, deceased (service after death),
    not_enrolled, worker_overlap (the worker's earlier visit still open at check-in);
    adjusting — amount_mismatch (to price × quantity), quantity_exceeds_time (hours to
    the time on site), over_budget (the visit's accepted lines, in line order, down to
    what it drew from the ledger); and the visit's presence exceptions, which decide no
    amount but hold the line (presence.py)."""
    v, e, p, s = Visit, Enrolment, Person, Service
    cl = sa.orm.aliased(ClaimLine, name="l")
    # The worker was still in another home when this visit began: an earlier check-in of
    # the same worker, within the 12 hours a visit may last (longer ones are closed as
    # stale, as at scan time), not yet checked out. A few entries of ix_visits_worker_in
    # per line.
    w = sa.orm.aliased(Visit, name="w")
    overlap = sa.exists().where(
        w.worker_id == v.worker_id, w.id != v.id,
        w.check_in_at >= _hours_before(v.check_in_at, OPEN_HOURS),
        w.check_in_at <= v.check_in_at,
        sa.or_(w.check_in_at < v.check_in_at,
               sa.and_(w.check_in_at == v.check_in_at, w.id < v.id)),
        w.check_out_at > v.check_in_at)
    exc = sa.cast(v.exceptions, sa.String)
    b = (sa.select(
        cl.id, cl.line_no, cl.visit_id, cl.service_date, raw(cl.quantity).label("qty"),
        raw(cl.amount).label("amt"), cl.id_number_hash.label("claimed_id"),
        v.id.label("vid"), v.check_in_at, v.check_out_at, raw(v.subsidised).label("sub"),
        exc.label("exc"), p.id_number_hash.label("real_id"), p.death_date, e.year, e.enrolled_on,
        e.ended_on, e.end_reason, raw(s.price).label("price"), s.unit,
        _flag(overlap).label("overlap"),
        _seconds_between(v.check_in_at, v.check_out_at).label("secs"),
        _local_date(v.check_in_at).label("visit_date"),
        sa.func.row_number().over(partition_by=(cl.visit_id, cl.service_code),
                                  order_by=cl.line_no).label("dup_rank"))
        .select_from(cl)
        .outerjoin(v, sa.and_(v.id == cl.visit_id, v.provider_id == P.provider_id))
        .outerjoin(e, e.id == v.enrolment_id)
        .outerjoin(p, p.id == e.person_id)
        .outerjoin(s, sa.and_(s.year == P.price_year, s.code == cl.service_code))
        .where(cl.claim_id == P.claim_id)
        .subquery("b"))

    has_visit = b.c.vid.is_not(None)
    # Enrolment and death are judged on the day of the visit (the day the service was
    # given), and on the claimed date too for a death: a claim dated after it is not paid.
    dead = sa.and_(has_visit, sa.or_(
        sa.and_(b.c.death_date.is_not(None), sa.or_(b.c.service_date > b.c.death_date,
                                                     b.c.visit_date > b.c.death_date)),
        b.c.exc.contains('"deceased"')))
    ended = sa.and_(b.c.ended_on.is_not(None), b.c.ended_on <= b.c.visit_date,
                    b.c.end_reason != "deceased")
    price_amt = (b.c.price * b.c.qty + 50) // 100
    hourly = sa.and_(has_visit, b.c.unit == Unit.HOUR, b.c.secs.is_not(None))
    counted_hours = sa.case((sa.and_(hourly, b.c.dup_rank == 1), b.c.qty), else_=0)
    f = sa.select(
        b.c.id, b.c.line_no, b.c.visit_id, b.c.qty, b.c.amt, b.c.price, b.c.sub, b.c.secs,
        _flag(b.c.vid.is_(None)).label("no_visit"),
        _flag(sa.and_(b.c.visit_id.is_not(None), b.c.dup_rank > 1)).label("duplicate_line"),
        _flag(sa.and_(has_visit, b.c.real_id != b.c.claimed_id)).label("id_mismatch"),
        _flag(sa.or_(b.c.service_date < P.first, b.c.service_date > P.last,
                     sa.and_(has_visit, sa.or_(b.c.check_in_at < P.start,
                                               b.c.check_in_at >= P.end))))
        .label("outside_month"),
        _flag(sa.and_(has_visit, b.c.check_out_at.is_(None))).label("visit_incomplete"),
        _flag(dead).label("deceased"),
        _flag(sa.and_(has_visit, sa.not_(dead), sa.or_(
            b.c.year != P.year, b.c.visit_date < b.c.enrolled_on, ended,
            b.c.exc.contains('"not_enrolled"')))).label("not_enrolled"),
        _flag(sa.and_(has_visit, sa.or_(b.c.overlap == 1, b.c.exc.contains('"worker_overlap"'))))
        .label("worker_overlap"),
        _flag(sa.or_(b.c.price.is_(None), b.c.amt != price_amt)).label("amount_mismatch"),
        sa.case((b.c.price.is_(None), 0), (b.c.amt != price_amt, price_amt), else_=b.c.amt)
        .label("base"),
        _flag(hourly).label("hourly"),
        # PostgreSQL's sum(bigint) is numeric: cast back, so that // stays integer division
        sa.cast(sa.func.sum(counted_hours).over(partition_by=b.c.visit_id,
                                                order_by=b.c.line_no, rows=(None, 0)),
                sa.BigInteger).label("cum_h"),
        presence.bits(b.c.exc).label("presence"),  # the visit's presence exceptions
    ).subquery("f")

    rejected = sum((f.c[code] for code in REJECTING), sa.literal(0)) > 0
    too_long = sa.and_(f.c.hourly == 1, f.c.cum_h * 36 > f.c.secs + TOLERANCE_S)
    room_h = f.c.secs // 36 - (f.c.cum_h - f.c.qty)
    allowed_h = sa.case((room_h < 0, 0), (room_h > f.c.qty, f.c.qty), else_=room_h)
    amt2 = sa.case((too_long, (f.c.price * allowed_h + 50) // 100), else_=f.c.base)
    payable = sa.case((rejected, 0), else_=amt2)
    g = sa.select(
        f, _flag(too_long).label("quantity_exceeds_time"), _flag(rejected).label("rejected"),
        payable.label("payable"),
        sa.cast(sa.func.sum(payable).over(partition_by=f.c.visit_id, order_by=f.c.line_no,
                                          rows=(None, 0)), sa.BigInteger).label("cum_pay"),
    ).subquery("g")

    room = g.c.sub - (g.c.cum_pay - g.c.payable)
    room0 = sa.case((room < 0, 0), else_=room)
    over = sa.and_(g.c.rejected == 0, g.c.payable > room0)
    bits = sum((g.c[code] * BIT[code] for code in MONEY_REASONS if code != "over_budget"),
               _flag(over) * BIT["over_budget"]) + g.c.presence
    adjusted = sa.or_(over, (g.c.amount_mismatch + g.c.quantity_exceeds_time) > 0)
    return sa.select(
        g.c.id, bits.label("bits"),
        sa.case((g.c.rejected == 1, Decision.REJECTED.value),
                (adjusted, Decision.ADJUSTED.value), else_=Decision.APPROVED.value)
        .label("decision"),
        sa.case((g.c.rejected == 1, 0), (over, room0), else_=g.c.payable).label("approved"),
    ).subquery("d")


def _store_totals(claim: Claim) -> None:
    claimed, approved = db.session.execute(sa.select(
        sa.func.coalesce(sa.func.sum(raw(ClaimLine.amount)), 0),
        sa.func.coalesce(sa.func.sum(raw(ClaimLine.approved_amount)), 0))
        .where(ClaimLine.claim_id == claim.id)).one()
    claim.claimed_total = from_fen(claimed)
    claim.approved_total = from_fen(approved)
    claim.rejected_total = claim.claimed_total - claim.approved_total
    db.session.flush()


def _move(claim: Claim, to: ClaimStatus, allowed: tuple[ClaimStatus, ...], user: User | None,
          **stamps) -> None:
    """A status step as a conditional UPDATE checked by its row count (two clerks at once:
    one wins, the other gets Conflict)."""
    done = db.session.execute(
        sa.update(Claim).where(Claim.id == claim.id, Claim.status.in_(allowed))
        .values(status=to, **stamps).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        db.session.refresh(claim)
        raise Conflict(f"该申报当前状态为 {claim.status.value}，不能执行此操作",
                       code="wrong_status")
    audit.record(f"claim_{to.value}", "claims", claim.id,
                 {"status": [claim.status.value, to.value],
                  "by": user.username if user else "system"})
    db.session.refresh(claim)


def reconcile(claim: Claim, user: User | None) -> Claim:
    """Decide every line of a submitted or reconciled claim (see _decisions) and store
    the totals; the first reconciliation also draws the call-back sample, and any of
    the provider's recoveries still waiting are deducted from it (recoveries.take). Raises
    Conflict once the claim is approved. Changes: the lines' machine columns and
    effective decisions (overrides kept), the claim's totals and status."""
    from .. import patterns
    from . import callbacks

    _move(claim, ClaimStatus.RECONCILED, (ClaimStatus.SUBMITTED, ClaimStatus.RECONCILED), user,
          reconciled_by_id=user.id if user else None, reconciled_at=utcnow())
    patterns.flag_month(claim.month, claim.provider_id)  # so that the review shows them
    db.session.execute(_reconcile_statement(db.engine.dialect.name),
                       _params(claim, month_of(claim.month)))
    faults.pause("reconcile-decided")  # tests only: every line decided, no totals yet
    _store_totals(claim)
    callbacks.draw_sample(claim)
    recoveries.take(claim)
    return claim


def lines(claim: Claim) -> list[dict]:
    """The lines as API.md answers them, in one query."""
    rows = db.session.execute(sa.select(
        ClaimLine.line_no, ClaimLine.visit_id, ClaimLine.amount, ClaimLine.approved_amount,
        ClaimLine.decision, ClaimLine.reason_bits, ClaimLine.override_decision,
        ClaimLine.accepted_bits)
        .where(ClaimLine.claim_id == claim.id).order_by(ClaimLine.line_no))
    return [{"line_no": n, "visit_id": vid, "claimed": amt,
             "approved": appr if appr is not None else None,
             "decision": dec.value if dec else None, "reasons": reasons_of(bits),
             "overridden": ovr is not None, "held": presence.is_held(bits, acc, dec)}
            for n, vid, amt, appr, dec, bits, ovr, acc in rows]


def override(claim: Claim, line_no: int, decision: str, reason: str, user: User,
             amount: Decimal | None = None) -> ClaimLine:
    """The clerk's decision on one line, with a written reason (audited); kept across
    reconciliations. `approved` pays the claimed amount, `rejected` nothing, `adjusted`
    the amount given (not above the claimed). `auto` withdraws the override.
    Raises Invalid, Conflict (not reconciled, or already approved)."""
    if claim.status != ClaimStatus.RECONCILED:
        raise Conflict("只能在对账后、审批前更改明细的结论", code="wrong_status")
    reason = (reason or "").strip()
    line = db.session.scalar(sa.select(ClaimLine).where(ClaimLine.claim_id == claim.id,
                                                        ClaimLine.line_no == line_no))
    if line is None:
        raise Invalid(f"没有第 {line_no} 条明细", fields={"line_no": "不存在"})
    before = {"decision": line.decision.value if line.decision else None,
              "approved": str(line.approved_amount)}
    if decision == "auto":
        line.override_decision, line.override_amount, line.override_reason = None, None, ""
        line.override_by_id, line.override_at = None, None
        line.decision, line.approved_amount = line.auto_decision, line.auto_amount
    else:
        if not reason:
            raise Invalid("请写明更改结论的理由", fields={"reason": "必填"})
        try:
            chosen = Decision(decision)
        except ValueError:
            raise Invalid("结论须为 approved、adjusted 或 rejected",
                          fields={"decision": "未知的结论"}) from None
        if chosen == Decision.APPROVED:
            amount = line.amount
        elif chosen == Decision.REJECTED:
            amount = Decimal("0.00")
        elif amount is None or to_money(amount) < 0 or to_money(amount) > line.amount:
            raise Invalid("调整金额须在 0 与申报金额之间", fields={"amount": "超出范围"})
        line.override_decision, line.override_amount = chosen, to_money(amount)
        line.override_reason, line.override_by_id, line.override_at = reason, user.id, utcnow()
        line.decision, line.approved_amount = chosen, to_money(amount)
    db.session.flush()
    audit.record("claim_line_override", "claim_lines", line.id, {
        "claim_id": claim.id, "line_no": line_no, "before": before,
        "after": {"decision": line.decision.value if line.decision else None,
                  "approved": str(line.approved_amount)}, "reason": reason})
    _store_totals(claim)
    return line


def undecided(claim: Claim) -> int:
    return db.session.scalar(sa.select(sa.func.count(ClaimLine.id)).where(
        ClaimLine.claim_id == claim.id, ClaimLine.decision.is_(None))) or 0


def approve(claim: Claim, user: User, override_reason: str = "") -> Claim:
    """Approve a reconciled claim for payment once no line is undecided or held (a
    presence exception not yet accepted or rejected, presence.py) and every call-back
    drawn from it is recorded; an admin may approve with call-backs pending by giving
    `override_reason` (audited with the number pending). Raises Conflict:
    `undecided_lines`, `held_lines`, `callbacks_pending`, `wrong_status` (not
    reconciled, or another clerk approved first)."""
    from . import callbacks

    reason = (override_reason or "").strip()
    pending = 0
    if claim.status == ClaimStatus.RECONCILED:
        if undecided(claim):
            raise Conflict("仍有未决的明细，不能审批", code="undecided_lines")
        presence.check_released(claim)  # held lines (issue 14): each accepted or rejected
        pending = callbacks.sample_counts(claim)[1]
        if pending and not reason:
            raise Conflict(f"还有 {pending} 次电话回访未记录结果，不能审批"
                           "（确需审批请写明理由）", code="callbacks_pending",
                           fields={"override_reason": "回访未完成时必填"})
    _move(claim, ClaimStatus.APPROVED, (ClaimStatus.RECONCILED,), user,
          approved_by_id=user.id, approved_at=utcnow())
    if pending:
        audit.record("claim_approved_callbacks_pending", "claims", claim.id,
                     {"pending": pending, "override_reason": reason, "by": user.username})
    return claim


def pay(claim: Claim, user: User) -> Claim:
    """Record the payment of an approved claim. Conflict for any other status."""
    _move(claim, ClaimStatus.PAID, (ClaimStatus.APPROVED,), user, paid_by_id=user.id,
          paid_at=utcnow())
    return claim


def exception_counts(claim: Claim) -> dict[str, int]:
    """Lines per reason code, in one query (bit tests summed)."""
    cols = [sa.func.coalesce(sa.func.sum(_flag(ClaimLine.reason_bits.op("&")(bit) != 0)), 0)
            .label(code) for code, bit in BIT.items()]
    row = db.session.execute(sa.select(*cols).where(ClaimLine.claim_id == claim.id)).one()
    return {code: int(row._mapping[code]) for code in BIT if row._mapping[code]}



# --- the monthly job ----------------------------------------------------------------------


def previous_month(now) -> str:
    """The month a run on the 1st is for: the one just ended."""
    first = now.date().replace(day=1) - timedelta(days=1)
    return f"{first.year}-{first.month:02d}"


def draft_claims_job(period: str) -> dict:
    """`draft-claims --period YYYY-MM`: a claim generated from logged visits for every
    provider with visits in that month and no claim for it yet (idempotent: a provider
    that has one is left alone)."""
    month = month_of(period)
    have = set(db.session.scalars(sa.select(Claim.provider_id).where(Claim.month == period)))
    busy = db.session.scalars(sa.select(Visit.provider_id).where(
        Visit.check_in_at >= month.start_utc, Visit.check_in_at < month.end_utc,
        Visit.check_out_at.is_not(None)).distinct()).all()
    drafted, lines = 0, 0
    for provider_id in sorted(set(busy) - have):
        claim = generate(db.session.get(Provider, provider_id), period, None)
        if claim.line_count == 0:
            db.session.delete(claim)
            db.session.flush()
            continue
        drafted, lines = drafted + 1, lines + claim.line_count
    return {"drafted": drafted, "lines": lines}
