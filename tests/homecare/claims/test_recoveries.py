"""Money comes back (issue 14.6): a visit that a call-back finds not delivered after its
claim was approved or paid is recovered (扣回) from the provider's next claim, shown on
that claim and its statement (Excel and PDF, read back), deducted from what it pays, and
given back to the elder's ledger of its year, or recorded as expired once the year has
turned. Once per visit and claim, and audited.

The claims here are of last year, whose months are all in the past whatever today is;
"the year has not turned yet" is December 31st of that year for the ledger."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy.exc import IntegrityError

from eldercare.extensions import db
from eldercare.models import AuditEntry
from eldercare.timeutil import LOCAL
from homecare import ledger, newyear
from homecare.claims import recoveries
from homecare.claims.models import CallbackSample, Claim, Recovery
from homecare.models import Enrolment, LedgerEntry
from tests import factories as f

from .conftest import COLUMNS, Y0, LastYear


@pytest.fixture
def december(monkeypatch):
    """The call-backs are recorded on 31 December of the claims' year."""
    monkeypatch.setattr(ledger, "local_today", lambda: date(Y0, 12, 31))


def _csv(visits_and_amounts) -> bytes:
    out = [",".join(COLUMNS)]
    for n, (v, qty, amount) in enumerate(visits_and_amounts, start=1):
        day = v.check_in_at.astimezone(LOCAL).date().isoformat()
        out.append(f"{n},{v.id},{v.enrolment.person.id_number},{day},clean,{qty},{amount}")
    return ("\n".join(out) + "\n").encode()


def _claim(client, w: LastYear, month: int, rows) -> int:
    r = client.post(
        "/api/v1/homecare/claims",
        headers=f.headers(w.boss),
        content_type="multipart/form-data",
        data={
            "provider_id": str(w.provider.id),
            "month": f"{Y0}-{month:02d}",
            "file": (io.BytesIO(_csv(rows)), "claim.csv"),
        },
    )
    assert r.status_code == 201, r.json
    return r.json["id"]


def _paid(client, w: LastYear, month: int, rows) -> int:
    """A claim reconciled, approved before its call-backs (with a reason) and paid."""
    cid = _claim(client, w, month, rows)
    h = f.headers(w.admin)
    assert client.post(f"/api/v1/homecare/claims/{cid}/reconcile", headers=h).status_code == 200
    r = client.post(
        f"/api/v1/homecare/claims/{cid}/approve",
        headers=h,
        json={"override_reason": "年底集中结算，回访随后补做"},
    )
    assert r.status_code == 200, r.json
    assert client.post(f"/api/v1/homecare/claims/{cid}/pay", headers=h).status_code == 200
    return cid


def _not_delivered(client, w: LastYear, visit):
    sample = db.session.query(CallbackSample).filter_by(visit_id=visit.id).one()
    return client.post(
        f"/api/v1/homecare/callbacks/{sample.id}",
        headers=f.headers(w.admin),
        json={"outcome": "not_delivered", "note": "老人说当天没人来"},
    )


def _balance(enrolment_id: int) -> Decimal:
    db.session.expire_all()
    return db.session.get(Enrolment, enrolment_id).balance


def _statement(client, user, cid):
    xlsx = client.get(f"/api/v1/homecare/claims/{cid}/statement.xlsx", headers=f.headers(user))
    wb = load_workbook(io.BytesIO(xlsx.data))
    summary = dict(r[:2] for r in wb["结算汇总"].iter_rows(values_only=True) if r and r[0])
    rows = list(wb["扣回"].iter_rows(values_only=True))[1:]
    pdf = client.get(f"/api/v1/homecare/claims/{cid}/statement.pdf", headers=f.headers(user))
    text = " ".join(
        " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.data)).pages
    )
    return summary, rows, text


def test_a_recovery_after_payment_is_deducted_from_the_next_claim_and_its_statement(
    client, last_year, december
):
    w = last_year
    v, u = w.visit(0, 3, 3), w.visit(1, 3, 4)
    a = _paid(client, w, 3, [(v, 1, "40.00"), (u, 1, "40.00")])
    assert _balance(v.enrolment_id) == Decimal("260.00")
    r = _not_delivered(client, w, v)
    assert r.status_code == 200, r.json
    # the elder's subsidy for the visit is back in the ledger of its year
    assert _balance(v.enrolment_id) == Decimal("300.00")
    entry = db.session.query(LedgerEntry).filter_by(visit_id=v.id, kind="reversal").one()
    assert entry.amount == Decimal("40.00")
    assert not db.session.query(LedgerEntry).filter_by(visit_id=v.id, kind="expiry").count()
    rec = db.session.query(Recovery).one()
    assert (rec.amount, rec.from_claim_id, rec.taken_by_claim_id, rec.ledger.value) == (
        Decimal("40.00"),
        a,
        None,
        "reversed",
    )  # no open claim yet: it waits
    assert db.session.query(AuditEntry).filter_by(entity="recoveries").count() == 1
    # the paid claim itself is as it was paid
    paid = client.get(f"/api/v1/homecare/claims/{a}", headers=f.headers(w.admin)).json
    assert paid["recoveries"] == [] and paid["totals"]["approved"] == "80.00"
    assert paid["totals"]["recovered"] == "0.00" and paid["totals"]["payable"] == "80.00"

    # the provider's next claim takes it
    x = w.visit(1, 4, 2, qty=2)
    b = _claim(client, w, 4, [(x, 2, "80.00")])
    nxt = client.get(f"/api/v1/homecare/claims/{b}", headers=f.headers(w.boss)).json
    assert [
        {k: r[k] for k in ("visit_id", "amount", "from_claim_id")} for r in nxt["recoveries"]
    ] == [{"visit_id": v.id, "amount": "40.00", "from_claim_id": a}]
    assert nxt["totals"]["recovered"] == "40.00"
    assert (
        client.post(
            f"/api/v1/homecare/claims/{b}/reconcile", headers=f.headers(w.admin)
        ).status_code
        == 200
    )
    nxt = client.get(f"/api/v1/homecare/claims/{b}", headers=f.headers(w.admin)).json
    assert nxt["totals"]["approved"] == "80.00"
    assert nxt["totals"]["recovered"] == "40.00" and nxt["totals"]["payable"] == "40.00"
    assert len(nxt["recoveries"]) == 1  # reconciling again takes nothing twice
    listed = client.get("/api/v1/homecare/claims", headers=f.headers(w.boss)).json["items"]
    assert {c["id"]: c["totals"]["payable"] for c in listed} == {a: "80.00", b: "40.00"}

    summary, rows, text = _statement(client, w.boss, b)
    assert summary["民政局核定金额（元）"] == 80 and summary["扣回金额（元）"] == 40
    assert summary["应付金额（元）"] == 40
    assert rows[0] == (v.id, "李秀英", f"{Y0}-03", a, 40, "已退回老人补贴账户")
    assert rows[-1][0] == "合计" and rows[-1][4] == 40
    assert "扣回金额（元） 40.00" in text and "应付金额（元） 40.00" in text
    assert f"{v.id} 李秀英 {Y0}-03 {a} 40.00 已退回老人补贴账户" in text

    f.login(client, w.boss)
    page = client.get(f"/homecare/claims/{b}").text
    assert 'data-testid="recoveries"' in page and f"#{v.id}" in page and "¥40.00" in page

    # recorded twice: refused, and nothing is recovered or given back again
    assert _not_delivered(client, w, v).status_code == 409
    assert db.session.query(Recovery).count() == 1
    assert _balance(v.enrolment_id) == Decimal("300.00")


def test_a_recovery_goes_to_the_claim_already_open(client, last_year, december):
    w = last_year
    v = w.visit(0, 3, 3)
    a = _paid(client, w, 3, [(v, 1, "40.00")])
    x = w.visit(1, 5, 2)
    b = _claim(client, w, 5, [(x, 1, "40.00")])  # submitted, not yet reconciled
    assert _not_delivered(client, w, v).status_code == 200
    nxt = client.get(f"/api/v1/homecare/claims/{b}", headers=f.headers(w.admin)).json
    assert [(r["visit_id"], r["from_claim_id"]) for r in nxt["recoveries"]] == [(v.id, a)]
    # a claim created later finds nothing waiting
    y = w.visit(1, 6, 2)
    c = _claim(client, w, 6, [(y, 1, "40.00")])
    assert (
        client.get(f"/api/v1/homecare/claims/{c}", headers=f.headers(w.admin)).json["recoveries"]
        == []
    )


def test_an_approved_claim_takes_no_recovery(client, last_year, december):
    w = last_year
    v, x = w.visit(0, 3, 3), w.visit(1, 4, 2)
    a = _paid(client, w, 3, [(v, 1, "40.00")])
    b = _paid(client, w, 4, [(x, 1, "40.00")])  # approved and paid before the call-back
    assert _not_delivered(client, w, v).status_code == 200
    for cid in (a, b):
        got = client.get(f"/api/v1/homecare/claims/{cid}", headers=f.headers(w.admin)).json
        assert got["recoveries"] == [] and got["totals"]["recovered"] == "0.00"
    assert db.session.query(Recovery).one().taken_by_claim_id is None


def test_after_the_year_turned_the_recovery_is_recorded_as_expired(client, last_year):
    w = last_year
    v = w.visit(0, 3, 3)
    a = _paid(client, w, 3, [(v, 1, "40.00")])
    newyear.new_subsidy_year(str(Y0 + 1))  # 1 January: what was left of Y0 expired
    db.session.commit()
    old = v.enrolment_id
    assert _balance(old) == Decimal("0.00")
    new = db.session.scalar(
        sa.select(Enrolment.id).where(
            Enrolment.person_id == w.elders[0].id, Enrolment.year == Y0 + 1
        )
    )
    assert _not_delivered(client, w, v).status_code == 200
    assert _balance(old) == Decimal("0.00") and _balance(new) == Decimal("300.00")
    entries = {
        e.kind.value: e.amount
        for e in db.session.query(LedgerEntry).filter_by(enrolment_id=old, visit_id=v.id)
    }
    assert entries == {
        "visit_debit": Decimal("-40.00"),
        "reversal": Decimal("40.00"),
        "expiry": Decimal("-40.00"),
    }
    note = db.session.query(LedgerEntry).filter_by(visit_id=v.id, kind="expiry").one().note
    assert "作废" in note
    ledger_json = client.get(
        f"/api/v1/homecare/enrolments/{old}/ledger", headers=f.headers(w.admin)
    ).json
    assert ledger_json["balance"] == "0.00"
    rec = db.session.query(Recovery).one()
    assert rec.ledger.value == "expired" and rec.amount == Decimal("40.00")
    # the money still comes back from the provider on its next claim
    x = w.visit(1, 4, 2)
    b = _claim(client, w, 4, [(x, 1, "40.00")])
    _summary, rows, text = _statement(client, w.admin, b)
    assert rows[0][:5] == (v.id, "李秀英", f"{Y0}-03", a, 40)
    assert rows[0][5] == "已退回，因跨年度作废" and "已退回，因跨年度作废" in text


def test_the_unique_key_makes_one_recovery_per_visit_and_claim(client, last_year, december):
    w = last_year
    v = w.visit(0, 3, 3)
    a = _paid(client, w, 3, [(v, 1, "40.00")])
    assert _not_delivered(client, w, v).status_code == 200
    sample = db.session.query(CallbackSample).filter_by(visit_id=v.id).one()
    first = db.session.query(Recovery).one()
    assert recoveries.create(sample, "reversed", w.admin).id == first.id
    db.session.add(
        Recovery(
            visit_id=v.id,
            from_claim_id=a,
            provider_id=w.provider.id,
            amount=Decimal("40.00"),
            ledger="reversed",
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert db.session.query(Recovery).count() == 1
    assert ledger.credit(v.enrolment_id, v.id, Decimal("40.00"), "again") is None
    assert _balance(v.enrolment_id) == Decimal("300.00")


def test_a_provider_sees_the_recovery_only_after_the_outcome(client, last_year, december):
    w = last_year
    v = w.visit(0, 3, 3)
    a = _paid(client, w, 3, [(v, 1, "40.00")])
    boss = f.headers(w.boss)
    assert client.get(f"/api/v1/homecare/claims/{a}/callbacks", headers=boss).json["items"] == []
    _not_delivered(client, w, v)
    seen = client.get(f"/api/v1/homecare/claims/{a}/callbacks", headers=boss).json["items"]
    assert [(x["visit_id"], x["outcome"]) for x in seen] == [(v.id, "not_delivered")]
    assert "note" not in seen[0]
    assert db.session.get(Claim, a).status.value == "paid"
