"""Demo step 51 (issue 17.5): the claim lifecycle on last month's claims, which step 50
left submitted, so that no approved or paid figure moves. The first provider withdrew
its claim and the draft-claims job's draft waits for its review; the second provider's
last few visits were uploaded from a phone after its claim went in, and were claimed in
a supplementary claim (补报). Nothing of the older (reconciled, approved, paid) claims
is touched.
"""

from __future__ import annotations

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.timeutil import Month

from ..models import Provider
from . import lifecycle, services
from .demo import _users
from .models import Claim, ClaimedVisit, ClaimLine, ClaimStatus

LATE_VISITS = 3  # the second provider's visits claimed late, in a supplementary claim


def _late(claim: Claim) -> None:
    """Take the claim's last few visits out of it, as if they had not been logged yet
    when it was made, and claim them in a supplementary claim."""
    late = list(
        db.session.scalars(
            sa.select(ClaimLine.visit_id)
            .where(
                ClaimLine.claim_id == claim.id,
                ClaimLine.visit_id.in_(
                    sa.select(ClaimedVisit.visit_id).where(ClaimedVisit.claim_id == claim.id)
                ),
            )
            .group_by(ClaimLine.visit_id)
            .order_by(ClaimLine.visit_id.desc())
            .limit(LATE_VISITS)
        )
    )
    if not late:
        return
    db.session.execute(
        sa.delete(ClaimLine).where(ClaimLine.claim_id == claim.id, ClaimLine.visit_id.in_(late))
    )
    db.session.execute(sa.delete(ClaimedVisit).where(ClaimedVisit.visit_id.in_(late)))
    services.finish_submission(claim)
    _, bosses = _users()
    services.generate(
        db.session.get_one(Provider, claim.provider_id), claim.month, bosses.get(claim.provider_id)
    )


def lifecycle_step(ctx) -> None:
    """Step 51: a withdrawn claim, a draft and a supplementary claim (see the module)."""
    if ctx.today.month == 1:
        ctx.notes.append("claim lifecycle: no past month this year")
        return
    last = Month(ctx.today.year, ctx.today.month - 1).text
    submitted = db.session.scalars(
        sa.select(Claim)
        .where(
            Claim.month == last,
            Claim.status == ClaimStatus.SUBMITTED,
            Claim.supplementary.is_(False),
        )
        .order_by(Claim.provider_id)
        .limit(2)
    ).all()
    if len(submitted) < 2:
        ctx.notes.append("claim lifecycle: too few claims last month")
        return
    first, second = submitted
    clerk, bosses = _users()
    who = bosses.get(first.provider_id) or clerk
    if who is None:
        ctx.notes.append("claim lifecycle: nobody to withdraw a claim")
        return
    lifecycle.withdraw(first, who, "上传的文件有误，撤回后按服务记录重新生成")
    draft = services.generate(first.provider, last, None, status=ClaimStatus.DRAFT)
    _late(second)
    ctx.notes.append(
        f"claim lifecycle: {last} withdrawn #{first.id}, draft #{draft.id}, "
        f"supplementary for provider {second.provider_id}"
    )
