"""The day tallies of the overview and the dashboard (eldercare/day_tallies.py: 特困
persons, the district's beds, the elders enrolled, the visits per month) stay exactly
equal to a count of the rows after a random mix of writes — admissions, transfers,
leaves, discharges, deaths, outages, reservations, a bed's kind changed, 特困 support
started and ended, enrolments, withdrawals, changes of provider, scans and job runs —
and `eldercare figures recount --repair` mends a tally that was tampered with."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from click.testing import CliRunner

from eldercare import stats
from eldercare.cli import cli
from eldercare.errors import DomainError
from eldercare.extensions import db
from eldercare.jobs import run_job
from eldercare.people.services import end_wubao, record_death, start_wubao
from eldercare.registry import registry
from eldercare.timeutil import LOCAL, Month, local_today
from eldercare.wubao_tallies import WubaoDay, supported_on
from facilities import availability, queries, setup, stays
from facilities.models import Stay
from facilities.tallies import BedDay
from homecare import cards, dashboard, figure_tallies, lifecycle
from homecare.models import Enrolment
from tests import factories as f
from tests.facilities.conftest import make_home

from .conftest import elder, enrol, make_provider, visit

PICKS = ([{"code": "care", "quantity": 1}], [{"code": "clean", "quantity": 1}])


def _enrolled_counted(day: date) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(Enrolment.id)).where(
                Enrolment.year == day.year,
                Enrolment.enrolled_on <= day,
                sa.or_(Enrolment.ended_on.is_(None), Enrolment.ended_on > day),
            )
        )
        or 0
    )


def _beds(found: dict) -> dict:
    return {k: v.as_dict() for k, v in found.items()}


def _assert_figures_equal_a_count(days, admin, provider) -> None:
    for name, recount in registry().tallies.items():
        assert all(n == 0 for n in recount(False).values()), name
    for day in days:
        assert {k: n for k, n in supported_on(day).items() if n} == stats.wubao_counted(day), day
        assert _beds(queries.district_occupancy(day)) == _beds(
            queries.district_occupancy_counted(day)
        ), day
        assert figure_tallies.enrolled_on(day) == _enrolled_counted(day), day
    months = Month.of_year(local_today().year, until=local_today())
    assert dashboard._visits(admin, months) == dashboard.visits_counted(admin, months)
    assert dashboard._visits(provider, months) == dashboard.visits_counted(provider, months)


DONE: dict[str, int] = {}


def _try(fn, *args, **kw) -> bool:
    """One write in its own transaction; a refusal (occupied bed, dead person…) is rolled
    back, as a page would."""
    try:
        fn(*args, **kw)
        db.session.commit()
    except DomainError:
        db.session.rollback()
        return False
    DONE[fn.__name__] = DONE.get(fn.__name__, 0) + 1
    return True


def test_a_random_mix_of_writes_leaves_the_overview_tallies_equal_to_a_count(client, app):
    rng = random.Random(1512)
    today = local_today()
    first = date(today.year, 1, 1)
    admin = f.user("admin")
    _home, beds = make_home(beds=6, nursing=2)
    _other, other_beds = make_home("石马镇中心敬老院", beds=4, township="510704101")
    make_home("魏城镇日间照料中心", beds=3, kind="day_care")
    all_beds = beds + other_beds
    people = [f.person(f"五保{i}") for i in range(14)]
    for p in people:
        since = first - timedelta(days=rng.randrange(400))
        start_wubao(p, rng.choice(("elderly", "disabled", "minor")), "dispersed", since)
    db.session.commit()
    provider = make_provider()
    other_provider = make_provider("绵阳颐和居家养老服务有限公司", ("510704001",))
    boss = f.user("provider", provider_id=provider.id)
    workers = [f.user("worker", provider_id=provider.id) for _ in range(2)]
    enrolments = [enrol(elder(f"老人{i}"), provider) for i in range(8)]

    def between(a: date, b: date) -> date:
        return a + timedelta(days=rng.randrange((b - a).days + 1)) if b > a else a

    def past(max_days: int = 200) -> date:
        return today - timedelta(days=rng.randrange(max_days))

    for _ in range(160):
        action = rng.randrange(13)
        person, bed = rng.choice(people), rng.choice(all_beds)
        open_stays = list(db.session.scalars(sa.select(Stay).where(Stay.end_date.is_(None))))
        if action == 0:  # admission, centralised support from that day
            on = past()
            if _try(stays.admit, person, bed, on):
                _try(start_wubao, person, "elderly", "centralized", on)
        elif action == 1 and open_stays:  # transfer to another bed
            stay = rng.choice(open_stays)
            _try(stays.transfer, stay, rng.choice(all_beds), stay.start_date + timedelta(days=3))
        elif action == 2 and open_stays:  # discharge
            stay = rng.choice(open_stays)
            _try(stays.end_stay, stay, between(stay.start_date, today), "discharged")
        elif action == 3 and open_stays:  # leave, and perhaps back
            stay = rng.choice(open_stays)
            on = between(stay.start_date, today)
            left = _try(stays.start_leave, stay, "hospital", on, on + timedelta(days=7))
            if left and rng.random() < 0.6:
                _try(stays.return_from_leave, stay, between(on, today))
        elif action == 4 and rng.random() < 0.3:  # a death: everything held ends
            _try(record_death, person, past(60))
        elif action == 5:  # out of service and back
            on = past(30)
            if _try(availability.set_out_of_service, bed, on, "维修") and rng.random() < 0.6:
                _try(availability.back_in_service, bed, between(on + timedelta(days=1), today))
        elif action == 6:  # a free bed held for a living person
            living = [p for p in people if p.death_date is None] or people
            for free in all_beds:
                if _try(availability.reserve_bed, free, rng.choice(living)):
                    break
        elif action == 7:
            _try(setup.update_bed, bed, kind=rng.choice(("nursing", "ordinary")))
        elif action == 8:  # 特困 support ends, or starts in another form
            if rng.random() < 0.5:
                _try(end_wubao, person, past(90), "review")
            else:
                _try(start_wubao, person, "disabled", "dispersed", past(30))
        elif action == 9:  # an enrolment, a withdrawal, a change of provider
            choice = rng.random()
            e = rng.choice(enrolments)
            if choice < 0.3:
                enrolments.append(enrol(elder(f"新老人{len(enrolments)}"), provider))
            elif choice < 0.6:
                _try(lifecycle.withdraw, admin, e, past(60), "moved")
            else:
                _try(lifecycle.transfer, admin, e, other_provider, past(60))
        elif action in (10, 11):  # a visit: check-in, check-out, perhaps flagged
            e = rng.choice([e for e in enrolments if e.ended_on is None] or enrolments)
            if e.ended_on is not None:
                continue
            day = first + timedelta(days=rng.randrange((today - first).days + 1))
            start = datetime.combine(day, datetime.min.time(), LOCAL) + timedelta(
                hours=rng.randrange(7, 17)
            )
            if start < datetime.now(UTC):
                minutes = rng.choice((65, 10))  # a short one is flagged
                r = visit(
                    client, rng.choice(workers), cards.url(e), start, minutes, rng.choice(PICKS)
                )
                assert r.status_code in (200, 201, 403, 409, 422), r.json
        else:  # the jobs
            run_job("occupancy-snapshot", trigger="test")
            run_job("close-stale-visits", trigger="test")
            db.session.commit()

    done = {k for k, n in DONE.items() if n}
    assert done >= {
        "admit",
        "transfer",
        "end_stay",
        "start_leave",
        "return_from_leave",
        "record_death",
        "set_out_of_service",
        "back_in_service",
        "reserve_bed",
        "update_bed",
        "end_wubao",
        "start_wubao",
        "withdraw",
    }, DONE
    db.session.expire_all()
    days = [
        today,
        today - timedelta(days=1),
        today - timedelta(days=30),
        today - timedelta(days=200),
        first,
    ]
    _assert_figures_equal_a_count(days, admin, boss)
    assert stats.wubao_figures(today)["total"] > 0
    assert queries.district_occupancy(today)["all"].beds == 13
    assert figure_tallies.enrolled_on(today) > 0


def test_tampered_overview_tallies_are_found_and_repaired_by_the_command(app):
    _home, beds = make_home()
    p = f.person("五保甲")
    start_wubao(p, "elderly", "centralized", local_today() - timedelta(days=10))
    stays.admit(p, beds[0], local_today() - timedelta(days=10))
    db.session.commit()
    db.session.execute(sa.update(WubaoDay).values(persons=WubaoDay.persons + 1))
    db.session.execute(sa.delete(BedDay).where(BedDay.stays != 0))
    db.session.commit()
    assert supported_on(local_today()) != stats.wubao_counted(local_today())

    runner = CliRunner()
    found = runner.invoke(cli, ["figures", "recount"])
    assert found.exit_code == 1
    assert "wubao_days: 1 row(s) differ" in found.output
    assert "bed_days: 1 row(s) differ" in found.output
    fixed = runner.invoke(cli, ["figures", "recount", "--repair"])
    assert fixed.exit_code == 0, fixed.output
    db.session.expire_all()
    assert supported_on(local_today()) == stats.wubao_counted(local_today())
    assert _beds(queries.district_occupancy(local_today())) == _beds(
        queries.district_occupancy_counted(local_today())
    )
    assert queries.district_occupancy(local_today())["care_home"].occupied == 1
    again = runner.invoke(cli, ["figures", "recount"])
    assert again.exit_code == 0, again.output
