"""The machinery of an application's steps (intake/steps.py) on its own: the day a step
is done, the conditional move from one status to the next, the deadline and lateness,
receiving and withdrawing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from eldercare.errors import Conflict, Invalid, NotFound
from eldercare.extensions import db
from eldercare.people import services as people
from eldercare.timeutil import local_today
from intake import steps
from intake.models import Application, ApplicationStep, Status, Step

from .helpers import SHIMA, XINQIAO, applicant, clerk


def monday_weeks_ago(weeks: int) -> date:
    today = local_today()
    return today - timedelta(days=today.weekday() + 7 * weeks)


def received(person, on: date | None = None, kind: str = "tekun", user=None):
    return steps.receive(
        user or clerk(), steps.NewApplication(kind=kind, person_id=person.id, received_on=on)
    )


# --- the day of a step -------------------------------------------------------------------


def test_a_step_is_done_today_by_default_and_never_tomorrow(app):
    today = local_today()
    assert steps.check_day(None) == today
    with pytest.raises(Invalid) as exc:
        steps.check_day(today + timedelta(days=1), field="checked_on")
    assert exc.value.fields == {"checked_on": "不能晚于今天"}


def test_a_step_may_be_on_the_day_of_the_one_before_but_not_earlier(app):
    before = local_today() - timedelta(days=3)
    assert steps.check_day(before, after=before) == before
    with pytest.raises(Invalid):
        steps.check_day(before - timedelta(days=1), after=before)


# --- receiving ---------------------------------------------------------------------------


def test_a_tekun_application_is_due_to_be_checked_three_weeks_later(app):
    monday = monday_weeks_ago(5)
    a = received(applicant(), monday)
    assert (a.status, a.version, a.received_on) == (Status.RECEIVED, 1, monday)
    assert a.due == monday + timedelta(weeks=3)  # 15 working days
    assert [s.step for s in a.steps] == [Step.RECEIVE]


def test_a_home_care_application_is_due_to_be_assessed_two_weeks_later(app):
    monday = monday_weeks_ago(5)
    a = received(applicant(), monday, kind="homecare")
    assert a.due == monday + timedelta(weeks=2)  # 10 working days


def test_an_application_may_be_recorded_up_to_366_days_late(app):
    today = local_today()
    assert received(applicant(), today - timedelta(days=366)).received_on == (
        today - timedelta(days=366)
    )
    with pytest.raises(Invalid) as exc:
        received(applicant("李四"), today - timedelta(days=367))
    assert "received_on" in exc.value.fields


def test_a_second_open_application_of_one_kind_is_refused_but_another_kind_is_not(app):
    p = applicant()
    first = received(p)
    with pytest.raises(Conflict) as exc:
        received(p)
    assert exc.value.code == "already_applying" and f"#{first.id}" in exc.value.message
    assert received(p, kind="homecare").kind.value == "homecare"


def test_no_tekun_application_for_someone_supported_already(app):
    p = applicant()
    people.start_wubao(p, "elderly", "dispersed", date(2020, 1, 1))
    with pytest.raises(Conflict) as exc:
        received(p)
    assert exc.value.code == "already_supported"


def test_no_application_for_the_dead_nor_without_a_township(app, admin):
    dead = applicant()
    people.record_death(dead, local_today())
    with pytest.raises(Conflict) as exc:
        received(dead, user=clerk())
    assert exc.value.code == "not_active"
    nowhere = applicant("李四", township=None)
    with pytest.raises(Invalid) as exc:
        received(nowhere, user=admin)
    assert "township_code" in exc.value.fields


def test_a_township_clerk_cannot_receive_for_another_township(app):
    with pytest.raises(NotFound):
        received(applicant(township=XINQIAO), user=clerk(SHIMA))


def test_the_year_applied_for_is_this_year_or_the_next(app, admin):
    p, on = applicant(), local_today()
    data = steps.NewApplication(kind="homecare", person_id=p.id, year=on.year + 2)
    with pytest.raises(Invalid) as exc:
        steps.receive(admin, data)
    assert "year" in exc.value.fields
    data.year = on.year + 1
    assert steps.receive(admin, data).year == on.year + 1


@pytest.mark.parametrize("kind, wanted", [("elderly", None), ("tekun", "nursing")])
def test_an_unknown_kind_or_form_of_support_is_refused(app, admin, kind, wanted):
    data = steps.NewApplication(kind=kind, person_id=applicant().id, support_wanted=wanted)
    with pytest.raises(Invalid):
        steps.receive(admin, data)
    assert db.session.scalar(sa.select(sa.func.count(Application.id))) == 0


# --- moving on ---------------------------------------------------------------------------


def check(a: Application, on: date, user=None) -> ApplicationStep:
    return steps.advance(
        a, Step.CHECK, user, on, allowed=(Status.RECEIVED,), to=Status.CHECKED, due_next=None
    )


def test_a_step_on_its_deadline_is_on_time_and_a_day_after_is_late(app):
    monday = monday_weeks_ago(5)
    on_time = received(applicant(), monday)
    assert check(on_time, on_time.due).late is False
    late = received(applicant("李四"), monday)
    row = check(late, late.due + timedelta(days=1))
    assert (row.late, row.due) == (True, monday + timedelta(weeks=3))
    db.session.refresh(late)
    assert (late.status, late.version, late.due) == (Status.CHECKED, 2, None)


def test_a_step_out_of_order_is_refused(app):
    a = received(applicant())
    check(a, local_today())
    with pytest.raises(Conflict) as exc:
        check(a, local_today())
    assert exc.value.code == "out_of_order"


def test_a_clerk_working_from_a_stale_read_loses_to_the_one_who_moved_it(app):
    a = received(applicant())
    db.session.execute(
        sa.update(Application)
        .where(Application.id == a.id)
        .values(version=Application.version + 1)
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(Conflict) as exc:
        check(a, local_today())
    assert exc.value.code == "out_of_order"
    assert (
        db.session.scalar(
            sa.select(sa.func.count(ApplicationStep.id)).where(ApplicationStep.step == Step.CHECK)
        )
        == 0
    )


# --- withdrawing -------------------------------------------------------------------------


def test_withdrawing_needs_a_reason_and_closes_the_application(app, admin):
    a = received(applicant())
    with pytest.raises(Invalid):
        steps.withdraw(a, admin, "  ")
    steps.withdraw(a, admin, "申请人不再申请")
    db.session.refresh(a)
    assert (a.status, a.withdraw_reason, a.due) == (Status.WITHDRAWN, "申请人不再申请", None)
    with pytest.raises(Conflict):
        steps.withdraw(a, admin, "再次撤回")


def test_a_death_withdraws_every_open_application_of_the_person(app):
    p = applicant()
    received(p), received(p, kind="homecare")
    other = received(applicant("李四"))
    assert steps.withdraw_for(p, local_today(), "申请人死亡") == 2
    assert steps.last_day(other) == other.received_on
    assert set(
        db.session.scalars(sa.select(Application.status).where(Application.person_id == p.id))
    ) == {Status.WITHDRAWN}
    db.session.refresh(other)
    assert other.status == Status.RECEIVED
