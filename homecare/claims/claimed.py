"""Which claim a visit is claimed by (issue 17.5): the claimed_visits table, whose primary
key is the visit, so that a visit is claimed once whatever the number of claims for its
month. A new claim is the month's main claim, or a supplementary one (补报) when the
month has one already; its lines register their visits with INSERT ... ON CONFLICT DO
NOTHING, so that of two claims naming the same visit at once exactly one gets it (on
PostgreSQL the second waits for the first to commit), and the other's line is rejected
as `duplicate_line` when reconciled. A withdrawn claim gives its visits back.

services.py calls this module; it imports nothing of the claim's steps. Flush only.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from eldercare.database import is_postgres, rowcount, table_of, utcnow, violated_constraint
from eldercare.errors import Conflict
from eldercare.extensions import db
from eldercare.models import User
from eldercare.timeutil import Month

from ..models import Provider, Visit
from .models import Claim, ClaimedVisit, ClaimLine, ClaimSource, ClaimStatus

MAIN_INDEX = "uq_claims_provider_month_main"


def has_claim(provider_id: int, month: str) -> bool:
    """Whether the provider-month has a claim not withdrawn (a draft counts)."""
    return (
        db.session.scalar(
            sa.select(Claim.id)
            .where(
                Claim.provider_id == provider_id,
                Claim.month == month,
                Claim.status != ClaimStatus.WITHDRAWN,
            )
            .limit(1)
        )
        is not None
    )


def _insert(claim: Claim) -> bool:
    """Add the claim under a savepoint; False when the main-claim index refused it (a
    main claim for the month went in at the same moment)."""
    try:
        with db.session.begin_nested():
            db.session.add(claim)
            db.session.flush()
    except sa.exc.IntegrityError as exc:
        if violated_constraint(exc, table_of(Claim)) != MAIN_INDEX:
            raise
        return False
    return True


def new_claim(
    provider: Provider,
    month: Month,
    source: ClaimSource,
    user: User | None,
    filename: str = "",
    status: ClaimStatus = ClaimStatus.SUBMITTED,
) -> Claim:
    """A new claim for the provider-month: the main one, or supplementary when the month
    has a claim not withdrawn. Two main claims at once: the partial unique index refuses
    the second, which goes in as supplementary."""
    fields = {
        "provider_id": provider.id,
        "month": month.text,
        "status": status,
        "source": source,
        "filename": filename[:200],
        "submitted_by_id": user.id if user else None,
        "submitted_at": utcnow(),
    }
    supplementary = has_claim(provider.id, month.text)
    claim = Claim(supplementary=supplementary, **fields)
    if not _insert(claim):
        claim = Claim(supplementary=True, **fields)
        db.session.add(claim)
        db.session.flush()
    return claim


def unclaimed(visit_id) -> sa.ColumnElement[bool]:
    """No claim not withdrawn claims the visit."""
    return sa.not_(sa.exists().where(ClaimedVisit.visit_id == visit_id))


def register(claim: Claim) -> int:
    """Claim for `claim` the visits its lines name that are the provider's own and of the
    claim's month and that no other claim holds (others are left to reconciliation:
    no_visit, outside_month, duplicate_line). Returns how many it got."""
    month = Month.parse(claim.month)
    select = (
        sa.select(Visit.id, sa.literal(claim.id))
        .distinct()
        .join(ClaimLine, ClaimLine.visit_id == Visit.id)
        .where(
            ClaimLine.claim_id == claim.id,
            Visit.provider_id == claim.provider_id,
            Visit.check_in_at >= month.start_utc,
            Visit.check_in_at < month.end_utc,
        )
        .order_by(Visit.id)
    )  # the same order in every claim: no deadlock
    dialect = postgresql if is_postgres() else sqlite
    stmt = dialect.insert(ClaimedVisit).from_select(["visit_id", "claim_id"], select)
    return rowcount(db.session.execute(stmt.on_conflict_do_nothing(index_elements=["visit_id"])))


def release(claim: Claim) -> int:
    """Give back the visits `claim` holds (it is withdrawn)."""
    return rowcount(
        db.session.execute(
            sa.delete(ClaimedVisit)
            .where(ClaimedVisit.claim_id == claim.id)
            .execution_options(synchronize_session=False)
        )
    )


def nothing_to_claim(provider: Provider, month: Month) -> Conflict:
    return Conflict(
        _l(
            "%(name)s %(text)s 的服务记录都已申报，没有可补报的",
            name=provider.name,
            text=month.text,
        ),
        code="claim_exists",
    )
