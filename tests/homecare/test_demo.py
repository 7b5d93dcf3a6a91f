"""The demo's home care (steps 40-43): 11,000 elders with 300.00 each, a year of visits
paid from their ledgers through homecare/ledger.py, so that every balance is the sum of
its ledger and the overview, the dashboard and the visits tell the same story."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from eldercare.audit_chain import verify_chain
from eldercare.database import from_fen, stored
from eldercare.demo import load_demo
from eldercare.extensions import db
from eldercare.models import Alert, User
from eldercare.timeutil import local_today
from homecare import tallies
from homecare.models import Enrolment, EntryKind, LedgerEntry, Visit
from tests import factories


def test_the_demo_ledgers_add_up_and_every_figure_agrees(client):
    load_demo(scale=1, seed=2026, echo=lambda _m: None)
    admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
    o = client.get("/api/v1/stats/overview", headers=factories.headers(admin)).json["homecare"]
    # 11,000 enrolled today: three withdrew and three were enrolled late in their places
    # (900.00 more allocated), four changed provider (their balance moved, counted once)
    assert (o["enrolled"], o["allocated"], o["subsidy_per_person"]) == (
        11000,
        "3300900.00",
        "300.00",
    )
    # every balance is its ledger's sum, and none below zero
    per_ledger = (
        sa.select(
            LedgerEntry.enrolment_id.label("eid"),
            sa.func.sum(stored(LedgerEntry.amount)).label("total"),
        )
        .group_by(LedgerEntry.enrolment_id)
        .subquery()
    )
    wrong = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Enrolment)
        .join(per_ledger, per_ledger.c.eid == Enrolment.id)
        .where(stored(Enrolment.balance) != per_ledger.c.total)
    )
    assert wrong == 0
    assert db.session.scalar(sa.select(sa.func.min(stored(Enrolment.balance)))) >= 0
    # what the visits drew is what the ledgers were debited, less the call-backs' reversals
    subsidised = from_fen(db.session.scalar(sa.select(sa.func.sum(stored(Visit.subsidised)))))
    debited, reversed_ = (
        from_fen(
            db.session.scalar(
                sa.select(sa.func.sum(stored(LedgerEntry.amount))).where(LedgerEntry.kind == kind)
            )
        )
        for kind in (EntryKind.VISIT_DEBIT, EntryKind.REVERSAL)
    )
    assert -debited == subsidised > Decimal("1000000.00")
    assert Decimal(o["spent"]) == subsidised - reversed_
    dash = client.get("/api/v1/homecare/figures", headers=factories.headers(admin)).json
    assert sum(Decimal(p["used"]) for p in dash["providers"]) == Decimal(o["spent"])
    assert sum(Decimal(p["allocated"]) for p in dash["providers"]) == Decimal(o["allocated"])
    assert sum(m["visits"] for m in dash["months"]) == o["visits"]
    # the day tallies behind those figures (rebuilt at once after the bulk loads on
    # SQLite, kept by statement triggers over COPY on PostgreSQL) are a recount's figures,
    # and the demo's audit entries form whole chains
    assert tallies.recount() == {"ledger_days": 0, "visit_days": 0}
    checked, broken = verify_chain()
    assert checked > 0 and broken is None

    _shows_the_lifecycle_and_low_balance_alerts()


def _shows_the_lifecycle_and_low_balance_alerts() -> None:
    """Issue 17.4 and 17.8 in the demo: withdrawals, changes of provider, enrolments typed
    in late, and the day's low-balance alerts for the bureau and each provider."""
    ended = dict(
        db.session.execute(
            sa.select(Enrolment.end_reason, sa.func.count(Enrolment.id))
            .where(Enrolment.status == "ended")
            .group_by(Enrolment.end_reason)
        ).all()
    )
    assert ended.get("withdrawn") == 3 and ended.get("transferred") == 4
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Enrolment.id)).where(
                Enrolment.transferred_from_id.is_not(None), Enrolment.status == "active"
            )
        )
        == 4
    )
    today = local_today()
    late = db.session.scalar(
        sa.select(sa.func.count(Enrolment.id)).where(
            Enrolment.transferred_from_id.is_(None), Enrolment.enrolled_on > date(today.year, 1, 1)
        )
    )
    assert late == (3 if today > date(today.year, 1, 1) else 0)
    low = db.session.scalars(sa.select(Alert).where(Alert.kind == "balance_low")).all()
    assert {a.role for a in low} == {"admin", "provider"}
    assert len({a.provider_id for a in low if a.role == "provider"}) == 4
