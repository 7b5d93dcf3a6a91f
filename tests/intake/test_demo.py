"""The demo's applications: every step and outcome, late steps, township clerks, a
waiting list since the places are full, notices running today; and PRODUCT.md's 特困 and
home-care figures untouched."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from eldercare.demo import load_demo
from eldercare.extensions import db
from eldercare.models import User
from eldercare.timeutil import local_today
from intake.models import Application, ApplicationStep
from tests import factories


def test_the_demo_has_a_year_of_applications(client):
    load_demo(scale=1, seed=11, echo=lambda _m: None)
    h = factories.headers(db.session.scalar(sa.select(User).where(User.username == "admin")))
    o = client.get("/api/v1/stats/overview", headers=h).json
    assert o["wubao"]["total"] == 1670 and o["wubao"]["centralized"] == 1298
    assert o["homecare"]["enrolled"] == 11000
    seen = Counter(
        (a.kind.value, a.status.value) for a in db.session.scalars(sa.select(Application))
    )
    for kind, status in (
        ("tekun", "received"),
        ("tekun", "checked"),
        ("tekun", "noticed"),
        ("tekun", "approved"),
        ("tekun", "refused"),
        ("homecare", "received"),
        ("homecare", "checked"),
        ("homecare", "approved"),
        ("homecare", "refused"),
        ("homecare", "waiting"),
    ):
        assert seen[(kind, status)] > 0, (kind, status, seen)
    assert seen[("tekun", "withdrawn")] + seen[("homecare", "withdrawn")] > 0
    assert db.session.scalar(sa.select(sa.func.count()).where(ApplicationStep.late)) > 10
    intake = o["intake"]
    assert intake["late"] > 0 and intake["waiting"] > 0 and intake["refused"] > 0
    clerks = db.session.scalars(sa.select(User).where(User.role == "township")).all()
    assert {c.username for c in clerks} == {"shima", "weicheng", "fule"}
    mine = client.get("/api/v1/applications", headers=factories.headers(clerks[0])).json
    assert mine["total"] > 0
    assert {a["township_code"] for a in mine["items"]} == {clerks[0].township_code}
    waiting = client.get("/api/v1/homecare/waiting-list", headers=h).json
    assert waiting["taken"] >= waiting["places"] == 11000 and waiting["total"] > 20
    scores = [e["score"] for e in waiting["items"]]
    assert scores == sorted(scores, reverse=True)
    today = local_today()
    running = db.session.scalar(
        sa.select(sa.func.count(Application.id)).where(
            Application.notice_from <= today, Application.notice_until >= today
        )
    )
    assert running >= 3
