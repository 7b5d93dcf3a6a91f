"""The claims demo step: every status, planted mistakes found by reconciliation."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from eldercare.extensions import db
from eldercare.timeutil import LOCAL, local_today
from homecare import visits as hv
from homecare.claims import demo
from homecare.claims.models import CallbackSample, Claim, ClaimedVisit, ClaimLine, reasons_of
from tests import factories as f

from ..conftest import elder, enrol


def test_demo_claims_in_every_status_with_exceptions(app, month):
    today = local_today()
    if today.month < 6:
        pytest.skip("needs four past months in the year")
    f.user("admin", username="clerk1")
    codes = [("clean", 1), ("meal", 1), ("care", 1), ("haircut", 1)]
    elders = [enrol(elder(f"老人{i}"), month.provider) for i in range(24)]
    for back in (1, 2, 3, 4, 5):
        m = today.month - back
        for i in range(24):
            start = datetime(today.year, m, 1 + i, 8 + (i % 3) * 3, tzinfo=LOCAL).astimezone(UTC)
            v = hv.check_in(month.worker if i % 2 else month.worker2, elders[i], start)
            hv.check_out(
                v, start + timedelta(minutes=65), [(codes[i % 4][0], Decimal(codes[i % 4][1]))]
            )
    db.session.commit()
    ctx = SimpleNamespace(today=today, rng=random.Random(2026), notes=[])
    demo.claims(ctx)
    db.session.commit()
    statuses = {c.month: c.status.value for c in db.session.query(Claim)}
    assert sorted(statuses.values()) == ["approved", "paid", "paid", "reconciled", "submitted"]
    assert statuses[f"{today.year}-{today.month - 1:02d}"] == "submitted"
    found = set()
    for x in db.session.query(ClaimLine).filter(ClaimLine.reason_bits != 0):
        found.update(reasons_of(x.reason_bits))
    assert {
        "amount_mismatch",
        "duplicate_line",
        "id_mismatch",
        "outside_month",
        "no_visit",
    } <= found
    assert db.session.query(CallbackSample).filter(CallbackSample.outcome.is_not(None)).count()
    assert "claims:" in ctx.notes[0]


def test_demo_lifecycle_leaves_a_draft_a_withdrawn_and_a_supplementary_claim(app, month):
    """Step 51 works on last month's submitted claims only: the approved and paid money
    of step 50 does not move."""
    from homecare.claims.demo_lifecycle import lifecycle_step
    from homecare.claims.figures import overview

    today = local_today()
    if today.month < 3:
        pytest.skip("needs two past months in the year")
    f.user("admin", username="clerk1")
    other_worker = f.user("worker", provider_id=month.other.id)
    setups = [(month.provider, month.worker, "510704001"), (month.other, other_worker, "510704003")]
    for k, (provider, worker, township) in enumerate(setups):
        elders = [enrol(elder(f"老人{k}{i}", township), provider) for i in range(8)]
        for back in (1, 2):
            for i in range(8):
                start = datetime(today.year, today.month - back, 1 + i, 9, tzinfo=LOCAL).astimezone(
                    UTC
                )
                v = hv.check_in(worker, elders[i], start)
                hv.check_out(v, start + timedelta(minutes=65), [("clean", Decimal(1))])
    db.session.commit()
    ctx = SimpleNamespace(today=today, rng=random.Random(2026), notes=[])
    demo.claims(ctx)
    db.session.commit()
    before = overview(today)["claims"]
    lifecycle_step(ctx)
    db.session.commit()
    after = overview(today)["claims"]
    assert (after["approved"], after["paid"]) == (before["approved"], before["paid"])
    last = f"{today.year}-{today.month - 1:02d}"
    claims = db.session.query(Claim).filter_by(month=last).order_by(Claim.id).all()
    assert sorted((c.status.value, c.supplementary) for c in claims) == [
        ("draft", False),
        ("submitted", False),
        ("submitted", True),
        ("withdrawn", False),
    ]
    extra = next(c for c in claims if c.supplementary)
    assert extra.line_count == 3
    # each of the month's 16 visits is claimed once, by a claim not withdrawn
    held = db.session.query(ClaimedVisit).join(Claim).filter(Claim.month == last).all()
    assert len(held) == 16 and all(c.claim.status.value != "withdrawn" for c in held)
