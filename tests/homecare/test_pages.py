"""Home-care pages: lists with filters and exports, the ledger, workers, card sheets, and
the worker's phone screens /v/<token> and /scan."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from eldercare.extensions import db
from homecare import cards
from homecare.models import Visit
from tests import factories as f

from .conftest import elder, enrol, manual_form, now, visit

ROOT = Path(__file__).resolve().parents[2]


def login(client, user):
    return f.login(client, user)


def token_of(world) -> str:
    return cards.token(world.enrolment)


def test_enrolments_page_lists_balances_and_exports(client, world, admin):
    enrol(elder("外组", township="510704003"), world.other)
    login(client, admin)
    page = client.get("/homecare/enrolments")
    assert page.status_code == 200 and "李秀英" in page.text and "外组" in page.text
    assert "¥300.00" in page.text
    page = client.get(f"/homecare/enrolments?provider_id={world.other.id}")
    assert "李秀英" not in page.text and "外组" in page.text
    csv = client.get("/homecare/enrolments?format=csv")
    assert csv.status_code == 200 and "李秀英" in csv.get_data(as_text=True)
    xlsx = client.get("/homecare/enrolments?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_an_elder_of_a_township_merged_in_the_reform_is_still_named_and_filtered(
    client, world, admin
):
    enrol(elder("旧乡", township="510704107"), world.other)  # 柏林镇, merged in 2019-2020
    login(client, admin)
    page = client.get("/homecare/enrolments?township_code=510704107")
    assert "旧乡" in page.text and "李秀英" not in page.text
    assert "柏林镇" in page.text
    csv = client.get("/homecare/enrolments?format=csv").get_data(as_text=True)
    assert "柏林镇" in csv


def test_a_provider_sees_only_its_own_enrolments(client, world):
    enrol(elder("外组", township="510704003"), world.other)
    login(client, world.boss)
    page = client.get("/homecare/enrolments")
    assert "李秀英" in page.text and "外组" not in page.text
    assert "外组" not in client.get("/homecare/enrolments?format=csv").get_data(as_text=True)


def test_workers_and_managers_do_not_get_the_office_pages(client, world):
    login(client, world.worker)
    for path in (
        "/homecare/enrolments",
        "/homecare/visits",
        "/homecare/workers",
        "/homecare/cards",
    ):
        assert client.get(path).status_code == 403, path


def test_ledger_page_shows_entries_and_reissue(client, world):
    visit(
        client,
        world.worker,
        world.qr,
        now() - timedelta(hours=3),
        65,
        [{"code": "care", "quantity": 1}],
    )
    login(client, world.boss)
    page = client.get(f"/homecare/enrolments/{world.enrolment.id}")
    assert page.status_code == 200
    assert "补贴入账" in page.text and "服务扣款" in page.text and "¥250.00" in page.text
    token = f.csrf(client, f"/homecare/enrolments/{world.enrolment.id}")
    resp = client.post(
        f"/homecare/enrolments/{world.enrolment.id}/reissue", data={"csrf_token": token}
    )
    assert resp.status_code == 302
    db.session.refresh(world.enrolment)
    assert world.enrolment.card_serial == 2


def test_visits_page_says_exceptions_in_words(client, world, admin):
    visit(
        client,
        world.worker,
        world.qr,
        now() - timedelta(hours=3),
        5,
        [{"code": "meal", "quantity": 1}],
    )
    login(client, admin)
    page = client.get("/homecare/visits?status=flagged")
    assert "服务时间过短" in page.text and "李秀英" in page.text
    assert "助餐（送餐上门）×1" in page.text  # the service in words, not its code
    csv = client.get("/homecare/visits?format=csv").get_data(as_text=True)
    assert "服务时间过短" in csv and "助餐（送餐上门）×1" in csv and "meal×" not in csv
    assert "李秀英" not in client.get("/homecare/visits?status=completed").text


def test_a_provider_admin_adds_workers_and_so_may_the_bureau(client, world, admin):
    login(client, world.boss)
    page = client.get("/homecare/workers")
    assert "kangle_w1" in page.text
    token = f.csrf(client, "/homecare/workers")
    resp = client.post(
        "/homecare/workers",
        data={"csrf_token": token, "username": "kangle_w7", "display_name": "钱师傅"},
    )
    assert resp.status_code == 200 and 'data-testid="password"' in resp.text
    assert "kangle_w7" in client.get("/homecare/workers").text
    bad = client.post("/homecare/workers", data={"csrf_token": token, "username": "k w"})
    assert bad.status_code == 422 and "只能用字母" in bad.text
    client.post("/logout", data={"csrf_token": token})
    login(client, admin)
    assert "kangle_w7" in client.get("/homecare/workers").text
    # the bureau adds to the provider it has chosen (one rule with the API)
    url = f"/homecare/workers?provider_id={world.provider.id}"
    resp = client.post(url, data={"csrf_token": f.csrf(client, url), "username": "x_w1"})
    assert resp.status_code == 200 and "x_w1" in client.get(url).text


def test_card_sheet_prints_name_township_and_short_number(client, world, admin):
    login(client, admin)
    page = client.get("/homecare/cards?township_code=510704001")
    assert page.status_code == 200
    assert "李秀英" in page.text and cards.short_number(world.enrolment) in page.text
    assert f"/api/v1/homecare/enrolments/{world.enrolment.id}/card.svg" in page.text
    assert "李秀英" not in client.get("/homecare/cards?township_code=510704003").text


def test_the_phone_scripts_speak_the_pages_language(client, world):
    """The scripts' messages (offline, queued, camera) come with the page, translated."""
    import html
    import json

    login(client, world.worker)

    def words(path):
        page = client.get(path).text
        meta = re.search(r"<meta name=\"ec-messages\" content='([^']*)'>", page).group(1)
        return json.loads(html.unescape(meta))

    zh = words(f"/v/{token_of(world)}")
    assert zh["offline"] == "手机没有网络。" and "{n}" in zh["waiting"]
    client.set_cookie("lang", "en")
    for path in (f"/v/{token_of(world)}", "/scan"):
        en = words(path)
        assert en["offline"] == "No network on the phone." and "{n}" in en["waiting"]
        assert en.keys() == zh.keys()
        assert not [k for k, v in en.items() if re.search(r"[\u4e00-\u9fff]", v)]


def test_the_card_page_asks_for_a_login_first(client, world):
    resp = client.get(f"/v/{token_of(world)}")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_check_in_and_out_from_the_card_page_without_javascript(client, world):
    login(client, world.worker)
    path = f"/v/{token_of(world)}"
    page = client.get(path)
    assert page.status_code == 200 and "开始服务" in page.text and "¥300.00" in page.text
    client_in = re.search(r'name="client_id" value="([^"]+)"', page.text).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert 'name="no_location_reason"' in page.text  # no script, no position: asked why
    form = {
        "csrf_token": csrf,
        "kind": "check_in",
        "client_id": client_in,
        "no_location_reason": "no_gps",
    }
    assert client.post(path, data=form).status_code == 303
    assert client.post(path, data=form).status_code == 303  # a double tap counts once
    assert db.session.query(Visit).count() == 1
    v = db.session.query(Visit).one()
    v.check_in_at = now() - timedelta(minutes=65)
    db.session.commit()
    page = client.get(path)
    out = re.findall(r'name="client_id" value="([^"]+)"', page.text)[1]
    resp = client.post(
        path, data={"csrf_token": csrf, "kind": "check_out", "client_id": out, "qty_care": "1"}
    )
    assert resp.status_code == 303
    db.session.expire_all()
    v = db.session.query(Visit).one()
    assert v.status.value == "flagged" and str(v.subsidised) == "50.00"
    assert v.exceptions == ["no_location"] and v.no_location_reason == "no_gps"
    assert "¥250.00" in client.get(path).text


def test_card_page_refuses_revoked_and_foreign_cards(client, world):
    old = token_of(world)
    cards.reissue(world.enrolment)
    db.session.commit()
    login(client, world.worker)
    resp = client.get(f"/v/{old}")
    assert resp.status_code == 422 and "已补办新卡" in resp.text  # not merely "invalid"
    stranger = f.user("worker", provider_id=world.other.id)
    client.post("/logout", data={"csrf_token": f.csrf(client, "/scan")})
    login(client, stranger)
    assert client.get(f"/v/{cards.token(world.enrolment)}").status_code == 403


def test_scan_page_and_card_number_entry(client, world):
    login(client, world.worker)
    page = client.get("/scan")
    assert page.status_code == 200 and "jsQR.min.js" in page.text and "输入卡上的卡号" in page.text
    csrf = f.csrf(client, "/scan")
    resp = client.post(
        "/scan/number", data={"csrf_token": csrf, "number": cards.short_number(world.enrolment)}
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/v/{token_of(world)}")
    resp = client.post("/scan/number", data={"csrf_token": csrf, "number": "1-1-0000"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/scan")


def test_service_worker_is_served_for_the_whole_site(client):
    resp = client.get("/sw.js")
    assert resp.status_code == 200 and resp.headers["Service-Worker-Allowed"] == "/"
    assert "javascript" in resp.mimetype


def test_person_page_shows_the_enrolment_to_the_provider(client, world):
    login(client, world.boss)
    page = client.get(f"/people/{world.person.id}")
    assert page.status_code == 200 and "居家养老服务" in page.text


def test_no_inline_scripts_or_styles_in_homecare_templates():
    for path in (ROOT / "templates" / "homecare").glob("*.html"):
        text = path.read_text()
        assert "style=" not in text, path
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert " on" not in re.sub(
            r"[^<]*(<[^>]*>)?", lambda m: m.group(1) or "", text
        ) or not re.search(r"<[^>]+\son[a-z]+=", text), path


def test_a_worker_logs_a_visit_by_hand_when_the_card_is_lost(client, world):
    login(client, world.worker)
    page = client.get("/scan/manual?q=李秀")
    assert page.status_code == 200 and "李秀英" in page.text
    path, form = manual_form(client, world)
    assert client.post(path, data=form).status_code == 422  # a note is needed
    resp = client.post(path, data=form | {"note": "卡丢了，电话核实"})
    assert resp.status_code == 302
    v = db.session.query(Visit).one()
    assert v.manual and v.exceptions == ["manual"] and str(v.subsidised) == "40.00"
    stranger = f.user("worker", provider_id=world.other.id)
    client.post("/logout", data={"csrf_token": form["csrf_token"]})
    login(client, stranger)
    refused = client.get(path)  # a record out of scope is not there: the 404 page
    assert refused.status_code == 404 and "李秀英" not in refused.text
    assert "李秀英" not in client.get("/scan/manual?q=李秀").text
