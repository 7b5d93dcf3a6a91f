"""eldercare.regions_data: the divisions of 游仙区 as DOMAIN.md gives them."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from eldercare import regions_data as rd

# DOMAIN.md, "Divisions of 游仙区".
REAL_CURRENT = {
    "510704001": ("涪江街道", "street"),
    "510704003": ("富乐街道", "street"),
    "510704004": ("游仙街道", "street"),
    "510704006": ("春雷街道", "street"),
    "510704101": ("石马镇", "town"),
    "510704102": ("新桥镇", "town"),
    "510704104": ("魏城镇", "town"),
    "510704105": ("沉抗镇", "town"),
    "510704106": ("忠兴镇", "town"),
    "510704112": ("松垭镇", "town"),
    "510704121": ("小枧镇", "town"),
    "510704122": ("信义镇", "town"),
    "510704123": ("仙鹤镇", "town"),
    "510704124": ("盐泉镇", "town"),
}
REAL_BEFORE = {
    "510704001": ("涪江街道", "street"),
    "510704003": ("富乐街道", "street"),
    "510704004": ("游仙街道", "street"),
    "510704006": ("春雷街道", "street"),
    "510704007": ("松林街道", "street"),
    "510704008": ("华丰街道", "street"),
    "510704101": ("石马镇", "town"),
    "510704102": ("新桥镇", "town"),
    "510704104": ("魏城镇", "town"),
    "510704105": ("沉抗镇", "town"),
    "510704106": ("忠兴镇", "town"),
    "510704107": ("柏林镇", "town"),
    "510704108": ("徐家镇", "town"),
    "510704109": ("石板镇", "town"),
    "510704110": ("刘家镇", "town"),
    "510704111": ("玉河镇", "town"),
    "510704112": ("松垭镇", "town"),
    "510704113": ("白蝉镇", "town"),
    "510704114": ("观太镇", "town"),
    "510704115": ("云凤镇", "town"),
    "510704116": ("太平镇", "town"),
    "510704117": ("街子镇", "town"),
    "510704118": ("东林镇", "town"),
    "510704119": ("梓棉镇", "town"),
    "510704120": ("东宣镇", "town"),
}
CONTINUING = {"001", "003", "004", "006", "101", "102", "104", "105", "106", "112"}
LEFT_OUT = {
    "510704103": "小枧沟镇",
    "510704202": "建华乡",
    "510704207": "朝真乡",
    "510704210": "凤凰乡",
}


def test_district() -> None:
    assert rd.DISTRICT == ("510704", "游仙区")


def test_current_units_are_real() -> None:
    assert {u.code: (u.name, u.kind) for u in rd.TOWNSHIPS_CURRENT} == REAL_CURRENT
    kinds = Counter(u.kind for u in rd.TOWNSHIPS_CURRENT)
    assert kinds == {"street": 4, "town": 10}


def test_demo_has_the_reports_25_units() -> None:
    demo = rd.demo_townships()
    assert len(demo) == 25
    assert {u.code: (u.name, u.kind) for u in demo} == REAL_BEFORE
    assert Counter(u.kind for u in demo) == {"street": 6, "town": 19}
    assert {u.code: u.name for u in rd.LEFT_OUT_BEFORE_REFORM} == LEFT_OUT
    assert not set(LEFT_OUT) & {u.code for u in rd.all_townships()}


def test_continuing_units_are_one_unit_in_both_lists() -> None:
    before = {u.code: u for u in rd.TOWNSHIPS_BEFORE_REFORM}
    current = {u.code: u for u in rd.TOWNSHIPS_CURRENT}
    shared = set(before) & set(current)
    assert {c[-3:] for c in shared} == CONTINUING
    for code in shared:
        assert before[code] is current[code]
        assert before[code].valid_to is None
        assert before[code].successor is None
        assert before[code].valid_from < rd.REFORM_DATE
    for code in set(current) - shared:
        assert current[code].valid_from == date(2020, 1, 1)
        assert current[code].valid_to is None


@pytest.mark.parametrize(
    ("on", "count"),
    [
        (date(2026, 1, 1), 14),
        (date(2020, 1, 1), 14),
        (date(2019, 12, 31), 25),
        (date(2010, 6, 1), 25),
        (date(1980, 1, 1), 0),
    ],
)
def test_current_townships(on: date, count: int) -> None:
    assert len(rd.current_townships(on)) == count


def test_current_on_2026_is_the_post_reform_list() -> None:
    assert {u.code for u in rd.current_townships(date(2026, 1, 1))} == set(REAL_CURRENT)


def test_every_ended_unit_has_a_current_successor() -> None:
    current = {u.code for u in rd.current_townships(date(2026, 1, 1))}
    ended = [u for u in rd.all_townships() if u.valid_to is not None]
    assert len(ended) == 15
    for unit in ended:
        assert unit.valid_to == date(2019, 12, 31)
        assert unit.successor in current, unit.name
        assert unit.successor_certain is False  # DOMAIN.md does not say where they went
        assert rd.resolve(unit.code, date(2026, 1, 1)).code == unit.successor
        assert rd.resolve(unit.code, date(2019, 6, 1)) is unit
    assert {u.successor for u in rd.LEFT_OUT_BEFORE_REFORM} <= current
    xiaojiangou = rd.LEFT_OUT_BEFORE_REFORM[0]
    assert (xiaojiangou.successor, xiaojiangou.successor_certain) == ("510704121", True)
    # every unit created by the reform took something over
    new = {u.code for u in rd.TOWNSHIPS_CURRENT if u.valid_from == rd.REFORM_DATE}
    assert new <= {u.successor for u in rd.all_townships() + list(rd.LEFT_OUT_BEFORE_REFORM)}


def test_villages_counts_and_codes() -> None:
    villages = rd.villages()
    kinds = Counter(v.kind for v in villages)
    assert kinds == {"village": 230, "community": 48}
    demo = {u.code: u for u in rd.demo_townships()}
    for v in villages:
        assert v.parent_code in demo
        assert len(v.code) == 12 and v.code.isdigit()
        assert v.code.startswith(v.parent_code)
        number = int(v.code[9:])
        if v.kind == "village":
            assert v.name.endswith("村") and number >= 200
        else:
            assert v.name.endswith("社区") and 1 <= number < 200
    per_town = Counter((v.parent_code, v.kind) for v in villages)
    for code, unit in demo.items():
        communities, village_count = per_town[code, "community"], per_town[code, "village"]
        assert communities >= 1
        if unit.kind == "street":
            assert communities > village_count
        else:
            assert village_count > communities
    names = Counter((v.parent_code, v.name) for v in villages)
    assert max(names.values()) == 1  # unique within a township


def test_villages_are_deterministic() -> None:
    first = rd.villages()
    rd.villages.cache_clear()
    assert rd.villages() == first


def test_sample_roster_places_exist() -> None:
    # /work/shared/samples: 村（社区） columns of the sample roster.
    places = {(u.name, v.name) for v in rd.villages() for u in [rd.township_by_code(v.parent_code)]}
    for pair in [
        ("魏城镇", "魏城村"),
        ("石马镇", "石马村"),
        ("忠兴镇", "忠兴社区"),
        ("新桥镇", "新桥村"),
        ("沉抗镇", "沉抗村"),
    ]:
        assert pair in places


def test_all_regions_rows() -> None:
    rows = rd.all_regions()
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes))
    assert Counter(r["level"] for r in rows) == {"district": 1, "township": 29, "village": 278}
    keys = {
        "code",
        "name",
        "level",
        "kind",
        "parent_code",
        "valid_from",
        "valid_to",
        "successor_code",
        "lat",
        "lng",
    }
    seen: set[str] = set()
    for row in rows:
        assert set(row) == keys
        assert row["code"].startswith("510704")
        assert len(row["code"]) == {"district": 6, "township": 9, "village": 12}[row["level"]]
        if row["parent_code"] is not None:
            assert row["code"].startswith(row["parent_code"])
            assert row["parent_code"] in seen  # parents come first
        if row["successor_code"] is not None:
            assert row["successor_code"] in codes
        assert isinstance(row["valid_from"], date)
        seen.add(row["code"])
    assert rows[0]["code"] == "510704" and rows[0]["parent_code"] is None


def test_coordinates_are_plausible() -> None:
    centre = rd.DISTRICT_CENTRE
    for unit in rd.all_townships():
        assert rd.distance_km(*centre, unit.lat, unit.lng) <= 25, unit.name
    for v in rd.villages():
        town = rd.township_by_code(v.parent_code)
        assert 0.3 <= rd.distance_km(town.lat, town.lng, v.lat, v.lng) <= 4, v.name


def test_distance_km() -> None:
    # one degree of latitude is about 111 km
    assert rd.distance_km(31.0, 104.0, 32.0, 104.0) == pytest.approx(111.2, abs=0.2)
    assert rd.distance_km(31.48, 104.77, 31.48, 104.77) == 0


def test_lookups() -> None:
    assert rd.township_by_code("510704104").name == "魏城镇"
    assert rd.township_by_code("510704999") is None
    assert rd.township_by_name("魏城镇").code == "510704104"
    assert rd.township_by_name("魏城").code == "510704104"
    assert rd.township_by_name(" 柏林镇 ").code == "510704107"
    assert rd.township_by_name("不存在镇") is None
    assert rd.resolve("510704104200", date(2026, 1, 1)).code == "510704104"
    assert rd.resolve("510704107200", date(2026, 1, 1)).code == "510704104"
    assert rd.resolve("510704121", date(2019, 1, 1)) is None
    assert rd.resolve("510704999") is None
