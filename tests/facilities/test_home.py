"""Issue 17.13: a manager's first page is their home — the board's summary, today's census
done or not, its alerts — never the district; the bureau's stays the district overview."""

from __future__ import annotations

from eldercare.extensions import db
from eldercare.jobs import run_job
from facilities import services
from tests import factories

from .conftest import days_ago


def test_a_manager_lands_on_their_home(client, home, other_home):
    f, beds = home
    mgr = factories.user("manager", facility_id=f.id)
    a = factories.person("王德福")
    stay = services.admit(a, beds[0], days_ago(10), mgr)
    services.start_leave(stay, "hospital", days_ago(5), days_ago(2), mgr)
    db.session.commit()
    factories.login(client, mgr)
    page = client.get("/")
    assert page.status_code == 200
    text = page.text
    assert f.name in text and other_home[0].name not in text
    assert 'data-testid="figures"' not in text  # not the district overview
    summary = text.split('data-testid="home-summary"')[1]
    assert 'data-testid="home-available">2<' in summary
    assert 'data-testid="census-not-done"' in text and 'data-testid="census-button"' in text
    assert 'data-testid="overdue"' in text and "王德福" in text
    assert f'href="/facilities/{f.id}"' in text
    token = factories.csrf(client, "/")
    r = client.post(f"/facilities/{f.id}/census", data={"csrf_token": token})
    assert r.status_code == 303
    text = client.get("/").text
    assert 'data-testid="census-done"' in text and 'data-testid="census-not-done"' not in text


def test_the_managers_alerts_are_their_homes_only(client, home, other_home):
    f, beds = home
    g, other_beds = other_home
    for i, bed in enumerate((beds[0], beds[1], beds[2], other_beds[0])):
        services.admit(factories.person(f"住户{i}甲"), bed, days_ago(3), None)
    db.session.commit()
    run_job("alerts")
    mgr = factories.user("manager", facility_id=f.id)
    factories.login(client, mgr)
    text = client.get("/").text
    assert 'data-testid="alerts"' in text and f.name in text.split('data-testid="alerts"')[1]
    assert g.name not in text


def test_the_bureau_lands_on_the_district(client, admin, home):
    factories.login(client, admin)
    text = client.get("/").text
    assert 'data-testid="figures"' in text and 'data-testid="census-status"' not in text
