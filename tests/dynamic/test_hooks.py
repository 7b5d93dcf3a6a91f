"""The features answer dynamic management's hooks by name: a proposal's preview says which
stay and which home-care enrolment a death would end, and the avoided-loss figures count
the subsidy an enrolment would have gone on drawing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from eldercare.extensions import db
from facilities import services as facilities
from homecare import exits
from tests.facilities.conftest import make_home
from tests.homecare.conftest import enrol, make_provider

from .helpers import csv_bytes, days_ago, tekun, upload


def _in_bed_and_enrolled():
    p = tekun("赵金华")
    _home, beds = make_home("玉河镇敬老院", beds=1)
    facilities.admit(p, beds[0], date(2024, 5, 1))
    enrolment = enrol(p, make_provider("游仙区安康居家养老服务站"))
    db.session.commit()
    return p, enrolment


def test_a_death_proposal_says_which_stay_and_which_enrolment_it_ends(client, admin_headers):
    p, _enrolment = _in_bed_and_enrolled()
    comp = upload(
        client,
        admin_headers,
        "death",
        csv_bytes([[p.id_number, "赵金华", days_ago(3).isoformat()]]),
    ).json
    page = client.get(f"/api/v1/comparisons/{comp['id']}/proposals", headers=admin_headers)
    assert page.status_code == 200, page.json
    effects = page.json["items"][0]["effects"]
    assert any("玉河镇敬老院" in e and "01" in e and "结束" in e for e in effects), effects
    assert any("游仙区安康居家养老服务站" in e and "300.00" in e for e in effects), effects


def test_an_income_proposal_ends_neither(client, admin_headers):
    p, _enrolment = _in_bed_and_enrolled()
    assert exits.effects(p, "income", days_ago(3)) == []
    from facilities.exits import effects

    assert effects(p, "income", days_ago(3)) == []


def test_the_subsidy_at_risk_follows_the_elders_own_draw_and_never_passes_the_balance(app):
    p, enrolment = _in_bed_and_enrolled()
    from homecare import ledger

    # 120 yuan drawn by the end of April: 30 a month
    april = datetime(enrolment.year, 4, 2, tzinfo=UTC)
    ledger.debit(enrolment.id, None, Decimal("120.00"), april)
    db.session.commit()
    db.session.refresh(enrolment)
    year = enrolment.year
    with app.test_request_context():  # the label speaks the request's language
        three_months = exits.losses(p, date(year, 4, 20), date(year, 7, 20))
        a_year = exits.losses(p, date(year, 4, 20), date(year + 1, 4, 20))
    assert [x["subsidy"] for x in three_months] == [Decimal("90.00")]
    assert [x["subsidy"] for x in a_year] == [Decimal("180.00")]  # the balance left
