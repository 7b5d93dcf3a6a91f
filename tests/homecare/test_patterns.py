"""Patterns across visits (issue 14, point 4): impossible trips and cards scanned at one
spot are found per month, marked on the visits (by the nightly job and before
reconciliation), ranked on a page and in the API for the bureau, and weighed by the
scorecards and the call-back sampler. Honest days stay quiet."""

from __future__ import annotations

import csv
import io
import math
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from eldercare.extensions import db
from eldercare.jobs import run_job
from eldercare.models.audit import AuditEntry
from homecare import patterns
from homecare import visits as hv
from homecare.claims import callbacks, scorecards
from homecare.models import Visit
from tests import factories as f

from .claims.conftest import at, month_text
from .conftest import HOME, elder, enrol, make_provider

KM_LNG = 1 / (111.32 * math.cos(math.radians(HOME[0])))  # degrees of longitude per km
KM_LAT = 1 / 110.57


def east(km: float, north: float = 0.0) -> tuple[float, float]:
    return HOME[0] + north * KM_LAT, HOME[1] + km * KM_LNG


class Town:
    """A provider with two workers and elders placed where a test wants them."""

    def __init__(self):
        self.provider = make_provider()
        self.other = make_provider("绵阳颐和居家养老服务有限公司", ("510704003",))
        self.worker = f.user("worker", provider_id=self.provider.id, username="kangle_w1")
        self.worker2 = f.user("worker", provider_id=self.provider.id, username="kangle_w2")
        self.boss = f.user("provider", provider_id=self.provider.id, username="kangle")
        self.other_boss = f.user("provider", provider_id=self.other.id, username="yihe")
        self.admin = f.user("admin", username="clerk")
        self.auditor = f.user("auditor", username="shenji")
        self.n = 0

    def enrolment(self, home: tuple[float, float] | None, provider=None):
        self.n += 1
        p = elder(f"老人{self.n}")
        p.home_lat, p.home_lng = home if home else (None, None)
        db.session.commit()
        return enrol(p, provider or self.provider)

    def visit(
        self,
        e,
        day: int,
        hour: int,
        minute: int = 0,
        minutes: int = 60,
        where: tuple[float, float] | None = None,
        worker=None,
    ) -> Visit:
        """A finished visit to `e`, checked in (and out) at `where` (its home by default)."""
        start = at(day, hour, minute)
        lat, lng = where or (e.person.home_lat, e.person.home_lng)
        v = hv.check_in(worker or self.worker, e, start, lat, lng)
        hv.check_out(v, start + timedelta(minutes=minutes), [("care", Decimal("1"))], lat, lng)
        db.session.commit()
        return v


@pytest.fixture
def town(app) -> Town:
    return Town()


def codes(v: Visit) -> list[str]:
    db.session.refresh(v)
    return [c for c in v.exceptions if c in patterns.FOUND]


# --- impossible_travel ------------------------------------------------------------------


@pytest.mark.parametrize(("gap", "flagged"), [(15, True), (28, True), (30, False), (60, False)])
def test_thirty_km_needs_half_an_hour_less_the_kilometre_to_spare(town, gap, flagged):
    """30 km at 60 km/h with 1 km to spare: 29 minutes. A worker who really drives 30 km
    in an hour (or half an hour) is not flagged; one who claims it in 28 minutes is."""
    a, b = town.enrolment(HOME), town.enrolment(east(30))
    first = town.visit(a, 10, 9, minutes=60)
    second = town.visit(b, 10, 10 + gap // 60, gap % 60)
    patterns.flag_month(month_text())
    db.session.commit()
    assert codes(first) == []
    assert codes(second) == (["impossible_travel"] if flagged else [])
    assert db.session.get(Visit, second.id).status.value == ("flagged" if flagged else "completed")


def test_travel_uses_the_scan_location_where_the_home_is_missing(town):
    a, b = town.enrolment(HOME), town.enrolment(None)
    town.visit(a, 10, 9)
    far = town.visit(b, 10, 10, 10, where=east(25))  # no home point: its check-in place
    near = town.visit(b, 11, 9, where=east(0.2))
    nowhere = town.enrolment(None)
    blind = town.visit(nowhere, 11, 10, 5, where=(None, None))  # no place at all
    patterns.flag_month(month_text())
    assert codes(far) == ["impossible_travel"]
    assert codes(near) == [] and codes(blind) == []


def test_only_the_same_workers_consecutive_visits_are_compared(town):
    a, b = town.enrolment(HOME), town.enrolment(east(40))
    town.visit(a, 10, 9, worker=town.worker)
    other = town.visit(b, 10, 10, 5, worker=town.worker2)  # another worker: no trip
    patterns.flag_month(month_text())
    assert codes(other) == []


# --- same_place ---------------------------------------------------------------------------


def _office_day(town, elders: int, spread_m: float = 10.0) -> list[Visit]:
    office = east(0, north=-5)  # five km south of every home
    homes = [east(8 + 0.3 * i) for i in range(elders)]  # 300 m apart: no impossible trip
    out = []
    for i, home in enumerate(homes):
        e = town.enrolment(home)
        where = (office[0] + i * spread_m / 1000 * KM_LAT, office[1])
        out.append(town.visit(e, 12, 20, 12 * i, minutes=10, where=where))
    return out


def test_three_cards_scanned_at_one_spot_are_all_flagged(town):
    visits = _office_day(town, 3)
    found = patterns.flag_month(month_text())
    assert found["same_place"] == 3
    assert all("same_place" in codes(v) for v in visits)


def test_two_cards_at_one_spot_or_three_spread_out_are_not(town):
    pair = _office_day(town, 2)
    patterns.flag_month(month_text())
    assert all("same_place" not in codes(v) for v in pair)


def test_three_spots_sixty_metres_apart_are_not_one_spot(town):
    spread = _office_day(town, 3, spread_m=60)  # the middle one is within 60 m of both
    patterns.flag_month(month_text())
    assert all("same_place" not in codes(v) for v in spread)


def test_three_elders_of_one_building_scanned_at_home_are_honest(town):
    building = [town.enrolment((HOME[0] + i * 0.00005, HOME[1])) for i in range(4)]
    visits = [town.visit(e, 12, 9 + i) for i, e in enumerate(building)]
    patterns.flag_month(month_text())
    assert all(codes(v) == [] for v in visits)


def test_cards_scanned_at_one_spot_by_two_workers_of_one_provider_count(town):
    office = east(0, north=-5)
    es = [town.enrolment(east(8 + i)) for i in range(3)]
    vs = [
        town.visit(
            e,
            12,
            20,
            15 * i,
            minutes=10,
            where=office,
            worker=town.worker if i % 2 else town.worker2,
        )
        for i, e in enumerate(es)
    ]
    patterns.flag_month(month_text())
    assert all("same_place" in codes(v) for v in vs)


# --- marking: idempotent, audited, by the job and before reconciliation --------------------


def test_marking_twice_changes_nothing_the_second_time_and_is_audited_once(town):
    visits = _office_day(town, 3)
    first = patterns.flag_month(month_text())
    db.session.commit()
    again = patterns.flag_month(month_text())
    db.session.commit()
    assert first["same_place"] == 3 and again == {"impossible_travel": 0, "same_place": 0}
    for v in visits:
        db.session.refresh(v)
        assert v.exceptions.count("same_place") == 1
    entries = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "visit_pattern")
    ).all()
    assert len(entries) == 1
    assert entries[0].changes["visits"] == sorted(v.id for v in visits)


def test_the_nightly_job_marks_the_month_once_per_day(town):
    visits = _office_day(town, 3)
    day = at(28, 12).date().isoformat()
    done = run_job("visit-patterns", day)
    assert done.done and done.summary["same_place"] == 3
    assert not run_job("visit-patterns", day).done
    assert all("same_place" in codes(v) for v in visits)


def test_reconciliation_marks_the_claims_visits_first(town, client):
    visits = _office_day(town, 3)
    r = client.post(
        "/api/v1/homecare/claims/generate",
        headers=f.headers(town.boss),
        json={"provider_id": town.provider.id, "month": month_text()},
    )
    assert r.status_code == 201, r.json
    r = client.post(
        f"/api/v1/homecare/claims/{r.json['id']}/reconcile", headers=f.headers(town.admin)
    )
    assert r.status_code == 200, r.json
    assert all("same_place" in codes(v) for v in visits)
    f.login(client, town.admin)  # the claim review's visit page names the pattern
    page = client.get(f"/homecare/claims/visits/{visits[0].id}")
    assert "同一天三位以上老人在同一地点" in page.get_data(as_text=True)


# --- the statement count does not grow with the workers --------------------------------------


def _statements(fn) -> int:
    n = 0

    def count(*_a, **_k):
        nonlocal n
        n += 1

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return n


def test_statements_do_not_grow_with_the_number_of_workers(town):
    def crowd(workers: int, start: int) -> None:
        for w in range(workers):
            worker = f.user("worker", provider_id=town.provider.id, username=f"w{start + w}")
            a, b = town.enrolment(HOME), town.enrolment(east(30))
            town.visit(a, 5 + w % 20, 8, worker=worker)
            town.visit(b, 5 + w % 20, 9, 10, worker=worker)  # an impossible trip each
        db.session.commit()

    crowd(2, 0)
    small = _statements(lambda: patterns.flag_month(month_text()))
    small_figs = _statements(lambda: patterns.figures(month_text()))
    db.session.commit()
    crowd(10, 100)
    large = _statements(lambda: patterns.flag_month(month_text()))
    large_figs = _statements(lambda: patterns.figures(month_text()))
    assert patterns.figures(month_text())["providers"][0]["counts"]["impossible_travel"] == 12
    assert small == large and small_figs == large_figs
    assert large <= 8 and large_figs <= 3


# --- the API and the page: shape, roles both ways ------------------------------------------


def _flagged_town(town):
    visits = _office_day(town, 3)
    a, b = town.enrolment(HOME), town.enrolment(east(30))
    town.visit(a, 14, 9, worker=town.worker2)
    trip = town.visit(b, 14, 10, 5, worker=town.worker2)
    town.visit(town.enrolment(east(1)), 15, 9, worker=town.worker2)
    patterns.flag_month(month_text())
    db.session.commit()
    return visits, trip


def test_the_api_ranks_workers_and_providers_with_counts_and_shares(town, client):
    _flagged_town(town)
    for who in (town.admin, town.auditor):
        r = client.get(f"/api/v1/homecare/patterns?month={month_text()}", headers=f.headers(who))
        assert r.status_code == 200, r.json
        body = r.json
        assert body["month"] == month_text()
        first, second = body["workers"][:2]
        assert (first["worker_id"], first["visits"]) == (town.worker.id, 3)
        assert first["same_place"] == {"count": 3, "share": "1.000"}
        assert first["impossible_travel"] == {"count": 0, "share": "0.000"}
        assert second["worker_id"] == town.worker2.id
        assert second["impossible_travel"] == {"count": 1, "share": "0.333"}
        assert second["late_upload"] == {"count": 0, "share": "0.000"}
        assert set(first) >= {"worker", "provider_id", "provider", "no_location"}
        provs = {p["provider_id"]: p for p in body["providers"]}
        assert provs[town.provider.id]["visits"] == 6
        assert provs[town.provider.id]["same_place"] == {"count": 3, "share": "0.500"}
        assert provs[town.other.id]["visits"] == 0
        assert provs[town.other.id]["same_place"] == {"count": 0, "share": None}
        assert body["providers"][0]["provider_id"] == town.provider.id


def test_the_api_is_the_bureaus_only(town, client):
    for who in (town.boss, town.worker):
        r = client.get("/api/v1/homecare/patterns", headers=f.headers(who))
        assert r.status_code == 403
    assert client.get("/api/v1/homecare/patterns").status_code == 401
    r = client.get("/api/v1/homecare/patterns?month=2026-13", headers=f.headers(town.admin))
    assert r.status_code == 400  # a query string that is not YYYY-MM, as elsewhere


def test_the_page_links_each_number_to_its_visits(town, client):
    visits, trip = _flagged_town(town)
    f.login(client, town.auditor)
    page = client.get(f"/homecare/patterns?month={month_text()}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "异常模式" in html and "不可能行程" in html and "同地多卡" in html
    link = (
        f"/homecare/visits?exception=same_place&amp;month={month_text()}"
        f"&amp;worker_id={town.worker.id}"
    )
    assert link in html
    listed = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    for v in visits:
        assert f'enrolments/{v.enrolment_id}"' in listed
    assert f'enrolments/{trip.enrolment_id}"' not in listed


def test_the_page_is_hidden_from_providers_and_workers(app, town):
    for who in (town.boss, town.worker):
        client = f.login(app.test_client(), who)
        assert client.get("/homecare/patterns").status_code == 403
    assert app.test_client().get("/homecare/patterns").status_code in (302, 401)
    admin = f.login(app.test_client(), town.admin)
    assert b'href="/homecare/patterns"' in admin.get("/homecare/visits").data
    boss = f.login(app.test_client(), town.boss)
    assert b'href="/homecare/patterns"' not in boss.get("/homecare/visits").data


def test_the_page_exports_csv_and_xlsx(town, client):
    _flagged_town(town)
    f.login(client, town.admin)
    r = client.get(f"/homecare/patterns?month={month_text()}&format=csv")
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:5] == ["月份", "类别", "服务组织", "服务人员", "服务次数"]
    worker_row = next(x for x in rows if x[1] == "服务人员" and x[3] == town.worker.display_name)
    assert worker_row[4:10] == ["3", "0", "0.000", "3", "1.000", "0"]
    r = client.get(f"/homecare/patterns?month={month_text()}&format=xlsx")
    sheet = load_workbook(io.BytesIO(r.data)).active
    assert sheet.cell(1, 6).value == "不可能行程"


# --- the visits list filters by worker and code, scoped as before ----------------------------


def test_the_visits_api_filters_by_worker_and_exception_within_its_scope(town, client):
    visits, trip = _flagged_town(town)
    q = f"/api/v1/homecare/visits?worker_id={town.worker2.id}&exception=impossible_travel"
    r = client.get(q, headers=f.headers(town.admin))
    assert [v["id"] for v in r.json["items"]] == [trip.id]
    r = client.get(
        f"/api/v1/homecare/visits?worker_id={town.worker.id}", headers=f.headers(town.boss)
    )
    assert sorted(v["id"] for v in r.json["items"]) == sorted(v.id for v in visits)
    r = client.get(
        f"/api/v1/homecare/visits?worker_id={town.worker.id}", headers=f.headers(town.other_boss)
    )
    assert r.json["items"] == []


# --- the scorecards and the call-back sampler weigh them --------------------------------------


def test_the_scorecard_shows_the_share_of_visits_in_a_pattern(town):
    _flagged_town(town)
    card = scorecards.scorecard_json(town.provider, at(1, 9).year)
    m = next(x for x in card["months"] if x["month"] == month_text())
    assert m["pattern_share"] == "0.667"  # 3 at one spot, 1 impossible trip, of 6


def test_a_flagged_workers_visits_weigh_more_when_called_back():
    assert callbacks.visit_weight(False, "[]", 0.0) == 1.0
    assert callbacks.visit_weight(True, '["too_short"]', 0.0) == 3.0
    assert callbacks.visit_weight(True, '["same_place"]', 0.0) == 6.0
    # a clean visit of a worker half of whose visits carry a pattern
    assert callbacks.visit_weight(False, "[]", 0.5) == 3.0
    assert callbacks.visit_weight(True, '["impossible_travel"]', 0.5) == 18.0


def test_a_visit_whose_list_is_a_json_null_gets_a_list(town):
    visits = _office_day(town, 3)
    db.session.execute(sa.update(Visit).where(Visit.id == visits[0].id).values(exceptions=None))
    db.session.commit()
    patterns.flag_month(month_text())
    db.session.commit()
    db.session.refresh(visits[0])
    assert visits[0].exceptions == ["same_place"]
