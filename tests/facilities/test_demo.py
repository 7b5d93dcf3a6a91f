"""The demo district's facilities: PRODUCT.md's figures, and a history without overlaps."""

from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm

from eldercare.demo import load_demo
from eldercare.extensions import db
from eldercare.models import User
from facilities.models import Facility, Stay
from tests import factories

from .daycare_demo import check_demo_day_care


def test_demo_reproduces_the_figures_and_a_consistent_history(client):
    logins = load_demo(scale=1, seed=7, echo=lambda _m: None)
    admin_headers = factories.headers(
        db.session.scalar(sa.select(User).where(User.username == "admin"))
    )
    o = client.get("/api/v1/stats/overview", headers=admin_headers).json
    assert o["facilities"] == {"care_home": 23, "day_care": 20, "private": 2, "homecare_org": 4}
    assert o["beds"]["care_home"]["total"] == 1720
    assert o["beds"]["care_home"]["residents"] == o["wubao"]["centralized"] == 1298
    assert o["wubao"]["centralized_rate"] == "0.777"
    assert 0.50 <= float(o["beds"]["care_home"]["nursing_share"]) <= 0.60
    assert o["beds"]["care_home"]["held"] > 0  # some residents on leave today
    day_and_org = db.session.scalar(
        sa.text(
            "SELECT count(*) FROM beds b JOIN facilities f ON f.id = b.facility_id "
            "WHERE f.kind IN ('day_care', 'homecare_org')"
        )
    )
    assert day_and_org == 1042
    names = set(db.session.scalars(sa.select(Facility.name)))
    assert {
        "魏城镇敬老院",
        "石马镇中心敬老院",
        "万鸿颐养院",
        "益康养老中心",
        "游仙区康乐居家养老服务中心",
        "游仙区福寿居家养老服务中心",
        "绵阳颐和居家养老服务有限公司",
        "游仙区夕阳红居家养老服务站",
    } <= names
    a, b = sa.orm.aliased(Stay), sa.orm.aliased(Stay)
    far = date(9999, 12, 31)
    for key in ("bed_id", "person_id"):
        overlaps = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(a)
            .join(
                b,
                sa.and_(
                    getattr(a, key) == getattr(b, key),
                    a.id < b.id,
                    a.start_date < sa.func.coalesce(b.end_date, far),
                    b.start_date < sa.func.coalesce(a.end_date, far),
                ),
            )
        )
        assert overlaps == 0, key
    reasons = dict(
        db.session.execute(
            sa.select(Stay.end_reason, sa.func.count()).group_by(Stay.end_reason)
        ).all()
    )
    assert all(reasons.get(r) for r in ("deceased", "moved", "transferred", "discharged"))
    managers = db.session.scalar(sa.select(sa.func.count(User.id)).where(User.role == "manager"))
    assert managers >= 23
    assert db.session.scalar(sa.select(User.id).where(User.username == "mgr_weicheng"))
    # a year ago the figures were answered from history too
    past = client.get("/api/v1/stats/overview?date=" + _year_ago(), headers=admin_headers).json
    assert past["beds"]["care_home"]["total"] == 1720
    # centrally supported persons who died during the year were in beds until then (other
    # demo steps may add a few deceased persons without a bed history of their own)
    assert 0 <= past["wubao"]["centralized"] - past["beds"]["care_home"]["residents"] <= 10
    check_demo_day_care(client, logins)  # issue 17.6: the centres' managers and a year


def _year_ago() -> str:
    from datetime import timedelta

    from eldercare.timeutil import local_today

    return (local_today() - timedelta(days=365)).isoformat()
