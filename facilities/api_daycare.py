"""Day-care API (issue 17.6): a day's register read and saved whole, and the centres' use
per month. Endpoints on api.bp; the service is daycare_register.py, the figures
daycare_figures.py."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from pydantic import Field

from eldercare.apikit import Body, Query, endpoint
from eldercare.auth.web import api_user
from eldercare.errors import Invalid
from eldercare.extensions import db
from eldercare.timeutil import local_today

from . import daycare_figures, daycare_register, scoping
from .api import READ, WRITE, bp
from .models import Facility


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Invalid(_l("日期须为 YYYY-MM-DD"), fields={"date": _l("须为 YYYY-MM-DD")}) from None


def register_json(facility, day: dt.date) -> dict:
    present = daycare_register.present_on(facility.id, day)
    people = daycare_register.regulars(facility, day)
    return {
        "facility_id": facility.id,
        "date": day.isoformat(),
        "person_ids": sorted(present),
        "attendance_days": len(present),
        "regulars": [
            {"person_id": p.id, "name": p.name, "present": p.id in present} for p in people
        ],
    }


@endpoint(
    bp,
    "/facilities/<int:facility_id>/attendance/<string:day>",
    roles=READ,
    summary="A day-care centre's register of a day: its regulars, who came",
)
def register_show(facility_id: int, day: str):
    f = scoping.get_facility(api_user(), facility_id)
    daycare_register.check_day_care(f)
    return register_json(f, _day(day))


class RegisterIn(Body):
    person_ids: list[int] = Field(
        max_length=daycare_register.MAX_PEOPLE,
        description="everyone present that day (the others: absent)",
    )


@endpoint(
    bp,
    "/facilities/<int:facility_id>/attendance/<string:day>",
    ["PUT"],
    roles=WRITE,
    body=RegisterIn,
    summary="Save a day's register whole (idempotent)",
)
def register_save(facility_id: int, day: str, body: RegisterIn):
    user = api_user()
    f = scoping.get_facility(user, facility_id)
    people = daycare_register.people_named(user, body.person_ids)
    saved = daycare_register.save_register(f, _day(day), people, user)
    db.session.commit()
    return saved.as_dict()


class UseQuery(Query):
    date: dt.date | None = None


@endpoint(
    bp,
    "/facilities/day-care",
    roles=READ,
    query=UseQuery,
    summary="Day-care use in the month of `date`: attendance days and distinct "
    "elders, in total and per centre (a manager: their own)",
)
def day_care_use(query: UseQuery):
    user = api_user()
    day = min(query.date or local_today(), local_today())
    return daycare_figures.month_table(day, scoping.facility_clause(user, Facility.id))
