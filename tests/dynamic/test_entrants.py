"""Who an entrants' list proposes (dynamic/entrants.py) on its own: 低保 only from 60,
the age list only in the month someone turns 60 or 80, nobody already supported, and the
category accepting records."""

from __future__ import annotations

from datetime import date

import pytest

from dynamic import entrants
from dynamic.models import ComparisonKind
from dynamic.models import RowResult as R
from eldercare.extensions import db
from eldercare.models import Category, Person
from eldercare.people import services as people
from tests import factories as f

DAY = date(2026, 6, 15)  # the list's date; its month is June 2026


def born(birth: date, **kw) -> Person:
    p = f.person("王德福", birth=birth, township_code="510704101", **kw)
    db.session.flush()
    return p


def test_a_dibao_recipient_is_proposed_from_the_day_they_are_60(app):
    assert entrants.judge(ComparisonKind.DIBAO, DAY, born(date(1966, 6, 16))) == (
        R.MATCHED,
        "未满60周岁（低保名单只比对60周岁以上）",
        False,
    )
    result, reason, proposes = entrants.judge(ComparisonKind.DIBAO, DAY, born(date(1966, 6, 15)))
    assert (result, proposes) == (R.MATCHED, True)
    assert reason == "60周岁以上低保对象，未享受特困供养或居家养老服务"


@pytest.mark.parametrize("birth, age", [(date(1966, 6, 30), 60), (date(1946, 6, 1), 80)])
def test_the_age_list_proposes_who_turns_60_or_80_that_month(app, birth, age):
    result, reason, proposes = entrants.judge(ComparisonKind.AGE, DAY, born(birth))
    assert (result, proposes) == (R.MATCHED, True)
    assert reason == f"当月年满{age}周岁，未享受特困供养或居家养老服务"


@pytest.mark.parametrize(
    "birth",
    [
        date(1965, 6, 15),  # 61 this month
        date(1966, 7, 1),  # turns 60 next month
        date(1966, 5, 31),  # turned 60 last month
        date(1956, 6, 15),  # 70
    ],
)
def test_the_age_list_finds_nobody_else(app, birth):
    result, _reason, proposes = entrants.judge(ComparisonKind.AGE, DAY, born(birth))
    assert (result, proposes) == (R.AMBIGUOUS, False)


def test_someone_already_supported_is_matched_and_not_proposed(app):
    p = born(date(1950, 1, 1))
    people.start_wubao(p, "elderly", "dispersed", date(2020, 1, 1))
    assert entrants.supported(p, DAY) == ["已是特困供养人员"]
    assert entrants.judge(ComparisonKind.DISABILITY, DAY, p) == (
        R.MATCHED,
        "已是特困供养人员",
        False,
    )


def test_nobody_unsupported_has_a_reason_to_be_left_out(app):
    assert entrants.supported(born(date(1950, 1, 1)), DAY) == []


@pytest.mark.parametrize(
    "kind, birth, category",
    [
        ("dibao", date(1950, 1, 1), Category.DIBAO),
        ("disability", date(1950, 1, 1), Category.DISABLED),
        ("age", date(1946, 6, 30), Category.AGE80),  # 80 by the month's end
        ("age", date(1946, 7, 1), None),  # 79 at the month's end
        ("age", date(1966, 6, 1), None),  # 60 is no category
    ],
)
def test_the_category_a_list_bears_witness_to(app, kind, birth, category):
    assert entrants.category_of(kind, born(birth), DAY) == category


def test_accepting_is_described_as_adding_the_category_unless_it_is_there(app):
    p = born(date(1950, 1, 1))
    assert entrants.describe_category(p, "dibao", DAY) == ["人员类别增加“低保”"]
    assert entrants.describe_category(p, "death", DAY) == []
    q = born(date(1950, 1, 1), categories=["dibao"])
    assert entrants.describe_category(q, "dibao", DAY) == []
