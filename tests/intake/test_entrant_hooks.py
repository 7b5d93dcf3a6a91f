"""What intake answers through dynamic's hooks (intake/entrants.py), called directly:
who is applying or enrolled already, what accepting an entrant would start, the
application it starts, and the applications a death withdraws."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.errors import Conflict
from eldercare.extensions import db
from eldercare.timeutil import local_today
from intake import entrants
from intake.models import Application, Kind, Status
from tests.homecare.conftest import enrol, make_provider

from .helpers import SHIMA, applicant, clerk
from .test_steps import received


def test_nobody_applying_nor_enrolled_is_unsupported(app):
    assert entrants.supported(applicant(), local_today()) == []


def test_an_open_application_and_home_care_this_year_are_support(app):
    p = applicant()
    a = received(p)
    enrol(p, make_provider(townships=(SHIMA,)), local_today().year)
    year = local_today().year
    assert entrants.supported(p, local_today()) == [
        f"已有在办特困人员救助供养申请 #{a.id}",
        f"已登记 {year} 年居家养老服务",
    ]


def test_a_closed_application_or_last_years_home_care_is_not(app, admin):
    from intake.steps import withdraw

    p = applicant()
    withdraw(received(p), admin, "不再申请")
    enrol(p, make_provider(townships=(SHIMA,)), local_today().year - 1)
    assert entrants.supported(p, local_today()) == []


@pytest.mark.parametrize(
    "age, categories, kind",
    [
        (80, [], Kind.HOMECARE),  # 80周岁以上高龄老人
        (79, [], Kind.TEKUN),
        (60, ["dibao"], Kind.HOMECARE),  # 60周岁以上低保对象
        (59, ["dibao"], Kind.TEKUN),
    ],
)
def test_an_entrant_is_proposed_for_home_care_where_the_years_rules_hold(
    app, age, categories, kind
):
    p = applicant(age=age, categories=categories)
    today = local_today()
    if (today.month, today.day) < (3, 12):  # applicant() is born on 12 March
        p.birth_date = p.birth_date.replace(year=p.birth_date.year - 1)
    assert entrants.kind_for(p, today) == kind


def test_the_effects_of_accepting_an_entrant(app):
    old = applicant(age=85)
    assert entrants.effects(old, "age", local_today())[0].startswith("受理居家养老服务申请")
    young = applicant("李四", age=61)
    assert entrants.effects(young, "disability", local_today()) == [
        "受理特困人员救助供养申请，交所在乡镇（街道）入户调查核实"
    ]
    nowhere = applicant("赵五", township=None)
    assert entrants.effects(nowhere, "dibao", local_today()) == [
        "此人未登记所在乡镇（街道），请先补全再采纳"
    ]
    assert entrants.effects(young, "income", local_today()) == []


def test_a_death_or_a_move_would_withdraw_the_open_applications(app):
    p = applicant()
    a = received(p)
    assert entrants.effects(p, "death", local_today()) == [
        f"在办的特困人员救助供养申请 #{a.id} 撤回"
    ]
    assert entrants.effects(applicant("李四"), "moved", local_today()) == []


def test_an_accepted_entrant_is_received_today_by_whoever_accepted(app):
    p, user = applicant(age=61), clerk()
    said = entrants.start(p, "disability", local_today(), proposal_id=None, user_id=user.id)
    a = db.session.scalars(sa.select(Application)).one()
    assert said == [f"已受理特困人员救助供养申请 #{a.id}"]
    assert (a.status, a.kind, a.source, a.received_on, a.township_code) == (
        Status.RECEIVED,
        Kind.TEKUN,
        "disability",
        local_today(),
        SHIMA,
    )


def test_an_entrant_accepted_by_nobody_known_is_refused(app):
    with pytest.raises(Conflict) as exc:
        entrants.start(applicant(), "dibao", local_today(), user_id=None)
    assert exc.value.code == "no_user"
    assert db.session.scalar(sa.select(sa.func.count(Application.id))) == 0


def test_a_death_withdraws_the_applicants_open_applications(app):
    p = applicant()
    received(p)
    entrants.on_death(p, local_today())
    a = db.session.scalars(sa.select(Application)).one()
    db.session.refresh(a)
    assert (a.status, a.withdraw_reason) == (Status.WITHDRAWN, "申请人死亡")
