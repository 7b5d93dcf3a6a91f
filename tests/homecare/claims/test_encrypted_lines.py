"""Claim lines keep the claimed ID number encrypted; reconciliation compares blind
indexes, for uploaded and generated claims alike."""

from __future__ import annotations

import sqlalchemy as sa

from eldercare.extensions import db

from .conftest import claim_and_reconcile, line, month_text
from .test_reconcile import only


def _stored() -> list[tuple[str, str]]:
    return db.session.execute(sa.text("SELECT id_number, id_number_hash FROM claim_lines")).all()


def test_uploaded_lines_hold_ciphertext_and_still_match_their_elder(client, month):
    v = month.visit(0, 5, 9, 65, [("clean", 1)])
    w = month.visit(1, 6, 9, 65, [("clean", 1)])
    ans = claim_and_reconcile(
        client, month, [line(1, v), line(2, w, id_number=month.elders[2].id_number)]
    )
    assert only(ans, 1) == ("approved", "40.00", [])
    assert only(ans, 2) == ("rejected", "0.00", ["id_mismatch"])
    numbers = {e.id_number for e in month.elders}
    for token, index in _stored():
        assert token.startswith("v1:") and len(index) == 64
        assert not any(n in token or n in index for n in numbers)


def test_a_generated_claim_copies_the_encrypted_number(client, month):
    from tests import factories as f

    month.visit(0, 5, 9, 65, [("clean", 1)])
    r = client.post(
        "/api/v1/homecare/claims/generate",
        headers=f.headers(month.boss),
        json={"provider_id": month.provider.id, "month": month_text()},
    )
    assert r.status_code == 201, r.json
    ((token, index),) = _stored()
    person = month.elders[0]
    assert person.id_number not in token
    assert index == person.id_number_hash
    r = client.post(
        f"/api/v1/homecare/claims/{r.json['id']}/reconcile", headers=f.headers(month.admin)
    )
    assert r.status_code == 200 and only(r.json, 1)[2] == []
