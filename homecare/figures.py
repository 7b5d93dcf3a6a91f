"""Home-care figures for the overview, /public and the person page."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from eldercare.extensions import db
from eldercare.timeutil import local_midnight_utc

from . import figure_tallies, services, tallies
from .models import Enrolment, Provider, Visit

ONE_DAY = timedelta(days=1)


def enrolled_on(day: date) -> sa.ColumnElement[bool]:
    return sa.and_(
        Enrolment.year == day.year,
        Enrolment.enrolled_on <= day,
        sa.or_(Enrolment.ended_on.is_(None), Enrolment.ended_on > day),
    )


def homecare_figures(day: date) -> dict:
    """The year of `day`: elders enrolled on that day, the subsidy allocated and spent
    up to it and the visits made (all from the day tallies, so a past date is answered from
    history at the cost of a year's days, whatever the district's size)."""
    enrolled = figure_tallies.enrolled_on(day)
    allocated, spent = tallies.ledger_totals(day.year, day)
    return {
        "year": day.year,
        "enrolled": enrolled or 0,
        "subsidy_per_person": services.subsidy_for(day.year),
        "allocated": allocated,
        "spent": spent,
        "visits": tallies.visits_between(date(day.year, 1, 1), day),
    }


def overview(day: date) -> dict:
    return {"homecare": homecare_figures(day)}


def public(day: date) -> dict:
    f = homecare_figures(day)
    return {
        "homecare": {
            "title": _("居家养老服务"),
            "lines": [  # in the reader's language
                (_("享受政府购买服务的老人"), f"{f['enrolled']:,}"),
                (_("每人每年补贴"), f"¥{f['subsidy_per_person']:,.2f}"),
                (_("今年已下拨"), f"¥{f['allocated']:,.2f}"),
                (_("今年已使用"), f"¥{f['spent']:,.2f}"),
                (_("今年上门服务次数"), f"{f['visits']:,}"),
            ],
        }
    }


def person_panel(person) -> dict:
    """The person's enrolments, as far as the viewer may see them."""
    from flask_login import current_user

    from .scoping import enrolments

    rows = db.session.scalars(
        enrolments(current_user)
        .where(Enrolment.person_id == person.id)
        .order_by(Enrolment.year.desc())
    )
    return {"enrolments": list(rows)}


def manual_counts(year: int) -> dict[int, tuple[int, int]]:
    """(visits, manual visits) per provider in `year`: the share logged by hand without a
    card is watched per provider (Texas asks for 80% verified without manual edits)."""
    start, end = local_midnight_utc(date(year, 1, 1)), local_midnight_utc(date(year + 1, 1, 1))
    # Provider by provider (IN) through ix_visits_provider_in, which holds all three
    # columns, in provider order; on the date alone SQLite would take ix_visits_in, fetch
    # every visit of the year and sort them by provider (4× slower at demo scale 10).
    rows = db.session.execute(
        sa.select(
            Visit.provider_id,
            sa.func.count(Visit.id),
            sa.func.sum(sa.case((Visit.manual.is_(True), 1), else_=0)),
        )
        .where(
            Visit.provider_id.in_(sa.select(Provider.id)),
            Visit.check_in_at >= start,
            Visit.check_in_at < end,
        )
        .group_by(Visit.provider_id)
    )
    return {pid: (int(n), int(m or 0)) for pid, n, m in rows}
