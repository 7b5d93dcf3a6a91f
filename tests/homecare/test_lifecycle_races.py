"""Two transfers (or a transfer and a withdrawal) of one enrolment at once, on real
server processes: one wins, the rest are refused, and the balance is moved once: the
elder's balances add up to what the ledgers say, with one active enrolment."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.timeutil import local_today
from homecare.models import Enrolment, LedgerEntry
from tests import factories as f

from .conftest import now, visit
from .test_races import fire


@pytest.mark.race
@pytest.mark.parametrize("round_", range(2))  # a race is run more than once
def test_one_of_concurrent_transfers_and_withdrawals_wins(client, world, live_servers, round_):
    spent = visit(
        client,
        world.worker,
        world.qr,
        now() - timedelta(days=1, hours=3),
        65,
        [{"code": "clean", "quantity": 1}],
    )
    assert spent.json["subsidised"] == "40.00"
    clerks = [f.user("admin") for _ in range(8)]
    today = local_today().isoformat()
    calls = []
    for i, clerk in enumerate(clerks):
        base = f"{live_servers[i % 2].url}/api/v1/homecare/enrolments/{world.enrolment.id}"
        if i % 4 == 3:
            calls.append(
                (f"{base}/withdraw", {"date": today, "reason": "并发退出"}, f.headers(clerk))
            )
        else:
            calls.append(
                (
                    f"{base}/transfer",
                    {"provider_id": world.other.id, "date": today},
                    f.headers(clerk),
                )
            )
    answers = fire(calls)
    codes = sorted(code for code, _ in answers)
    assert codes.count(201) + codes.count(200) == 1, answers
    assert all(c == 409 for c in codes if c not in (200, 201)), answers
    db.session.expire_all()
    rows = db.session.scalars(
        sa.select(Enrolment).where(Enrolment.person_id == world.person.id)
    ).all()
    assert sum(1 for e in rows if e.status == "active") <= 1
    total = Decimal("0.00")
    for e in rows:
        ledger_sum = sum(
            db.session.scalars(
                sa.select(LedgerEntry.amount).where(LedgerEntry.enrolment_id == e.id)
            ),
            Decimal("0.00"),
        )
        assert e.balance == ledger_sum
        total += e.balance
    assert total == Decimal("260.00")
    assert db.session.scalar(
        sa.select(sa.func.count(LedgerEntry.id)).where(LedgerEntry.kind == "transfer_out")
    ) == (1 if 201 in codes else 0)
