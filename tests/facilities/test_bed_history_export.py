"""A bed's history exports as .xlsx or .csv (issue 17.10); a manager only their home's."""

from __future__ import annotations

import csv
import io

from eldercare.extensions import db
from facilities import stays
from tests import factories

from .conftest import days_ago, make_home


def test_a_beds_history_exports_every_stay(client, home, manager):
    facility, beds = home
    person = factories.person("王德福")
    stays.admit(person, beds[0], days_ago(30))
    db.session.commit()
    factories.login(client, manager)
    page = client.get(f"/facilities/{facility.id}/beds/{beds[0].id}")
    assert 'data-testid="bed-history-export"' in page.text
    url = f"/facilities/{facility.id}/beds/{beds[0].id}/history"
    r = client.get(url + "?format=csv")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0] == ["机构", "房间", "床位", "姓名", "入住", "离开", "原因"]
    assert rows[1][3:5] == ["王德福", days_ago(30).isoformat()]
    assert client.get(url + "?format=xlsx").data[:2] == b"PK"


def test_another_homes_manager_gets_404(client, home):
    facility, beds = home
    other, _ = make_home("石马镇中心敬老院", township="510704101")
    factories.login(client, factories.user("manager", facility_id=other.id))
    url = f"/facilities/{facility.id}/beds/{beds[0].id}/history?format=csv"
    assert client.get(url).status_code == 404
