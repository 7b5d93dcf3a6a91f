"""Claims: submission (uploaded file or generated from logged visits) and the steps of
a claim's life, each a conditional status change that exactly one clerk wins:
reconciliation (the lines decided by reconcile.py's one statement), approval, payment;
and the monthly job that drafts claims. The lines' own decisions and the clerk's
overrides are in decisions.py. Services take plain arguments, raise eldercare.errors,
flush and never commit.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare import audit, faults
from eldercare.crypto import id_number_hash
from eldercare.database import from_fen, rowcount, stored, utcnow
from eldercare.errors import Conflict
from eldercare.extensions import db
from eldercare.models import Person, User
from eldercare.timeutil import Month, local_date

from .. import patterns
from .. import services as hs
from ..models import Enrolment, Provider, Service, Visit, VisitService
from . import callbacks, claimed, decisions, presence, recoveries
from .files import LineIn
from .models import Claim, ClaimLine, ClaimSource, ClaimStatus
from .reconcile import decide as decide_lines

# --- submission ---------------------------------------------------------------------------


def service_codes(year: int) -> set[str]:
    """The service codes a claim for `year` may carry (the price list that applies)."""
    return set(
        db.session.scalars(sa.select(Service.code).where(Service.year == hs.price_year(year)))
    )


def _new_claim(
    provider: Provider,
    month: Month,
    source: ClaimSource,
    user: User | None,
    filename: str = "",
    status: ClaimStatus = ClaimStatus.SUBMITTED,
) -> Claim:
    """The month's main claim, or a supplementary one (claimed.new_claim)."""
    return claimed.new_claim(provider, month, source, user, filename, status)


def finish_submission(claim: Claim) -> Claim:
    """A new claim's count and claimed total from its lines, the rest zero until it is
    reconciled; its lines claim their visits (claimed.register); a claim with lines takes
    the provider's waiting recoveries (a draft takes them when submitted)."""
    claimed.register(claim)
    count, total = db.session.execute(
        sa.select(
            sa.func.count(ClaimLine.id), sa.func.coalesce(sa.func.sum(stored(ClaimLine.amount)), 0)
        ).where(ClaimLine.claim_id == claim.id)
    ).one()
    claim.line_count = count
    claim.claimed_total = from_fen(total)
    claim.rejected_total = Decimal("0.00")
    claim.approved_total = Decimal("0.00")
    db.session.flush()
    if count:  # the provider's next claim deducts its waiting recoveries (an empty one,
        recoveries.take(claim)  # which the monthly job deletes, does not)
    return claim


def submit_lines(
    provider: Provider, month_text: str, lines: list[LineIn], user: User | None, filename: str = ""
) -> Claim:
    """Store an uploaded claim (already parsed and checked by files.parse).
    A month already claimed gets a supplementary claim (补报): its lines for visits
    claimed already are rejected as duplicate_line when reconciled. Raises Invalid."""
    month = Month.parse(month_text)
    claim = _new_claim(provider, month, ClaimSource.UPLOAD, user, filename)
    rows = [
        {
            "claim_id": claim.id,
            "line_no": x.line_no,
            "visit_id": x.visit_id,
            "id_number": x.id_number,
            "id_number_hash": id_number_hash(x.id_number),
            "service_date": x.service_date,
            "service_code": x.service_code,
            "quantity": x.quantity,
            "amount": x.amount,
            "reason_bits": 0,
            "override_reason": "",
        }
        for x in lines
    ]
    for start in range(0, len(rows), 5000):
        db.session.execute(sa.insert(ClaimLine), rows[start : start + 5000])
    return finish_submission(claim)


def generate(
    provider: Provider,
    month_text: str,
    user: User | None,
    status: ClaimStatus = ClaimStatus.SUBMITTED,
) -> Claim:
    """Build a claim from the provider's logged visits of the month not yet claimed: one
    line per service of every finished visit that drew on a ledger (a wholly self-paid
    visit is not the bureau's to pay). One INSERT ... SELECT. A month already claimed
    gets a supplementary claim (补报) of the visits left. Raises Invalid, Conflict
    (a supplementary claim with nothing to claim)."""
    month = Month.parse(month_text)
    claim = _new_claim(provider, month, ClaimSource.GENERATED, user, status=status)
    db.session.execute(
        sa.insert(ClaimLine).from_select(
            [
                "claim_id",
                "line_no",
                "visit_id",
                "id_number",
                "id_number_hash",
                "service_date",
                "service_code",
                "quantity",
                "amount",
                "reason_bits",
                "override_reason",
            ],
            _unclaimed_services(claim, provider, month),
        )
    )
    finish_submission(claim)
    if claim.supplementary and claim.line_count == 0:
        raise claimed.nothing_to_claim(provider, month)
    return claim


def _unclaimed_services(claim: Claim, provider: Provider, month: Month) -> sa.Select:
    """The claim's lines as rows: every service of the provider's finished visits of the
    month that drew on a ledger and that no other claim holds, in the order given."""
    line_no = sa.func.row_number().over(order_by=(Visit.check_in_at, Visit.id, VisitService.id))
    # the person's encrypted number is copied as it is (one kind of value, one key)
    return (
        sa.select(
            sa.literal(claim.id),
            line_no,
            Visit.id,
            Person.id_number,
            Person.id_number_hash,
            local_date(Visit.check_in_at),
            VisitService.service_code,
            stored(VisitService.quantity),
            stored(VisitService.amount),
            sa.literal(0),
            sa.literal(""),
        )
        .join(VisitService, VisitService.visit_id == Visit.id)
        .join(Enrolment, Enrolment.id == Visit.enrolment_id)
        .join(Person, Person.id == Enrolment.person_id)
        .where(
            Visit.provider_id == provider.id,
            Visit.check_in_at >= month.start_utc,
            Visit.check_in_at < month.end_utc,
            Visit.check_out_at.is_not(None),
            stored(Visit.subsidised) > 0,
            claimed.unclaimed(Visit.id),
        )
    )


def _move(
    claim: Claim, to: ClaimStatus, allowed: tuple[ClaimStatus, ...], user: User | None, **stamps
) -> None:
    """A status step as a conditional UPDATE checked by its row count (two clerks at once:
    one wins, the other gets Conflict)."""
    done = db.session.execute(
        sa.update(Claim)
        .where(Claim.id == claim.id, Claim.status.in_(allowed))
        .values(status=to, **stamps)
        .execution_options(synchronize_session=False)
    )
    if rowcount(done) != 1:
        db.session.refresh(claim)
        raise Conflict(
            _l("该申报当前状态为 %(value)s，不能执行此操作", value=claim.status.value),
            code="wrong_status",
        )
    audit.record(
        f"claim_{to.value}",
        "claims",
        claim.id,
        {"status": [claim.status.value, to.value], "by": user.username if user else "system"},
    )
    db.session.refresh(claim)


def reconcile(claim: Claim, user: User | None) -> Claim:
    """Decide every line of a submitted or reconciled claim (see _decisions) and store
    the totals; the first reconciliation also draws the call-back sample, and any of
    the provider's recoveries still waiting are deducted from it (recoveries.take). Raises
    Conflict once the claim is approved. Changes: the lines' machine columns and
    effective decisions (overrides kept), the claim's totals and status."""
    _move(
        claim,
        ClaimStatus.RECONCILED,
        (ClaimStatus.SUBMITTED, ClaimStatus.RECONCILED),
        user,
        reconciled_by_id=user.id if user else None,
        reconciled_at=utcnow(),
    )
    patterns.flag_month(claim.month, claim.provider_id)  # so that the review shows them
    decide_lines(claim)
    faults.pause("reconcile-decided")  # tests only: every line decided, no totals yet
    decisions.store_totals(claim)
    callbacks.draw_sample(claim)
    recoveries.take(claim)
    return claim


def approve(claim: Claim, user: User, override_reason: str = "") -> Claim:
    """Approve a reconciled claim for payment once no line is undecided and every
    call-back drawn from it is recorded; an admin may approve with call-backs pending by
    giving `override_reason` (audited with the number pending). Raises Conflict:
    `undecided_lines`, `callbacks_pending`, `wrong_status` (not reconciled, or another
    clerk approved first)."""
    reason = (override_reason or "").strip()
    pending = 0
    if claim.status == ClaimStatus.RECONCILED:
        if decisions.undecided(claim):
            raise Conflict("仍有未决的明细，不能审批", code="undecided_lines")
        presence.check_released(claim)  # held lines (issue 14): each accepted or rejected
        pending = callbacks.sample_counts(claim)[1]
        if pending and not reason:
            raise Conflict(
                _l(
                    "还有 %(pending)s 次电话回访未记录结果，不能审批（确需审批请写明理由）",
                    pending=pending,
                ),
                code="callbacks_pending",
                fields={"override_reason": _l("回访未完成时必填")},
            )
    _move(
        claim,
        ClaimStatus.APPROVED,
        (ClaimStatus.RECONCILED,),
        user,
        approved_by_id=user.id,
        approved_at=utcnow(),
    )
    if pending:
        audit.record(
            "claim_approved_callbacks_pending",
            "claims",
            claim.id,
            {"pending": pending, "override_reason": reason, "by": user.username},
        )
    return claim


def pay(claim: Claim, user: User) -> Claim:
    """Record the payment of an approved claim. Conflict for any other status."""
    _move(
        claim, ClaimStatus.PAID, (ClaimStatus.APPROVED,), user, paid_by_id=user.id, paid_at=utcnow()
    )
    return claim


# --- the monthly job ----------------------------------------------------------------------


def previous_month(now) -> str:
    """The month a run on the 1st is for: the one just ended."""
    return Month.of(now.date()).previous().text


def draft_claims_job(period: str) -> dict:
    """`draft-claims --period YYYY-MM`: a draft claim generated from logged visits for
    every provider with visits in that month and no claim for it yet, for the provider
    to review and submit (idempotent: a provider that has one not withdrawn is left
    alone)."""
    month = Month.parse(period)
    have = set(
        db.session.scalars(
            sa.select(Claim.provider_id).where(
                Claim.month == period, Claim.status != ClaimStatus.WITHDRAWN
            )
        )
    )
    busy = db.session.scalars(
        sa.select(Visit.provider_id)
        .where(
            Visit.check_in_at >= month.start_utc,
            Visit.check_in_at < month.end_utc,
            Visit.check_out_at.is_not(None),
        )
        .distinct()
    ).all()
    drafted, lines = 0, 0
    for provider_id in sorted(set(busy) - have):
        claim = generate(
            db.session.get_one(Provider, provider_id), period, None, status=ClaimStatus.DRAFT
        )
        if claim.line_count == 0:
            db.session.delete(claim)
            db.session.flush()
            continue
        drafted, lines = drafted + 1, lines + claim.line_count
    return {"drafted": drafted, "lines": lines}
