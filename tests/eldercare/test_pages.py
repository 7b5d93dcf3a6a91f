"""The core's pages as a clerk uses them."""

from __future__ import annotations

import csv
import io
import re

from openpyxl import load_workbook

from eldercare.idnumbers import mask
from tests import factories as f


def test_login_lands_on_the_dashboard_with_the_figures(client, admin):
    f.login(client, admin)
    page = client.get("/")
    assert page.status_code == 200
    assert "特困（五保）人员" in page.text and "民政局" in page.text


def test_pages_ask_for_login_first(client):
    for path in ("/", "/people", "/audit"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_public_page_shows_figures_without_login_and_no_person(client, make_person):
    p = make_person(name="隐私测试")
    resp = client.get("/public")
    assert resp.status_code == 200
    assert "隐私测试" not in resp.text and p.id_number[-4:] not in resp.text


def test_add_a_person_through_the_form(client, admin):
    f.login(client, admin)
    data = {
        "name": "钱七",
        "id_number": "510704194503120218",
        "csrf_token": f.csrf(client, "/people/new"),
    }
    resp = client.post("/people/new", data=data)
    assert resp.status_code == 302
    assert "钱七" in client.get(resp.headers["Location"]).text


def test_a_bad_id_number_is_shown_under_its_field_and_the_input_is_kept(client, admin):
    f.login(client, admin)
    data = {
        "name": "孙八",
        "id_number": "360426199101010072",
        "phone": "13800000000",
        "csrf_token": f.csrf(client, "/people/new"),
    }
    resp = client.post("/people/new", data=data)
    assert resp.status_code == 422
    assert "校验" in resp.text  # the check-character message
    assert 'value="孙八"' in resp.text and 'value="13800000000"' in resp.text


def test_people_list_searches_paginates_and_exports_masked(client, admin, make_person):
    for i in range(3):
        make_person(name=f"周{i}")
    f.login(client, admin)
    page = client.get("/people?q=周")
    assert page.status_code == 200 and "共 3 条" in page.text
    data = client.get("/people?q=周&format=csv")
    rows = list(csv.reader(io.StringIO(data.data.decode("utf-8-sig"))))
    assert len(rows) == 4 and "*" in rows[1][2]
    wb = load_workbook(io.BytesIO(client.get("/people?format=xlsx").data))
    assert wb.active.max_row == 4


def test_a_search_by_id_number_never_puts_the_number_into_a_url(client, admin, make_person):
    """The search box posts; the list opens with the text encrypted, and its links
    (pages, exports) carry only that."""
    target = make_person(name="吴十一")
    make_person(name="吴十二")
    f.login(client, admin)
    number = target.id_number
    resp = client.post(
        "/search",
        data={
            "to": "/people",
            "q": number,
            "status": "active",
            "csrf_token": f.csrf(client, "/people"),
        },
    )
    assert resp.status_code == 303
    location = resp.location
    assert number not in location and number[-4:] not in location and "status=active" in location
    page = client.get(location)
    assert "吴十一" in page.text and "吴十二" not in page.text
    # shown back in the box the clerk typed it into (a no-store page), in no link
    box = re.search(r'<input[^>]*name="q"[^>]*>', page.text)
    assert page.text.count(number) == 1 and box and f'value="{number}"' in box.group(0)
    assert mask(number) in page.text
    export = client.get(location + "&format=csv").data.decode("utf-8-sig")
    assert "吴十一" in export and "吴十二" not in export
    # a tampered or foreign token searches nothing rather than failing
    assert client.get("/people?qs=v1:AAAA").status_code == 200
    # the form only sends to our own pages
    bad = client.post(
        "/search",
        data={"to": "https://evil.example/", "q": "x", "csrf_token": f.csrf(client, "/people")},
    )
    assert bad.status_code == 400


def test_revealing_a_full_id_number_is_logged(client, admin, make_person):
    p = make_person()
    f.login(client, admin)
    resp = client.post(
        f"/people/{p.id}/reveal", data={"csrf_token": f.csrf(client, f"/people/{p.id}")}
    )
    assert p.id_number in resp.text
    log = client.get(f"/audit?entity=people&entity_id={p.id}&action=view_id_number")
    assert "view_id_number" in log.text


def test_record_a_death_from_the_person_page(client, admin, make_person):
    p = make_person(name="吴九")
    f.login(client, admin)
    token = f.csrf(client, f"/people/{p.id}")
    resp = client.post(f"/people/{p.id}/death", data={"date": "2026-05-01", "csrf_token": token})
    assert resp.status_code == 302
    assert "已故" in client.get(f"/people/{p.id}").text


def test_the_person_page_says_in_words_why_support_ended(client, admin, make_person):
    from datetime import date

    from eldercare.extensions import db
    from eldercare.people import services as people

    p = make_person(name="郑十")
    people.start_wubao(p, "elderly", "dispersed", date(2020, 3, 1))
    people.start_wubao(p, "elderly", "centralized", date(2024, 6, 1))
    db.session.commit()
    f.login(client, admin)
    page = client.get(f"/people/{p.id}").text
    assert "供养方式变更" in page and ">changed<" not in page


def test_english_is_available(client, admin):
    f.login(client, admin)
    client.post("/lang/en", data={"csrf_token": f.csrf(client)})
    assert "English" not in client.get("/").text  # the switch now offers 中文
    assert "中文" in client.get("/").text
