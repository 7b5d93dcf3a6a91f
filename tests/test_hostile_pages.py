"""Hostile input across every page, API read and export at once, found from the URL map
(so a page added tomorrow is covered without touching this file):

* a name, address, note and organisation name that carry script are shown as text on
  every page that shows them, and a name that starts like a formula is defused in every
  export;
* every form that changes something refuses a post without its CSRF token;
* every role outside the elder's home and provider finds the elder on no page, API
  answer or export — and the roles inside do find them, so the check can fail.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from werkzeug.routing import AnyConverter

from eldercare.extensions import db
from facilities import services as fs
from homecare import cards
from homecare import visits as hv
from tests import factories as f
from tests.dynamic.helpers import csv_bytes as list_csv
from tests.dynamic.helpers import upload as upload_list
from tests.facilities.conftest import days_ago, make_home
from tests.homecare.claims.conftest import line, month_text, upload
from tests.homecare.conftest import elder, enrol, make_provider

SCRIPT = "<script>alert(1)</script>"
ATTR = '"><img src=x onerror=alert(2)>'
NAME = "=2+3<script>alert(7)</script>"  # a formula for spreadsheets, a script for pages
MARK = "alert(7)"  # survives HTML escaping: how the elder's name is recognised anywhere


class World:
    """One elder with hostile text everywhere, in a bed of home A, enrolled with provider
    A, with a visit, a reconciled claim line and a pending death proposal; and home B,
    provider B with its own people, who must never see the elder."""

    def __init__(self, client):
        self.home, beds = make_home(SCRIPT + "敬老院", beds=2)
        self.other_home, _ = make_home("石马镇中心敬老院", beds=1, township="510704101")
        self.provider = make_provider(SCRIPT + "服务中心")
        self.other_provider = make_provider("绵阳颐和居家养老服务有限公司", ("510704003",))
        self.admin = f.user("admin", username="clerk", display_name=SCRIPT)
        self.auditor = f.user("auditor", username="shenji")
        self.manager = f.user("manager", facility_id=self.home.id, username="mgr_a")
        self.other_manager = f.user("manager", facility_id=self.other_home.id, username="mgr_b")
        self.boss = f.user("provider", provider_id=self.provider.id, username="boss_a")
        self.worker = f.user(
            "worker", provider_id=self.provider.id, username="w_a", display_name=ATTR
        )
        self.other_boss = f.user("provider", provider_id=self.other_provider.id, username="boss_b")
        self.other_worker = f.user("worker", provider_id=self.other_provider.id, username="w_b")
        p = elder(NAME)
        p.address, p.emergency_contact, p.health_notes = ATTR, SCRIPT, SCRIPT
        self.person = p
        self.bed = beds[0]
        self.stay = fs.admit(p, beds[0], days_ago(30))
        self.enrolment = enrol(p, self.provider)
        last_month = datetime.now(UTC) - timedelta(days=35)
        v = hv.check_in(self.worker, self.enrolment, last_month)
        hv.check_out(v, last_month + timedelta(minutes=65), [("clean", Decimal(1))])
        db.session.commit()
        self.visit = v
        claim = upload(
            client, self.boss, self.provider.id, [line(1, v)], month=v.check_in_at.strftime("%Y-%m")
        )
        assert claim.status_code == 201, claim.json
        self.claim_id = claim.json["id"]
        r = client.post(
            f"/api/v1/homecare/claims/{self.claim_id}/reconcile", headers=f.headers(self.admin)
        )
        assert r.status_code == 200, r.json
        r = upload_list(
            client,
            f.headers(self.admin),
            "death",
            list_csv([[p.id_number, SCRIPT, days_ago(3).isoformat()]]),
            source=SCRIPT,
        )
        assert r.status_code == 201, r.json
        self.comparison_id = r.json["id"]
        self.token = cards.token(self.enrolment)
        db.session.commit()

    def args(self) -> dict:
        """What each URL variable stands for: the elder's own records."""
        return {
            "facility_id": self.home.id,
            "bed_id": self.bed.id,
            "person_id": self.person.id,
            "enrolment_id": self.enrolment.id,
            "visit_id": self.visit.id,
            "claim_id": self.claim_id,
            "comparison_id": self.comparison_id,
            "stay_id": self.stay.id,
            "token": self.token,
            "code": "510704104",
            "year": self.enrolment.year,
            "month": month_text(),
        }


@pytest.fixture
def world(app, client):
    return World(client)


def _urls(app, world, *, api: bool):
    """Every GET route the app has, filled with the elder's records; routes with a
    variable the world has no value for are listed apart so the test can say so."""
    values = world.args()
    urls, unknown = [], []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        if rule.rule.startswith("/api/") != api:
            continue
        if rule.rule in {"/logout", "/lang/<code>"}:
            continue
        if not set(rule.arguments) <= values.keys():
            unknown.append(rule.rule)
            continue
        urls.append(rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1])
    return sorted(urls), unknown


def _text(resp) -> str:
    if resp.is_json:
        return json.dumps(resp.get_json(), ensure_ascii=False, default=str)
    if resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(resp.data), read_only=True)
        return "\n".join(
            str(c)
            for ws in wb
            for row in ws.iter_rows(values_only=True)
            for c in row
            if c is not None
        )
    return resp.get_data(as_text=True) if resp.mimetype.startswith("text/") else ""


def test_every_page_shows_hostile_text_as_text_and_every_export_defuses_formulas(
    app, client, world
):
    urls, unknown = _urls(app, world, api=False)
    assert len(urls) > 30, urls  # the URL map really was walked
    f.login(client, world.admin)
    seen_on, exports = [], 0
    for url in urls:
        resp = client.get(url)
        assert resp.status_code < 500, (url, resp.status_code)
        body = _text(resp)
        if resp.mimetype == "text/html":
            for raw in (SCRIPT, ATTR, NAME[4:]):
                assert raw not in body, f"unescaped script on {url}"
            if MARK in body:
                seen_on.append(url)
        for fmt in ("csv", "xlsx"):
            sep = "&" if "?" in url else "?"
            export = client.get(f"{url}{sep}format={fmt}")
            if export.status_code != 200 or export.mimetype == "text/html":
                continue
            exports += 1
            if fmt == "csv":
                cells = [
                    c for row in csv.reader(io.StringIO(export.get_data(as_text=True))) for c in row
                ]
            else:
                cells = _text(export).split("\n")
            for cell in cells:
                assert not re.match(r"^[=+\-@]\D", cell), f"{url} {fmt}: formula cell {cell!r}"
    # the elder's name reaches the pages that are about them, escaped
    assert f"/people/{world.person.id}" in seen_on
    assert f"/facilities/{world.home.id}" in seen_on
    assert f"/homecare/claims/{world.claim_id}" in seen_on
    assert exports >= 5, "the export walk found too few exports to mean anything"
    assert unknown == [] or all("<" in u for u in unknown)


def test_every_form_refuses_a_post_without_its_csrf_token(app, client, world):
    """Every page route that takes a POST (the API's bearer calls need no token): logged
    in as the bureau, with no token → sent back with a message, and nothing changed."""
    values = world.args()
    f.login(client, world.admin)
    checked = 0
    before = db.session.execute(db.text("SELECT count(*) FROM audit_log")).scalar()
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.rule.startswith("/api/"):
            continue
        filled = {}
        for name in rule.arguments:
            conv = rule._converters.get(name)
            if isinstance(conv, AnyConverter):
                filled[name] = sorted(conv.items)[0]  # approve|reject: any one will do
            else:
                filled[name] = values.get(name, 1)  # an id of some record
        url = rule.build(filled, append_unknown=False)[1]
        resp = client.post(url, data={"reason": "x", "name": "x"})
        # a page answers with a redirect back and says why; nothing is done
        assert resp.status_code == 303, (rule.rule, resp.status_code)
        assert "表单已过期" in client.get(resp.location).text, rule.rule
        checked += 1
    assert checked >= 15, checked
    db.session.expire_all()
    after = db.session.execute(db.text("SELECT count(*) FROM audit_log")).scalar()
    assert after == before, "a post without a CSRF token changed a record"


@pytest.mark.parametrize("who", ["other_manager", "other_boss", "other_worker", "worker"])
def test_no_role_outside_the_elders_home_and_provider_finds_them_anywhere(app, client, world, who):
    """Pages, exports and API reads, all of them, with the elder's own ids in the URL:
    the elder's name appears in none. (The home-care worker of the elder's own provider
    is outside too, except for the card page that their job is.)"""
    user = getattr(world, who)
    pages, _ = _urls(app, world, api=False)
    apis, _ = _urls(app, world, api=True)
    f.login(client, user)
    headers = f.headers(user)
    leaks = []
    for url in pages + apis:
        if who == "worker" and url.startswith("/v/"):
            continue
        resp = client.get(url, headers=headers if url.startswith("/api/") else None)
        assert resp.status_code < 500, (url, resp.status_code)
        if MARK in _text(resp):
            leaks.append(url)
        if not url.startswith("/api/"):
            sep = "&" if "?" in url else "?"
            export = client.get(f"{url}{sep}format=csv")
            if MARK in _text(export):
                leaks.append(url + " (csv)")
    assert leaks == []


@pytest.mark.parametrize(
    "who, where",
    [
        ("manager", "/facilities/{facility_id}"),
        ("boss", "/homecare/enrolments"),
        ("boss", "/api/v1/homecare/enrolments/{enrolment_id}"),
        ("worker", "/v/{token}"),
        ("auditor", "/people/{person_id}"),
    ],
)
def test_the_roles_inside_do_find_the_elder(app, client, world, who, where):
    """The other side of the boundary: the same walk would notice the elder."""
    user = getattr(world, who)
    f.login(client, user)
    url = where.format(**world.args())
    resp = client.get(url, headers=f.headers(user) if url.startswith("/api/") else None)
    assert resp.status_code == 200 and MARK in _text(resp), (url, resp.status_code)
