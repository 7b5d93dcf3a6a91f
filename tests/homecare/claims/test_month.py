"""Issue 17.13: a provider's first page is its month (visits, flagged visits, the claim
due, elders with little balance left); a worker's is the scanner. Only its own."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from eldercare.extensions import db
from eldercare.timeutil import Month, local_today
from homecare import ledger
from homecare import visits as hv
from homecare.claims.models import Claim, ClaimSource, ClaimStatus
from homecare.models import VisitStatus
from tests import factories as f

from ..conftest import elder, enrol, now


def test_a_provider_lands_on_its_month(client, world):
    start = now() - timedelta(hours=2)
    if start.date() < now().date():  # just after midnight: keep the visits in this month
        start = now() - timedelta(minutes=50)
    v = hv.check_in(world.worker, world.enrolment, start)
    hv.check_out(v, start + timedelta(minutes=40), [("meal", Decimal("1"))])
    other = enrol(elder("赵长顺"), world.provider)
    w = hv.check_in(world.worker, other, start + timedelta(minutes=1))
    w.status = VisitStatus.FLAGGED
    ledger.debit(world.enrolment.id, None, Decimal("260.00"), now())  # 10.00 left
    db.session.commit()
    f.login(client, world.boss)
    page = client.get("/")
    assert page.status_code == 200
    text = page.text
    assert world.provider.name in text and Month.of(local_today()).text in text
    assert '<a href="/homecare/visits?month=' in text
    assert 'data-testid="month-visits"' in text and ">2</a>" in text
    assert 'data-testid="month-flagged"' in text and "status=flagged" in text
    assert 'data-testid="claim-not-submitted"' in text
    low = text.split('data-testid="low-balances"')[1]
    assert "李秀英" in low and "¥10.00" in low and "赵长顺" not in low
    # the claim for last month, once made, shows its state instead
    db.session.add(
        Claim(
            provider_id=world.provider.id,
            month=Month.of(local_today()).previous().text,
            status=ClaimStatus.SUBMITTED,
            source=ClaimSource.GENERATED,
        )
    )
    db.session.commit()
    text = client.get("/").text
    assert 'data-testid="claim-not-submitted"' not in text and "已提交" in text


def test_another_provider_sees_only_its_own_month(client, world):
    other_boss = f.user("provider", provider_id=world.other.id, username="yihe")
    v = hv.check_in(world.worker, world.enrolment, now() - timedelta(minutes=30))
    hv.check_out(v, now() - timedelta(minutes=5), [("meal", Decimal("1"))])
    db.session.commit()
    f.login(client, other_boss)
    text = client.get("/").text
    assert world.other.name in text and world.provider.name not in text
    assert "李秀英" not in text
    assert client.get("/?month=2099-01").status_code == 200  # a month to come shows this one


def test_a_worker_lands_on_the_scanner(client, world):
    f.login(client, world.worker)
    r = client.get("/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/scan")


def test_the_district_overview_stays_in_the_menu(client, world):
    f.login(client, world.boss)
    assert 'href="/overview"' in client.get("/").text
    assert 'data-testid="figures"' in client.get("/overview").text
