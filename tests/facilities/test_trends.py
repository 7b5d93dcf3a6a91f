"""Issue 17.7: the centralised-support rate month by month beside the occupancy trend, and
figure pages that take a date (?date=, a date picker)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from eldercare.extensions import db
from eldercare.people import services as people
from eldercare.timeutil import local_today
from tests import factories

from .conftest import make_home


def _wubao():
    """Two centralised and one dispersed since 2020; one more centralised from today: the
    rate is 2/3 at every month's end before, 3/4 today."""
    today = local_today()
    for name, support, since in (
        ("甲一", "centralized", date(2020, 1, 1)),
        ("乙二", "centralized", date(2020, 1, 1)),
        ("丙三", "dispersed", date(2020, 1, 1)),
        ("丁四", "centralized", today),
    ):
        people.start_wubao(factories.person(name), "elderly", support, since)
    db.session.commit()
    return today, today.replace(day=1) - timedelta(days=1)


def test_the_api_gives_the_rate_at_each_month_end(client, admin_headers):
    today, last_month = _wubao()
    items = client.get("/api/v1/stats/wubao-trend", headers=admin_headers).json["items"]
    assert len(items) == 13
    assert items[-1] == {
        "date": today.isoformat(),
        "total": 4,
        "centralized": 3,
        "centralized_rate": "0.750",
    }
    assert items[-2] == {
        "date": last_month.isoformat(),
        "total": 3,
        "centralized": 2,
        "centralized_rate": "0.667",
    }
    back = client.get(
        f"/api/v1/stats/wubao-trend?date={last_month.isoformat()}&months=2", headers=admin_headers
    ).json["items"]
    assert [p["date"] for p in back][-1] == last_month.isoformat() and len(back) == 3
    assert (
        client.get("/api/v1/stats/wubao-trend?months=0", headers=admin_headers).status_code == 400
    )


def test_the_occupancy_page_draws_the_rate_beside_the_occupancy_trend(client, admin):
    make_home()
    today, last_month = _wubao()
    factories.login(client, admin)
    page = client.get("/facilities/occupancy").text
    assert 'id="occupancy-trend"' in page and 'id="centralized-trend"' in page
    rows = dict(
        re.findall(r'data-month="([\d-]+)">.*?<td class="text-end">([\d.]+%)</td></tr>', page)
    )
    assert rows[today.isoformat()] == "75.0%" and rows[last_month.isoformat()] == "66.7%"


def test_figure_pages_take_a_date(client, admin):
    make_home()
    today, last_month = _wubao()
    factories.login(client, admin)
    day = last_month.isoformat()
    for path in ("/facilities/occupancy", "/", "/public"):
        page = client.get(f"{path}?date={day}").text
        assert 'data-testid="date-picker"' in page, path
        assert f'name="date" value="{day}"' in page, path
        assert "66.7%" in page, path  # the rate on that day, not today's 75.0%
        now = client.get(path).text
        assert "75.0%" in now and f'value="{today.isoformat()}"' in now, path
    # a malformed or future date shows today
    for bad in ("junk", (today + timedelta(days=3)).isoformat(), "1899-01-01"):
        assert f'value="{today.isoformat()}"' in client.get(f"/?date={bad}").text
