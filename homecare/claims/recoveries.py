"""Recoveries (扣回): money paid for a visit that a call-back later found not delivered.

When a `not_delivered` outcome is recorded on a visit of a claim already approved or
paid, what that claim approved for the visit is recovered: a `Recovery` row, once per
(visit, claim) by a unique key, so recording the outcome twice, or two clerks at once,
makes one. The elder's subsidy for the visit goes back to the ledger of its year (or is
recorded as expired if the year has turned: homecare.ledger.credit).

Which claim deducts it ("the provider's next claim"): the provider's earliest open claim
(submitted or reconciled; by month, then by id) when the recovery is made; if the
provider has none, the recovery waits, and the next claim created (uploaded or
generated with lines) or reconciled takes every recovery waiting. Once a claim is
approved, the recoveries it carries are fixed: `recovered_total` on the claim, deducted
from what it pays (`Claim.payable`, which goes below zero when the recoveries exceed
the month's approved money: the provider owes the difference).
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from eldercare import audit
from eldercare.database import from_fen, rowcount, stored
from eldercare.extensions import db
from eldercare.models import Person, User

from ..models import Enrolment, Visit
from .models import (
    CallbackSample,
    Claim,
    ClaimLine,
    ClaimStatus,
    Recovery,
    RecoveryLedger,
)

PAID_OUT = (ClaimStatus.APPROVED, ClaimStatus.PAID)
OPEN = (ClaimStatus.SUBMITTED, ClaimStatus.RECONCILED)


def approved_for(claim_id: int, visit_id: int) -> Decimal:
    """What the claim approved for the visit, over all its lines."""
    return from_fen(
        db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(stored(ClaimLine.approved_amount)), 0)).where(
                ClaimLine.claim_id == claim_id, ClaimLine.visit_id == visit_id
            )
        )
    )


def create(
    sample: CallbackSample, ledger_outcome: str | None, user: User | None
) -> Recovery | None:
    """The recovery of `sample`'s visit if its claim is approved or paid and approved
    money for it; None otherwise (a claim still open rejects the visit's lines instead).
    Idempotent: an existing recovery of the visit and claim is returned as it is, and
    UNIQUE(visit_id, from_claim_id) refuses a concurrent twin at the flush. Hands it to
    the provider's open claim, if there is one (take). Changes: a `recoveries` row
    (audited as an ORM change), perhaps a claim's recovered_total."""
    claim = db.session.get(Claim, sample.claim_id)
    if claim is None or claim.status not in PAID_OUT:
        return None
    existing = db.session.scalar(
        sa.select(Recovery).where(
            Recovery.visit_id == sample.visit_id, Recovery.from_claim_id == claim.id
        )
    )
    if existing is not None:
        return existing
    amount = approved_for(claim.id, sample.visit_id)
    if amount <= 0:
        return None
    recovery = Recovery(
        visit_id=sample.visit_id,
        from_claim_id=claim.id,
        provider_id=claim.provider_id,
        amount=amount,
        sample_id=sample.id,
        ledger=RecoveryLedger(ledger_outcome or RecoveryLedger.NONE),
        created_by_id=user.id if user else None,
    )
    db.session.add(recovery)
    db.session.flush()
    target = db.session.scalar(
        sa.select(Claim)
        .where(Claim.provider_id == claim.provider_id, Claim.status.in_(OPEN), Claim.line_count > 0)
        .order_by(Claim.month, Claim.id)
        .limit(1)
    )
    if target is not None:
        take(target)
    return recovery


def take(claim: Claim) -> int:
    """Deduct from `claim` every recovery of its provider still waiting; returns how many
    it took. Only an open claim takes: the claim's row is touched first by an update
    conditional on its status (and so locked on PostgreSQL), so an approval at the same
    moment either waits and approves the new total, or wins and this takes nothing; a
    waiting recovery is claimed by `taken_by_claim_id IS NULL`, which exactly one claim
    can change. Changes: recoveries' taken_by_claim_id, the claim's recovered_total."""
    held = db.session.execute(
        sa.update(Claim)
        .where(Claim.id == claim.id, Claim.status.in_(OPEN))
        .values(recovered_total=Claim.recovered_total)
        .execution_options(synchronize_session=False)
    )
    if rowcount(held) != 1:
        return 0
    taken = rowcount(
        db.session.execute(
            sa.update(Recovery)
            .where(
                Recovery.provider_id == claim.provider_id,
                Recovery.taken_by_claim_id.is_(None),
                Recovery.from_claim_id != claim.id,
            )
            .values(taken_by_claim_id=claim.id)
            .execution_options(synchronize_session=False)
        )
    )
    if taken:
        total = db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(stored(Recovery.amount)), 0)).where(
                Recovery.taken_by_claim_id == claim.id
            )
        )
        db.session.execute(
            sa.update(Claim)
            .where(Claim.id == claim.id)
            .values(recovered_total=from_fen(total))
            .execution_options(synchronize_session=False)
        )
        audit.record(
            "recoveries_taken",
            "claims",
            claim.id,
            {"recoveries": taken, "recovered": str(from_fen(total))},
        )
    db.session.refresh(claim)
    return taken


def of_claim(claim: Claim) -> list[dict]:
    """The recoveries `claim` deducts, with the elder and the month of the claim that
    paid them, in one query."""
    paid = aliased(Claim)
    rows = db.session.execute(
        sa.select(Recovery, paid.month, Person.name)
        .join(paid, paid.id == Recovery.from_claim_id)
        .join(Visit, Visit.id == Recovery.visit_id)
        .join(Enrolment, Enrolment.id == Visit.enrolment_id)
        .join(Person, Person.id == Enrolment.person_id)
        .where(Recovery.taken_by_claim_id == claim.id)
        .order_by(Recovery.id)
    ).all()
    return [
        {
            "visit_id": r.visit_id,
            "amount": r.amount,
            "from_claim_id": r.from_claim_id,
            "from_month": month,
            "name": name,
            "ledger": r.ledger.value,
            "created_at": r.created_at,
        }
        for r, month, name in rows
    ]
