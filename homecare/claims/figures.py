"""What claims add to the overview (GET /api/v1/stats/overview) and the dashboard: the
year's claimed, approved and paid money, and the work waiting for the bureau."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from eldercare.database import from_fen, stored
from eldercare.extensions import db
from eldercare.timeutil import local_today

from .models import LIVE_STATUSES, CallbackSample, Claim, ClaimStatus


def _money_by_status(year: int) -> dict:
    rows = db.session.execute(
        sa.select(
            Claim.status,
            sa.func.count(Claim.id),
            sa.func.sum(stored(Claim.claimed_total)),
            sa.func.sum(stored(Claim.approved_total)),
        )
        .where(Claim.month.startswith(f"{year}-"))
        .group_by(Claim.status)
    ).all()
    return {ClaimStatus(s).value: (n, c, a) for s, n, c, a in rows}


def overview(day: date) -> dict:
    """Claims of `day`'s year: counts by status, money claimed, approved and paid."""
    by = _money_by_status(day.year)
    decided = ("approved", "paid")
    live = [s.value for s in LIVE_STATUSES]  # not drafts, not withdrawn claims
    return {
        "claims": {
            "year": day.year,
            "by_status": {s.value: by.get(s.value, (0, 0, 0))[0] for s in ClaimStatus},
            "claimed": from_fen(sum(int(v[1] or 0) for s, v in by.items() if s in live)),
            "approved": from_fen(sum(int(by[s][2] or 0) for s in decided if s in by)),
            "paid": from_fen(int(by["paid"][2] or 0) if "paid" in by else 0),
            "callbacks_pending": db.session.scalar(
                sa.select(sa.func.count(CallbackSample.id)).where(CallbackSample.outcome.is_(None))
            )
            or 0,
        }
    }


def dashboard_panel() -> dict:
    from flask_login import current_user

    from .scoping import claim_scope

    if getattr(current_user, "role", None) not in ("admin", "auditor"):
        return {"claims_hidden": True}
    counts = dict(
        db.session.execute(
            sa.select(Claim.status, sa.func.count(Claim.id))
            .where(claim_scope(current_user))
            .group_by(Claim.status)
        ).all()
    )
    figures = overview(local_today())["claims"]
    return {
        "claims_to_reconcile": counts.get(ClaimStatus.SUBMITTED, 0),
        "claims_to_approve": counts.get(ClaimStatus.RECONCILED, 0),
        "claims_to_pay": counts.get(ClaimStatus.APPROVED, 0),
        "claims_callbacks": figures["callbacks_pending"],
        "claims_paid": figures["paid"],
    }
