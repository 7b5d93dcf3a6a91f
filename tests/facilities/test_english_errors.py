"""Issue 17.11: a domain error (床位…已停用) reads in the language of whoever is answered:
English on an English page, Chinese by default; the API the same."""

from __future__ import annotations

from eldercare.extensions import db
from eldercare.timeutil import local_today
from facilities import services
from tests import factories

from .conftest import days_ago

TODAY = local_today().isoformat()


def test_a_bed_out_of_service_is_said_in_the_readers_language(client, home):
    f, beds = home
    mgr = factories.user("manager", facility_id=f.id)
    services.set_out_of_service(beds[0], days_ago(1), "漏水维修", mgr)
    a = factories.person("王德福")
    db.session.commit()
    factories.login(client, mgr)
    url = f"/facilities/{f.id}/beds/{beds[0].id}"

    def admit():
        token = factories.csrf(client, url)
        r = client.post(
            url + "/admit",
            data={"csrf_token": token, "id_number": a.id_number, "start_date": TODAY},
            headers={"Referer": url},
        )
        assert r.status_code == 303
        return client.get(url).text

    assert "床位 01 已停用" in admit()
    client.set_cookie("lang", "en")
    page = admit()
    assert "Bed 01 is out of service" in page and "床位 01 已停用" not in page


def test_the_api_answers_in_the_callers_language(client, home, admin_headers):
    _f, beds = home
    services.set_out_of_service(beds[0], days_ago(1), "漏水维修")
    a = factories.person("王德福")
    db.session.commit()
    body = {"person_id": a.id, "bed_id": beds[0].id, "start_date": TODAY}
    path = "/api/v1/stays"
    zh = client.post(path, json=body, headers=admin_headers)
    assert zh.status_code == 409 and zh.json["error"]["message"] == "床位 01 已停用"
    client.set_cookie("lang", "en")
    en = client.post(path, json=body, headers=admin_headers)
    assert en.json["error"]["message"] == "Bed 01 is out of service"
    assert en.json["error"]["fields"]["bed_id"] == "The bed is out of service"
