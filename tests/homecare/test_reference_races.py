"""Codes that differ only by case, added at once on two servers (issue 17.1): the unique
index on (year, lower(code)) lets one in and answers the others 409, never a 500."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.timeutil import local_today
from homecare.models import Service
from tests import factories as f

from .test_races import fire

N = 8


@pytest.mark.race
@pytest.mark.parametrize("round_", range(2))  # a race is run more than once
def test_codes_differing_by_case_added_at_once_only_one_lands(client, live_servers, round_):
    year = local_today().year + 1
    h = f.headers(f.user("admin"))
    spellings = ["JJ-07", "jj-07", "Jj-07", "jJ-07"]
    answers = fire(
        [
            (
                f"{live_servers[i % 2].url}/api/v1/homecare/services",
                {
                    "code": spellings[i % 4],
                    "name": f"项目{i}",
                    "unit": "hour",
                    "price": "40.00",
                    "year": year,
                },
                h,
            )
            for i in range(N)
        ]
    )
    codes = sorted(code for code, _ in answers)
    assert codes == [201] + [409] * (N - 1), answers
    refused = [b for code, b in answers if code == 409]
    assert all("code" in b["error"]["fields"] for b in refused), refused
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Service.id)).where(Service.year == year)) == 1
