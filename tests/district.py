"""A small district with one of every kind of record, and the pages each role uses: for
the accessibility checks (tests/browser/test_axe.py) and the English pages
(tests/test_english.py)."""

from __future__ import annotations

from datetime import timedelta

from eldercare.extensions import db
from eldercare.timeutil import local_today
from tests import factories as f


def build_district(client) -> dict:
    """A small district with one of every record a page shows; what the pages need to
    name them (ids, the card token, the users)."""
    from dynamic import wubao
    from eldercare.people import services as people
    from facilities import services as fs
    from homecare import cards
    from homecare import services as hs
    from tests.dynamic.helpers import csv_bytes
    from tests.dynamic.helpers import upload as upload_list
    from tests.homecare.claims.conftest import at, line, month_text, upload
    from tests.homecare.conftest import elder, enrol

    home = fs.create_facility(
        "魏城镇敬老院", "care_home", "510704104", opened_on=local_today() - timedelta(days=3650)
    )
    beds = [
        fs.add_bed(
            home,
            f"0{i}",
            "nursing" if i == 1 else "ordinary",
            room="R1",
            room_sex="mixed",
            created_on=local_today() - timedelta(days=3650),
        )
        for i in (1, 2, 3)
    ]
    centre = fs.create_facility(
        "魏城镇日间照料中心",
        "day_care",
        "510704104",
        opened_on=local_today() - timedelta(days=3650),
    )
    provider = hs.create_provider(
        "游仙区康乐居家养老服务中心",
        ["510704001"],
        local_today().replace(month=1, day=1),
        local_today().replace(month=12, day=31),
    )
    db.session.commit()
    users = {
        "admin": f.user("admin", username="clerk"),
        "auditor": f.user("auditor", username="shenji"),
        "manager": f.user("manager", facility_id=home.id, username="mgr"),
        "provider": f.user("provider", provider_id=provider.id, username="kangle"),
        "worker": f.user("worker", provider_id=provider.id, username="kangle_w1"),
        "township": f.user("township", township_code="510704101", username="shima"),
    }
    resident = f.person("王德福")
    people.start_wubao(resident, "elderly", "centralized", local_today() - timedelta(days=400))
    stay = fs.admit(resident, beds[0], local_today() - timedelta(days=30), users["manager"])
    applicant = f.person("赵长顺")
    people.start_wubao(
        applicant,
        "elderly",
        "dispersed",
        local_today() - timedelta(days=400),
        applied_centralized_on=local_today() - timedelta(days=9),
    )
    leaver = f.person("钱玉兰", sex="F", township_code="510704101")
    people.start_wubao(leaver, "elderly", "dispersed", local_today() - timedelta(days=400))
    db.session.commit()
    wubao.terminate(leaver, "voluntary", local_today() - timedelta(days=1))
    a = elder("李秀英")
    e = enrol(a, provider)
    from homecare import visits as hv

    v = hv.check_in(users["worker"], e, at(3, 9))
    from decimal import Decimal

    hv.check_out(v, at(3, 10), [("clean", Decimal("1"))])
    db.session.commit()
    claim = upload(client, users["provider"], provider.id, [line(1, v)]).json["id"]
    client.post(f"/api/v1/homecare/claims/{claim}/reconcile", headers=f.headers(users["admin"]))
    comparison = upload_list(
        client,
        f.headers(users["admin"]),
        "death",
        csv_bytes(
            [[resident.id_number, "王德福", (local_today() - timedelta(days=2)).isoformat()]]
        ),
    )
    db.session.commit()
    # the township clerk's applications in 石马镇: a 特困 one checked, a home-care one
    # received (its check form, the six items, is on its page)
    from tests.intake.helpers import assessment, receive, step

    th = f.headers(users["township"])
    tekun = receive(client, th, f.person("孙桂芝", township_code="510704101"))
    step(client, th, tekun["id"], "check", {"assessment": assessment(2)})
    care = receive(
        client,
        th,
        f.person("周德明", township_code="510704101"),
        kind="homecare",
        year=local_today().year,
    )
    db.session.commit()
    return {
        "users": users,
        "application": tekun["id"],
        "care_application": care["id"],
        "home": home.id,
        "bed": beds[1].id,
        "centre": centre.id,
        "person": resident.id,
        "leaver": leaver.id,
        "enrolment": e.id,
        "claim": claim,
        "visit": v.id,
        "comparison": comparison.json["id"],
        "month": month_text(),
        "card": cards.url(e).split("/v/", 1)[1],
        "stay": stay.id,
        "provider": provider.id,
        "service": hs.find_service(local_today().year, "clean").id,
    }


def pages_by_role(d: dict) -> dict[str, list[str]]:
    fac, bed, e, c = d["home"], d["bed"], d["enrolment"], d["claim"]
    office = ("/", "/password")
    return {
        "admin": [
            *office,
            "/overview",
            "/people",
            f"/people/{d['person']}",
            f"/people/{d['person']}/edit",
            "/people/new",
            "/people/import",
            "/facilities",
            f"/facilities/{fac}",
            f"/facilities/{fac}/beds/{bed}",
            "/placements",
            "/facilities/occupancy",
            "/facilities/transfers",
            f"/facilities/{d['centre']}/attendance",
            f"/facilities/{d['centre']}/register",
            "/facilities/new",
            f"/facilities/{fac}/edit",
            f"/facilities/{fac}/setup",
            "/homecare/enrolments",
            f"/homecare/enrolments/{e}",
            "/homecare/visits",
            "/homecare/dashboard",
            "/homecare/claims",
            f"/homecare/claims/{c}",
            f"/homecare/claims/visits/{d['visit']}",
            "/homecare/callbacks",
            "/homecare/scorecards",
            "/homecare/patterns",
            "/homecare/cards",
            f"/homecare/enrolments/{e}/year-statement",
            "/comparisons",
            f"/comparisons/{d['comparison']}",
            "/comparisons/figures",
            "/reviews",
            f"/reviews/{d['leaver']}",
            "/notices",
            "/users",
            "/jobs",
            "/audit",
            "/homecare/providers",
            "/homecare/providers/new",
            f"/homecare/providers/{d['provider']}",
            "/homecare/prices",
            f"/homecare/prices/{d['service']}",
            "/homecare/subsidy",
            "/applications",
            f"/applications/{d['application']}",
            f"/applications/{d['care_application']}",
            "/applications/notices",
            "/applications/figures",
            "/homecare/waiting-list",
            "/homecare/eligibility",
            "/calendar",
        ],
        "auditor": [
            *office,
            "/people",
            f"/facilities/{fac}",
            "/homecare/claims",
            f"/homecare/claims/{c}",
            "/audit",
            "/homecare/providers",
            f"/homecare/providers/{d['provider']}",
            "/homecare/prices",
            "/homecare/eligibility",
            "/calendar",
        ],
        "manager": [
            *office,
            f"/facilities/{fac}",
            f"/facilities/{fac}/beds/{bed}",
            "/facilities/transfers",
            "/overview",
            f"/facilities/{fac}/setup",
            f"/facilities/{fac}/beds/{bed}/edit",
        ],
        "provider": [
            *office,
            "/homecare/enrolments",
            f"/homecare/enrolments/{e}",
            "/homecare/visits",
            "/homecare/workers",
            "/homecare/claims",
            f"/homecare/claims/{c}",
            "/homecare/scorecards",
            "/homecare/dashboard",
            f"/homecare/enrolments/{e}/year-statement",
        ],
        "worker": ["/scan", f"/v/{d['card']}", "/scan/manual", "/password"],
        # the township clerk of 石马镇, where the leaver lives: their applications first
        "township": [
            *office,
            "/applications",
            "/applications/new",
            f"/applications/{d['application']}",
            f"/applications/{d['care_application']}",
            "/applications/notices",
            "/homecare/waiting-list",
            "/people",
            f"/people/{d['leaver']}",
        ],
        None: ["/login", "/public", "/public/notices"],
    }
