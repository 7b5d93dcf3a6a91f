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
from homecare.claims.models import CallbackSample, Claim, ClaimLine, reasons_of
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
            v = hv.check_in(month.worker if i % 2 else month.worker2,
                            elders[i], start)
            hv.check_out(v, start + timedelta(minutes=65),
                         [(codes[i % 4][0], Decimal(codes[i % 4][1]))])
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
    assert {"amount_mismatch", "duplicate_line", "id_mismatch", "outside_month",
            "no_visit"} <= found
    assert db.session.query(CallbackSample).filter(CallbackSample.outcome.is_not(None)).count()
    assert "claims:" in ctx.notes[0]
