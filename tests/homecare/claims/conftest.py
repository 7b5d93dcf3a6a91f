"""Claims fixtures: a provider's month of visits made through the visit services (so
that ledgers and flags are what scans would make), and helpers to claim them."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from eldercare.extensions import db
from eldercare.timeutil import LOCAL, local_today
from homecare import services
from homecare import visits as hv
from tests import factories as f

from ..conftest import elder, enrol, make_provider

COLUMNS = ["line_no", "visit_id", "id_number", "service_date", "service_code", "quantity", "amount"]


def claim_month() -> tuple[int, int]:
    """Last month (this year), or this month in January, so every visit is in the past."""
    today = local_today()
    return (today.year, today.month - 1) if today.month > 1 else (today.year, 1)


def month_text() -> str:
    y, m = claim_month()
    return f"{y}-{m:02d}"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    y, m = claim_month()
    return datetime(y, m, day, hour, minute, tzinfo=LOCAL).astimezone(UTC)


@dataclass
class Month:
    provider: object
    other: object
    boss: object
    other_boss: object
    admin: object
    auditor: object
    worker: object
    worker2: object
    elders: list = field(default_factory=list)
    enrolments: list = field(default_factory=list)

    def visit(self, i: int, day: int, hour: int, minutes: int, picked, worker=None):
        """A finished visit to elder i on `day` at `hour`, lasting `minutes`."""
        start = at(day, hour)
        v = hv.check_in(worker or self.worker, self.enrolments[i], start)
        hv.check_out(
            v, start + timedelta(minutes=minutes), [(c, Decimal(str(q))) for c, q in picked]
        )
        db.session.commit()
        return v

    def open_visit(self, i: int, day: int, hour: int, worker=None):
        v = hv.check_in(worker or self.worker, self.enrolments[i], at(day, hour))
        db.session.commit()
        return v


@pytest.fixture
def month(app) -> Month:
    provider = make_provider()
    other = make_provider("绵阳颐和居家养老服务有限公司", ("510704003",))
    m = Month(
        provider,
        other,
        boss=f.user("provider", provider_id=provider.id, username="kangle"),
        other_boss=f.user("provider", provider_id=other.id, username="yihe"),
        admin=f.user("admin", username="clerk"),
        auditor=f.user("auditor", username="shenji"),
        worker=f.user("worker", provider_id=provider.id, username="kangle_w1"),
        worker2=f.user("worker", provider_id=provider.id, username="kangle_w2"),
    )
    for name in ("李秀英", "王德福", "张桂兰", "刘长林"):
        p = elder(name)
        m.elders.append(p)
        m.enrolments.append(enrol(p, provider))
    return m


def line(
    no: int,
    visit=None,
    *,
    id_number=None,
    service_date=None,
    code="clean",
    qty="1",
    amount="40.00",
    person=None,
) -> dict:
    """A claim line; by default the visit's own elder and date."""
    if visit is not None and id_number is None:
        id_number = visit.enrolment.person.id_number
    if id_number is None and person is not None:
        id_number = person.id_number
    if service_date is None:
        service_date = (
            visit.check_in_at.astimezone(LOCAL).date()
            if visit is not None
            else date(*claim_month(), 1)
        )
    return {
        "line_no": no,
        "visit_id": visit.id if visit is not None else "",
        "id_number": id_number,
        "service_date": service_date.isoformat()
        if isinstance(service_date, date)
        else service_date,
        "service_code": code,
        "quantity": qty,
        "amount": amount,
    }


def csv_bytes(rows: list[dict], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS)
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue().encode(encoding)


def upload(client, user, provider_id, rows=None, *, content=None, name="claim.csv", month=None):
    data = {
        "provider_id": str(provider_id),
        "month": month or month_text(),
        "file": (io.BytesIO(content if content is not None else csv_bytes(rows)), name),
    }
    return client.post(
        "/api/v1/homecare/claims",
        data=data,
        headers=f.headers(user),
        content_type="multipart/form-data",
    )


def reconcile(client, user, claim_id):
    return client.post(f"/api/v1/homecare/claims/{claim_id}/reconcile", headers=f.headers(user))


def claim_and_reconcile(client, m: Month, rows) -> dict:
    r = upload(client, m.boss, m.provider.id, rows)
    assert r.status_code == 201, r.json
    r = reconcile(client, m.admin, r.json["id"])
    assert r.status_code == 200, r.json
    return r.json


def by_line(answer: dict) -> dict[int, dict]:
    return {x["line_no"]: x for x in answer["lines"]}


def call_back(client, m: Month, claim_id: int, outcome: str = "confirmed") -> int:
    """Record every call-back still pending on the claim (approval waits for them)."""
    from homecare.claims.models import CallbackSample

    db.session.expire_all()
    ids = [
        s.id for s in db.session.query(CallbackSample).filter_by(claim_id=claim_id, outcome=None)
    ]
    for sid in ids:
        r = client.post(
            f"/api/v1/homecare/callbacks/{sid}",
            headers=f.headers(m.admin),
            json={"outcome": outcome},
        )
        assert r.status_code == 200, r.json
    return len(ids)


Y0 = local_today().year - 1


@dataclass
class LastYear:
    """A provider with two elders enrolled for last year, whose months are all past."""

    provider: object
    boss: object
    admin: object
    worker: object
    elders: list = field(default_factory=list)
    enrolments: list = field(default_factory=list)

    def visit(self, i: int, month: int, day: int, code: str = "clean", qty: int = 1):
        start = datetime(Y0, month, day, 9, tzinfo=LOCAL).astimezone(UTC)
        v = hv.check_in(self.worker, self.enrolments[i], start)
        hv.check_out(v, start + timedelta(minutes=65 * qty), [(code, Decimal(qty))])
        db.session.commit()
        return v


@pytest.fixture
def last_year(app) -> LastYear:
    services.seed_reference_data(Y0)
    provider = make_provider()
    w = LastYear(
        provider,
        boss=f.user("provider", provider_id=provider.id, username="kangle"),
        admin=f.user("admin", username="clerk"),
        worker=f.user("worker", provider_id=provider.id, username="kangle_w1"),
    )
    for name in ("李秀英", "王德福"):
        p = elder(name)
        w.elders.append(p)
        w.enrolments.append(services.enrol(p, provider, Y0, on=date(Y0, 1, 1)))
    db.session.commit()
    return w
