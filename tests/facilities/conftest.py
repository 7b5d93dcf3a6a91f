"""Facilities test helpers: homes with beds, people to admit, managers of each home."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from eldercare.extensions import db
from eldercare.timeutil import local_today
from facilities import services
from tests import factories


def days_ago(n: int) -> date:
    return local_today() - timedelta(days=n)


def make_home(
    name: str = "魏城镇敬老院",
    beds: int = 3,
    kind: str = "care_home",
    township: str | None = "510704104",
    nursing: int = 0,
    room_sex: str = "mixed",
):
    f = services.create_facility(name, kind, township, opened_on=date(2000, 1, 1))
    made = []
    for i in range(beds):
        made.append(
            services.add_bed(
                f,
                f"{i + 1:02d}",
                "nursing" if i < nursing else "ordinary",
                room=f"R{i // 2 + 1}",
                room_sex=room_sex,
                created_on=date(2000, 1, 1),
            )
        )
    db.session.commit()
    return f, made


@pytest.fixture
def home(app):
    return make_home()


@pytest.fixture
def other_home(app):
    return make_home("石马镇中心敬老院", township="510704101")


@pytest.fixture
def manager(home):
    return factories.user("manager", facility_id=home[0].id)


@pytest.fixture
def manager_headers(manager):
    return factories.headers(manager)
