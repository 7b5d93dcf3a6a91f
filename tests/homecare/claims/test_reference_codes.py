"""A claim file writes a code in any case (issue 17.1): `jj-01` is the catalogue's
`JJ-01`; the line keeps the catalogue's spelling and is priced and approved like any."""

from __future__ import annotations

from decimal import Decimal

from eldercare.extensions import db
from homecare import services as hs
from tests import factories as f

from .conftest import by_line, claim_and_reconcile, claim_month, line, upload


def test_a_claim_line_matches_its_code_ignoring_case(client, month):
    hs.add_service(
        hs.price_year(claim_month()[0]), "JJ-01", "居家保洁（按目录）", "hour", Decimal("40.00")
    )
    db.session.commit()
    v = month.visit(0, 3, 9, 65, [("jj-01", 1)])
    assert [s.service_code for s in v.services] == ["JJ-01"]
    ans = claim_and_reconcile(client, month, [line(1, v, code="jJ-01", amount="40.00")])
    x = by_line(ans)[1]
    assert (x["decision"], x["approved"], x["reasons"]) == ("approved", "40.00", [])
    lines = client.get(
        f"/api/v1/homecare/claims/{ans['id']}/lines", headers=f.headers(month.admin)
    ).json["items"]
    assert [x["service_code"] for x in lines] == ["JJ-01"]


def test_an_unknown_code_is_still_refused_naming_the_column(client, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    r = upload(client, month.boss, month.provider.id, [line(1, v, code="JJ-99")])
    assert r.status_code == 422
    assert any(p["column"] == "service_code" for p in r.json["error"]["errors"])
