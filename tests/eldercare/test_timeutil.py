"""One Month type and the SQL time helpers: the district's months, their UTC bounds, and
the local date and month of stored UTC times on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from eldercare.errors import Invalid
from eldercare.extensions import db
from eldercare.timeutil import (
    Month,
    hours_before,
    local_date,
    local_month,
    months_between,
    seconds_between,
)


def test_a_month_parses_only_yyyy_mm_and_names_the_field():
    assert Month.parse("2026-06") == Month(2026, 6)
    for bad in (
        "2026-6",
        "2026-13",
        "2026-00",
        "26-06",
        "",
        None,
        "2026-06-01",
        "二〇二六-06",
        "0000-01",
        "9999-12",
    ):  # no month before or after: refused, not a 500
        with pytest.raises(Invalid) as err:
            Month.parse(bad, field="period")
        assert "period" in err.value.fields


def test_a_month_knows_its_days_neighbours_and_bounds_in_utc():
    feb = Month.parse("2028-02")
    assert (feb.first, feb.last, feb.days) == (date(2028, 2, 1), date(2028, 2, 29), 29)
    assert Month(2026, 12).next() == Month(2027, 1)
    assert Month(2027, 1).previous() == Month(2026, 12)
    assert str(Month(2026, 3)) == Month(2026, 3).text == "2026-03"
    # local midnight is 16:00 UTC the day before
    assert Month(2026, 6).bounds_utc() == (
        datetime(2026, 5, 31, 16, tzinfo=UTC),
        datetime(2026, 6, 30, 16, tzinfo=UTC),
    )
    assert date(2026, 6, 30) in Month(2026, 6) and date(2026, 7, 1) not in Month(2026, 6)
    assert Month(2026, 1) < Month(2026, 2) < Month(2027, 1)


def test_the_month_of_a_time_is_the_districts():
    # 1 July 2026 00:30 in Mianyang is still June in UTC
    assert Month.of(datetime(2026, 6, 30, 16, 30, tzinfo=UTC)) == Month(2026, 7)
    assert Month.of(date(2026, 6, 30)) == Month(2026, 6)
    assert Month.of_year(2026, until=date(2026, 3, 9)) == [Month(2026, m) for m in (1, 2, 3)]
    assert len(Month.of_year(2025, until=date(2026, 3, 9))) == 12
    assert months_between(date(2026, 11, 30), date(2027, 2, 1)) == 3
    assert months_between(date(2026, 5, 1), date(2026, 4, 1)) == 0


def test_sql_helpers_give_the_local_date_and_month_on_this_database(app):
    from eldercare.models import AuditEntry

    at = datetime(2026, 6, 30, 16, 30, tzinfo=UTC)  # 1 July 00:30 local
    col = sa.literal(at, AuditEntry.__table__.c.at.type)
    later = sa.literal(datetime(2026, 6, 30, 18, 0, 1, tzinfo=UTC), AuditEntry.__table__.c.at.type)
    row = db.session.execute(
        sa.select(
            local_date(col),
            local_month(col),
            seconds_between(col, later),
            hours_before(later, 2) <= col,
        )
    ).one()
    assert str(row[0]) == "2026-07-01" and row[1] == "2026-07"
    assert row[2] == 5401 and bool(row[3]) is True
