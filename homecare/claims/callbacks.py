"""Telephone call-backs (回访): on a claim's first reconciliation a random sample of its
paid-for visits is marked for a call; the clerk records what the elder said.

The sample is driven by chance and by risk: a visit carrying an exception flag (or
logged by hand) weighs three times as much, one in a pattern across visits six times, and
a worker's visits more the more of them carry patterns (visit_weight); the provider's
rate grows with its
record — every call-back that found a visit not delivered, and a claim with many
exceptions. A visit found not delivered is reversed in the elder's ledger (a `reversal`
entry and the balance restored by a relative update, once: UNIQUE(enrolment, visit,
kind)), flagged `not_delivered`, and its lines rejected while the claim is still open;
once the claim is approved or paid, what it paid is recovered (recoveries.py).

The chance of each visit is an HMAC of the server's secret key: the same on every run (a
sample can be drawn again and checked), but a provider, who knows its own visit ids and
the claim's month, cannot work out which visits will be called and fake only the others.
"""

from __future__ import annotations

import hashlib
import hmac
import math

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from eldercare import audit
from eldercare.database import rowcount, utcnow
from eldercare.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.models import User

from .. import ledger
from ..models import Visit
from . import decisions, recoveries
from .models import (
    CallbackOutcome,
    CallbackReason,
    CallbackSample,
    Claim,
    ClaimLine,
    ClaimStatus,
    Decision,
)
from .scoping import callback_scope

BASE_RATE = 0.05  # 5% of a claim's visits
MIN_PER_CLAIM = 3  # at least this many per provider-month (all of them if fewer)
RATE_PER_NOT_DELIVERED = 0.005  # each "not delivered" found raises the provider's rate
HIGH_EXCEPTION_SHARE = 0.10  # a claim with more exceptions than this is riskier
RATE_FOR_EXCEPTIONS = 0.03
MAX_RATE = 0.25
RISK_WEIGHT = 3.0
PATTERN_WEIGHT = 6.0  # a visit in an impossible trip or scanned with other cards at one spot
WORKER_PATTERN_BOOST = 4.0  # × the share of the worker's visits in the claim with a pattern
PATTERN_CODES = ("impossible_travel", "same_place", "late_upload", "no_location")


def _chance(claim: Claim, visit_id: int) -> float:
    """A number in (0, 1] for the visit in this claim, fixed by the server's secret key."""
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    msg = f"callback:{claim.provider_id}:{claim.month}:{visit_id}".encode()
    digest = hmac.new(key, msg, hashlib.sha256).digest()
    return (int.from_bytes(digest[:8], "big") + 1) / 2**64


def provider_rate(provider_id: int, exception_share: float = 0.0) -> float:
    """The provider's sampling rate: the base, plus its not-delivered record, plus a
    claim with many exceptions; capped."""
    not_delivered = (
        db.session.scalar(
            sa.select(sa.func.count(CallbackSample.id)).where(
                CallbackSample.provider_id == provider_id,
                CallbackSample.outcome == CallbackOutcome.NOT_DELIVERED,
            )
        )
        or 0
    )
    rate = BASE_RATE + RATE_PER_NOT_DELIVERED * not_delivered
    if exception_share > HIGH_EXCEPTION_SHARE:
        rate += RATE_FOR_EXCEPTIONS
    return min(rate, MAX_RATE)


def _has_pattern(exceptions: str | None) -> bool:
    return any(f'"{c}"' in (exceptions or "") for c in PATTERN_CODES)


def _worker_pattern_shares(rows) -> dict[int, float]:
    """Per worker, the share of their visits in the claim that carry a pattern code."""
    counts: dict[int, list[int]] = {}
    for _vid, _manual, exceptions, worker_id in rows:
        c = counts.setdefault(worker_id, [0, 0])
        c[0] += 1
        c[1] += _has_pattern(exceptions)
    return {w: flagged / n for w, (n, flagged) in counts.items()}


def visit_weight(risky: bool, exceptions: str, worker_share: float) -> float:
    """How much more likely a visit is drawn than a clean one of a clean worker: 3 for a
    flagged or hand-logged visit, 6 for one in a pattern across visits (homecare/patterns.py,
    back-dated and no-location scans included); then × (1 + 4 × the share of its worker's
    visits in the claim that carry a pattern), so that a worker with flagged visits has
    their other visits called back more often too (a worker with half of them flagged: × 3)."""
    weight = PATTERN_WEIGHT if _has_pattern(exceptions) else RISK_WEIGHT if risky else 1.0
    return weight * (1.0 + WORKER_PATTERN_BOOST * worker_share)


def draw_sample(claim: Claim) -> list[dict]:
    """Mark visits of `claim` for a call-back, once per claim (a later reconciliation
    keeps the first sample). Repeatable, yet unpredictable without the secret key."""
    if db.session.scalar(
        sa.select(CallbackSample.id).where(CallbackSample.claim_id == claim.id).limit(1)
    ):
        return []
    paid = ClaimLine.decision.in_([Decision.APPROVED, Decision.ADJUSTED])
    rows = db.session.execute(
        sa.select(Visit.id, Visit.manual, sa.cast(Visit.exceptions, sa.String), Visit.worker_id)
        .join(ClaimLine, ClaimLine.visit_id == Visit.id)
        .where(ClaimLine.claim_id == claim.id, paid, Visit.provider_id == claim.provider_id)
        .distinct()
        .order_by(Visit.id)
    ).all()
    if not rows:
        return []
    total, flagged = db.session.execute(
        sa.select(
            sa.func.count(ClaimLine.id),
            sa.func.count(ClaimLine.id).filter(ClaimLine.reason_bits != 0),
        ).where(ClaimLine.claim_id == claim.id)
    ).one()
    rate = provider_rate(claim.provider_id, flagged / total if total else 0.0)
    n = min(len(rows), max(MIN_PER_CLAIM, math.ceil(rate * len(rows))))
    keyed = []
    shares = _worker_pattern_shares(rows)
    for vid, manual, exceptions, worker_id in rows:
        risky = manual or (exceptions not in (None, "", "[]", "null"))
        weight = visit_weight(risky, exceptions or "", shares[worker_id])
        # Efraimidis–Spirakis: weighted sampling without replacement in one pass.
        keyed.append((_chance(claim, vid) ** (1.0 / weight), vid, risky))
    keyed.sort(reverse=True)
    chosen = [
        {
            "visit_id": vid,
            "claim_id": claim.id,
            "provider_id": claim.provider_id,
            "reason": (CallbackReason.RISK if risky else CallbackReason.CHANCE),
            "outcome": None,
            "note": "",
            "created_at": utcnow(),
        }
        for _key, vid, risky in keyed[:n]
    ]
    db.session.execute(sa.insert(CallbackSample), chosen)
    audit.record(
        "callback_sample", "claims", claim.id, {"visits": len(chosen), "rate": f"{rate:.3f}"}
    )
    return chosen


def record_outcome(sample: CallbackSample, outcome: str, note: str, user: User) -> CallbackSample:
    """The clerk's record of a call-back. Once per sample (Conflict after: a conditional
    update on the sample, so two clerks at once record one). `not_delivered` gives the
    visit's subsidy back to the elder's ledger (ledger.credit: expired if the year has
    turned), flags the visit, and rejects its lines in a claim not yet approved, or
    recovers what an approved or paid claim paid for it (recoveries.create).
    Raises Invalid for an unknown outcome."""
    try:
        chosen = CallbackOutcome(outcome)
    except ValueError:
        raise Invalid(
            _l("回访结果须为 confirmed、not_delivered、unreachable 或 complaint"),
            fields={"outcome": _l("未知的结果")},
        ) from None
    note = (note or "").strip()[:500]
    done = db.session.execute(
        sa.update(CallbackSample)
        .where(CallbackSample.id == sample.id, CallbackSample.outcome.is_(None))
        .values(outcome=chosen, note=note, recorded_by_id=user.id, recorded_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if rowcount(done) != 1:
        raise Conflict(_l("该回访已记录结果"), code="already_recorded")
    audit.record(
        "callback_outcome",
        "callback_samples",
        sample.id,
        {"outcome": chosen.value, "note": note, "visit_id": sample.visit_id},
    )
    db.session.refresh(sample)
    if chosen == CallbackOutcome.NOT_DELIVERED:
        visit = sample.visit
        given_back = ledger.credit(
            visit.enrolment_id, visit.id, visit.subsidised, "回访确认未提供服务，退回补贴"
        )
        visit.flag("not_delivered")
        db.session.flush()
        _reject_lines(sample, user)
        recoveries.create(sample, given_back, user)
    return sample


def _reject_lines(sample: CallbackSample, user: User) -> None:
    claim = db.session.get(Claim, sample.claim_id)
    if claim is None or claim.status != ClaimStatus.RECONCILED:
        return
    line_nos = db.session.scalars(
        sa.select(ClaimLine.line_no).where(
            ClaimLine.claim_id == claim.id,
            ClaimLine.visit_id == sample.visit_id,
            ClaimLine.decision != Decision.REJECTED,
        )
    ).all()
    for n in line_nos:
        decisions.override(claim, n, Decision.REJECTED.value, "回访确认未提供服务", user)


def samples(
    claim: Claim, limit: int | None = None, user: User | None = None
) -> list[CallbackSample]:
    """The claim's call-back sample in the order drawn, the first `limit` of it if given;
    given a `user`, only the samples that user may know of (scoping.callback_scope: a
    provider none still to be called)."""
    stmt = samples_select(claim, user)
    return list(db.session.scalars(stmt if limit is None else stmt.limit(limit)))


def samples_select(claim: Claim, user: User | None = None) -> sa.Select:
    """The SELECT behind `samples` (for the API's pages)."""
    stmt = (
        sa.select(CallbackSample)
        .where(CallbackSample.claim_id == claim.id)
        .order_by(CallbackSample.id)
    )
    return stmt if user is None else stmt.where(callback_scope(user))


def sample_counts(claim: Claim) -> tuple[int, int]:
    """(visits drawn for a call-back, of them still to be called) for the claim (the
    bureau's figures: a provider is not told how many are pending)."""
    drawn, pending = db.session.execute(
        sa.select(
            sa.func.count(CallbackSample.id),
            sa.func.count(CallbackSample.id).filter(CallbackSample.outcome.is_(None)),
        ).where(CallbackSample.claim_id == claim.id)
    ).one()
    return drawn, pending
