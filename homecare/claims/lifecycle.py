"""A claim's life before reconciliation (issue 17.5): a draft made by the draft-claims
job is reviewed and submitted by its provider; a draft or submitted claim may be
withdrawn by its provider or the bureau, which gives its visits back (claimed.release)
and frees its month for a new claim. Each step is services._move's conditional status
change (two at once: one wins, the other 409), audited. Flush only.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare import audit
from eldercare.database import rowcount, utcnow
from eldercare.errors import Invalid
from eldercare.extensions import db
from eldercare.models import User

from . import claimed, recoveries
from .models import Claim, ClaimStatus, Recovery
from .services import _move

BEFORE_RECONCILIATION = (ClaimStatus.DRAFT, ClaimStatus.SUBMITTED)


def submit(claim: Claim, user: User) -> Claim:
    """Submit a draft: from now on the bureau reconciles it; it takes the provider's
    waiting recoveries. Conflict when it is not a draft (or another click won)."""
    _move(
        claim,
        ClaimStatus.SUBMITTED,
        (ClaimStatus.DRAFT,),
        user,
        submitted_by_id=user.id,
        submitted_at=utcnow(),
    )
    if claim.line_count:
        recoveries.take(claim)
    return claim


def withdraw(claim: Claim, user: User, reason: str = "") -> Claim:
    """Withdraw a draft or submitted claim: its visits may be claimed again, its month
    has room for a new main claim, and the recoveries it had taken wait for the next
    claim. Conflict once reconciled (or when another click won)."""
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise Invalid(_l("理由太长"), fields={"reason": _l("最多 500 字")})
    _move(
        claim,
        ClaimStatus.WITHDRAWN,
        BEFORE_RECONCILIATION,
        user,
        withdrawn_by_id=user.id,
        withdrawn_at=utcnow(),
        withdraw_reason=reason,
    )
    freed = claimed.release(claim)
    given_back = rowcount(
        db.session.execute(
            sa.update(Recovery)
            .where(Recovery.taken_by_claim_id == claim.id)
            .values(taken_by_claim_id=None)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.execute(
        sa.update(Claim)
        .where(Claim.id == claim.id)
        .values(recovered_total=0)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        "claim_visits_released",
        "claims",
        claim.id,
        {"visits": freed, "recoveries": given_back, "reason": reason},
    )
    db.session.refresh(claim)
    return claim
