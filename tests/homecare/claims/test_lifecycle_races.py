"""Concurrent claims on real server processes (issue 17.5): a visit is claimed once
however many claims name it at the same moment, a month has one main claim, and a
claim is withdrawn once, or reconciled, never both."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from eldercare.extensions import db
from homecare.claims.models import Claim, ClaimedVisit
from tests import factories as f

from ..test_races import fire
from .conftest import by_line, csv_bytes, line, month_text, reconcile, upload

N = 6


def _multipart(url: str, fields: dict, content: bytes, headers: dict) -> tuple[int, dict]:
    assert url.startswith("http://127.0.0.1:")
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="claim.csv"\r\nContent-Type: text/csv\r\n\r\n'.encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    req = urllib.request.Request(  # noqa: S310 (local servers)
        url,
        data=b"".join(parts),
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}", **headers},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _uploads_at_once(servers, user, provider_id, files: list[bytes]):
    headers = [f.headers(user) for _ in files]  # in the test's app context
    fields = {"provider_id": provider_id, "month": month_text()}
    db.session.commit()
    barrier = threading.Barrier(len(files))

    def one(i):
        barrier.wait()
        return _multipart(
            f"{servers[i % 2].url}/api/v1/homecare/claims", fields, files[i], headers[i]
        )

    with ThreadPoolExecutor(len(files)) as pool:
        return list(pool.map(one, range(len(files))))


@pytest.mark.race
@pytest.mark.parametrize("round_", range(2))
def test_two_supplementary_claims_for_the_same_visits_at_once(client, live_servers, month, round_):
    v0 = month.visit(0, 2, 9, 65, [("clean", 1)])
    assert upload(client, month.boss, month.provider.id, [line(1, v0)]).status_code == 201
    v1 = month.visit(1, 3, 9, 65, [("clean", 1)])
    v2 = month.visit(2, 4, 9, 65, [("clean", 1)])
    files = [csv_bytes([line(1, v1), line(2, v2)]), csv_bytes([line(1, v2), line(2, v1)])]
    answers = _uploads_at_once(live_servers, month.boss, month.provider.id, files)
    assert [code for code, _ in answers] == [201, 201], answers
    assert all(body["supplementary"] for _, body in answers)
    db.session.expire_all()
    assert {(c.visit_id) for c in db.session.query(ClaimedVisit)} == {v0.id, v1.id, v2.id}
    paid: dict[int, int] = {}
    for _, body in answers:
        for x in by_line(reconcile(client, month.admin, body["id"]).json).values():
            if x["decision"] == "approved":
                paid[x["visit_id"]] = paid.get(x["visit_id"], 0) + 1
            else:
                assert x["reasons"] == ["duplicate_line"], x
    assert paid == {v1.id: 1, v2.id: 1}  # each visit paid once, whichever claim has it


@pytest.mark.race
def test_first_claims_at_once_make_one_main_claim(client, live_servers, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    answers = _uploads_at_once(
        live_servers, month.boss, month.provider.id, [csv_bytes([line(1, v)])] * 4
    )
    assert [code for code, _ in answers] == [201] * 4, answers
    assert sorted(body["supplementary"] for _, body in answers) == [False, True, True, True]
    db.session.expire_all()
    assert db.session.query(ClaimedVisit).one().visit_id == v.id


@pytest.mark.race
def test_a_claim_is_withdrawn_once(client, live_servers, month):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    cid = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    users = [month.boss, month.admin] * (N // 2)
    answers = fire(
        [
            (f"{live_servers[i % 2].url}/api/v1/homecare/claims/{cid}/withdraw", {}, f.headers(u))
            for i, u in enumerate(users)
        ]
    )
    assert sorted(code for code, _ in answers) == [200] + [409] * (N - 1), answers


@pytest.mark.race
@pytest.mark.parametrize("round_", range(2))
def test_withdrawal_and_reconciliation_at_once_one_wins(client, live_servers, month, round_):
    v = month.visit(0, 3, 9, 65, [("clean", 1)])
    cid = upload(client, month.boss, month.provider.id, [line(1, v)]).json["id"]
    base = [s.url for s in live_servers]
    answers = fire(
        [
            (f"{base[0]}/api/v1/homecare/claims/{cid}/withdraw", {}, f.headers(month.boss)),
            (f"{base[1]}/api/v1/homecare/claims/{cid}/reconcile", {}, f.headers(month.admin)),
        ]
    )
    codes = [code for code, _ in answers]
    assert sorted(codes) == [200, 409], answers
    db.session.expire_all()
    status = db.session.get(Claim, cid).status.value
    assert status == ("withdrawn" if codes[0] == 200 else "reconciled")
    held = db.session.query(ClaimedVisit).count()
    assert held == (0 if status == "withdrawn" else 1)
