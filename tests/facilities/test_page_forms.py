"""facilities/pages.py: what the pages' forms refuse is flashed in words that name the
field, the user is sent back to the bed, and nothing is stored."""

from __future__ import annotations

from eldercare.extensions import db
from eldercare.timeutil import local_today
from facilities import services
from tests import factories

from .conftest import days_ago

TODAY = local_today().isoformat()


def _resident(home):
    f, beds = home
    resident = factories.person("王德福")
    stay = services.admit(resident, beds[0], days_ago(3))
    db.session.commit()
    return f, beds, resident, stay.id


def test_a_picked_bed_that_is_no_record_id_is_refused_in_words(client, home):
    f, beds, resident, stay_id = _resident(home)
    factories.login(client, factories.user("manager", facility_id=f.id))
    token = factories.csrf(client, f"/facilities/{f.id}")
    for junk in ("'; drop", "-1", "1" * 13, ""):
        r = client.post(
            f"/stays/{stay_id}/transfer", data={"csrf_token": token, "bed_id": junk, "date": TODAY}
        )
        assert r.status_code == 303, junk
        back = client.get(r.headers["Location"])
        assert "请选择有效的选项" in back.text or "转入床位" in back.text, junk
    assert services.open_stay_of(resident.id).bed_id == beds[0].id


def test_a_missing_field_is_named_and_the_way_back_is_the_bed(client, home):
    f, beds, resident, stay_id = _resident(home)
    factories.login(client, factories.user("manager", facility_id=f.id))
    token = factories.csrf(client, f"/facilities/{f.id}")
    r = client.post(f"/stays/{stay_id}/end", data={"csrf_token": token, "reason": "discharged"})
    assert r.status_code == 303
    assert "离院日期" in client.get(r.headers["Location"]).text
    assert services.open_stay_of(resident.id) is not None
    r = client.post(
        f"/stays/{stay_id}/end", data={"csrf_token": token, "reason": "discharged", "date": TODAY}
    )
    assert r.status_code == 303
    assert r.headers["Location"].endswith(f"/facilities/{f.id}?bed={beds[0].id}#bed-{beds[0].id}")
    assert services.open_stay_of(resident.id) is None
