"""Issue 17.8: the `alerts` job's source for balances nearly used: one alert per provider
naming its elders under 30.00, for the provider (its first page) and the bureau (the
dashboard); a provider never sees another's."""

from __future__ import annotations

from decimal import Decimal

from eldercare.extensions import db
from eldercare.jobs import run_job
from eldercare.timeutil import local_today
from homecare import ledger
from homecare.low_balance import alerts
from tests import factories as f

from .conftest import elder, enrol, now


def spend(enrolment, amount: str) -> None:
    ledger.debit(enrolment.id, None, Decimal(amount), now())
    db.session.commit()


def test_one_alert_per_provider_with_its_elders_under_30(app, world):
    spend(world.enrolment, "280.00")  # 20.00 left
    second = enrol(elder("赵长顺"), world.provider)
    spend(second, "300.00")  # used up
    enrol(elder("钱大娘"), world.provider)  # 300.00: not low
    theirs = enrol(elder("孙大爷", township="510704003"), world.other)
    spend(theirs, "275.50")  # 24.50 left
    found = alerts(local_today())
    ours = [a for a in found if a["provider_id"] == world.provider.id]
    assert sorted(a["role"] for a in ours) == ["admin", "provider"]
    text = str(ours[0]["message"])
    assert ours[0]["count"] == 2 and ours[0]["kind"] == "balance_low"
    assert "赵长顺（¥0.00）" in text and "李秀英（¥20.00）" in text and "钱大娘" not in text
    assert text.index("赵长顺") < text.index("李秀英")  # the lowest first
    assert {a["provider_id"] for a in found} == {world.provider.id, world.other.id}


def test_a_withdrawn_elder_is_not_listed(app, world, client):
    spend(world.enrolment, "290.00")
    admin = f.user("admin")
    r = client.post(
        f"/api/v1/homecare/enrolments/{world.enrolment.id}/withdraw",
        headers=f.headers(admin),
        json={"date": now().date().isoformat(), "reason": "退出"},
    )
    assert r.status_code == 200
    assert alerts(local_today()) == []


def test_the_provider_and_the_bureau_see_it_and_no_other_provider(client, world):
    spend(world.enrolment, "285.00")
    theirs = enrol(elder("孙大爷", township="510704003"), world.other)
    spend(theirs, "290.00")
    run_job("alerts")
    f.login(client, world.boss)
    text = client.get("/").text
    block = text.split('data-testid="alerts"')[1]
    assert "李秀英（¥15.00）" in block and "孙大爷" not in text
    other_boss = f.user("provider", provider_id=world.other.id, username="yihe")
    f.login(client, other_boss)
    text = client.get("/").text
    assert "孙大爷（¥10.00）" in text.split('data-testid="alerts"')[1]
    assert "李秀英" not in text
    f.login(client, f.user("admin"))
    block = client.get("/").text.split('data-testid="alerts"')[1]
    assert "李秀英（¥15.00）" in block and "孙大爷（¥10.00）" in block
