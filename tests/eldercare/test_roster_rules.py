"""The roster's rules on their own (eldercare/people/roster_regions.py and
roster_registry.py): townships and villages matched by the names a roster writes, and
what the registry already holds deciding create, update or refuse."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from eldercare.extensions import db
from eldercare.models import Region
from eldercare.people import services as people
from eldercare.people.roster import ImportReport, RowData
from eldercare.people.roster_regions import Regions
from eldercare.people.roster_registry import against_registry, existing
from tests import factories as f

TODAY = date(2026, 6, 1)
FUJIANG, YOUXIAN, SONGLIN = "510704001", "510704004", "510704007"  # 松林 merged into 游仙 (2020)


@pytest.fixture
def regions(app) -> Regions:
    return Regions(TODAY)


# --- townships and villages --------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["涪江街道", "涪江", "涪江街道办事处", "涪江街道办", " 涪 江 街道 "]
)
def test_a_township_is_found_with_or_without_its_suffix(regions, name):
    assert regions.township(name) == FUJIANG


@pytest.mark.parametrize("name", ["石马镇", "石马", "石马乡"])
def test_a_town_is_found_as_town_bare_or_as_a_former_xiang(regions, name):
    assert regions.township(name) == "510704101"


def test_an_unknown_township_or_a_bare_suffix_is_none(regions):
    assert regions.township("不存在镇") is None
    assert regions.township("镇") is None
    assert regions.township("") is None


def test_a_township_in_force_is_chosen_before_an_ended_one_of_the_same_name(app):
    db.session.add(
        Region(
            code="510704099",
            name="涪江镇",
            level="township",
            kind="town",
            parent_code="510704",
            valid_from=date(1992, 1, 1),
            valid_to=date(2019, 12, 31),
            successor_code=FUJIANG,
        )
    )
    db.session.flush()  # never committed: the regions are kept between tests
    assert Regions(TODAY).township("涪江") == FUJIANG


@pytest.mark.parametrize("name", ["长沟村", "长沟村民委员会", "长沟村委会"])
def test_a_village_is_found_under_its_township_by_any_of_its_names(regions, name):
    assert regions.village(name, FUJIANG) == ("510704001200", FUJIANG, "")


@pytest.mark.parametrize(
    "name", ["涪江社区", "涪江社区居委会", "涪江社区居民委员会", "涪江社区居委"]
)
def test_a_community_is_found_by_its_committees_names(regions, name):
    assert regions.village(name, FUJIANG) == ("510704001001", FUJIANG, "")


def test_a_village_of_a_merged_township_is_found_under_its_successor(regions):
    assert regions.village("松林社区", YOUXIAN) == ("510704007001", SONGLIN, "")


def test_a_village_under_another_township_is_not_under(regions):
    assert regions.village("长沟村", YOUXIAN) == (None, None, "not_under")


def test_without_a_township_a_village_is_found_by_name_alone(regions):
    assert regions.village("长沟村", None) == ("510704001200", FUJIANG, "")
    assert regions.village("没有的村", None) == (None, None, "unknown")


def test_without_a_township_a_name_two_villages_bear_is_ambiguous(app):
    db.session.add(
        Region(
            code="510704003299",
            name="长沟村",
            level="village",
            kind="village",
            parent_code="510704003",
            valid_from=date(1992, 1, 1),
        )
    )
    db.session.flush()  # never committed
    r = Regions(TODAY)
    assert r.village("长沟村", None) == (None, None, "ambiguous")
    assert r.village("长沟村", "510704003") == ("510704003299", "510704003", "")


# --- against the registry ----------------------------------------------------------------


def row(person=None, n: int = 2, **kw) -> RowData:
    base = RowData(
        row=n,
        seq=str(n - 1),
        name=person.name if person else "新人",
        number=person.id_number if person else f.new_id_number(),
        birth_date=date(1945, 3, 12),
        sex="M",
    )
    return dataclasses.replace(base, **kw)


def column(field: str) -> str | None:
    return {"category": "供养类别", "since": "供养起始日期", "name": "姓名"}.get(field)


def test_existing_finds_only_registered_numbers_and_their_open_support(app):
    p = f.person("张三")
    people.start_wubao(p, "elderly", "dispersed", date(2020, 1, 1))
    q = f.person("李四")
    have = existing([p.id_number, q.id_number, p.id_number, f.new_id_number()])
    assert set(have) == {p.id_number, q.id_number}
    assert have[p.id_number]["support"] == ("elderly", "dispersed", date(2020, 1, 1))
    assert have[q.id_number]["support"] is None
    assert existing([]) == {}


def test_new_numbers_create_and_registered_ones_update(app):
    p = f.person("张三")
    report = ImportReport()
    rows = against_registry([row(p), row(n=3), row(n=4)], report, column)
    assert len(rows) == 3
    assert (report.created, report.updated) == (2, 1)
    assert report.errors == report.warnings == []


def test_a_new_name_for_a_registered_number_is_a_warning(app):
    p = f.person("张三")
    report = ImportReport()
    assert against_registry([row(p, name="张叁")], report, column)
    assert [(w["column"], "张叁" in w["message"]) for w in report.warnings] == [("姓名", True)]


def test_someone_recorded_dead_gets_no_support_but_their_details_update(app):
    p = f.person("张三")
    people.record_death(p, date(2025, 5, 1))
    report = ImportReport()
    assert against_registry([row(p, category="elderly", support="dispersed")], report, column) == []
    assert [(e["row"], e["column"]) for e in report.errors] == [(2, "供养类别")]
    assert "2025-05-01" in report.errors[0]["message"]
    assert (report.created, report.updated) == (0, 0)

    report = ImportReport()
    assert len(against_registry([row(p)], report, column)) == 1
    assert report.errors == [] and len(report.warnings) == 1
    assert report.updated == 1


def test_someone_moved_away_is_still_given_support_with_a_warning(app):
    p = f.person("张三")
    people.record_move(p, date(2025, 5, 1))
    report = ImportReport()
    assert (
        len(against_registry([row(p, category="elderly", support="dispersed")], report, column))
        == 1
    )
    assert report.errors == [] and [w["column"] for w in report.warnings] == ["供养类别"]


def test_a_changed_support_must_begin_after_the_current_one(app):
    p = f.person("张三")
    people.start_wubao(p, "elderly", "dispersed", date(2024, 3, 1))
    same_day = row(p, category="elderly", support="centralized", since=date(2024, 3, 1))
    report = ImportReport()
    assert against_registry([same_day], report, column) == []
    assert [e["column"] for e in report.errors] == ["供养起始日期"]

    next_day = row(p, category="elderly", support="centralized", since=date(2024, 3, 2))
    report = ImportReport()
    assert len(against_registry([next_day], report, column)) == 1
    assert report.errors == []


def test_the_same_support_again_with_an_earlier_date_is_no_change(app):
    p = f.person("张三")
    people.start_wubao(p, "elderly", "dispersed", date(2024, 3, 1))
    report = ImportReport()
    again = row(p, category="elderly", support="dispersed", since=date(2020, 1, 1))
    assert len(against_registry([again], report, column)) == 1
    assert report.errors == []
