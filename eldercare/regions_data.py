"""The divisions of 游仙区 (Youxian District, Mianyang, 510704) for the demo and init-db.

Pure data and small functions: no Flask, no database.

Townships (乡级) carry validity dates so that old records keep their old township and
reports can be drawn on today's divisions (follow ``successor`` with :func:`resolve`).

* Since the 2019-2020 township reform (川府民政〔2019〕27号, in force here from
  2020-01-01): 4 streets (街道) and 10 towns (镇) — :data:`TOWNSHIPS_CURRENT`.
* Before it, the 2019 NBS list has 29 units (6 streets, 20 towns, 3 townships 乡), but
  the district's report — which predates the reform and gives the village counts the
  demo uses — counts 25. The demo keeps 25 — :data:`TOWNSHIPS_BEFORE_REFORM`: all 6
  streets and 19 of the 20 towns, leaving out 小枧沟镇 (510704103, succeeded by 小枧镇
  510704121) and the three townships 建华乡 (202), 朝真乡 (207) and 凤凰乡 (210). They
  are listed in :data:`LEFT_OUT_BEFORE_REFORM` for reference but are not inserted.
* A unit whose code carries on through the reform (涪江 001, 富乐 003, 游仙 004, 春雷 006,
  石马 101, 新桥 102, 魏城 104, 沉抗 105, 忠兴 106, 松垭 112) is ONE unit valid
  throughout (``valid_to`` None) and belongs to both lists. The other 15 demo units end
  on 2019-12-31 and name the current unit that took them over in ``successor``. Which
  unit that really was is not in the sources the project has (DOMAIN.md), so each of
  these is a plausible neighbour, marked ``successor_certain=False``.
* ``valid_from`` of a unit older than the reform is 1992-01-01, when 游仙区 got its code
  (GB/T 2260); the real founding dates of its townships are not modelled.
* Villages: the report counts 230 village committees (村委会) and 48 residents'
  committees (社区居委会) under the 25 units. They are generated deterministically:
  code = township code + 3 digits (社区 from 001, 村 from 200: the NBS convention),
  names from a fixed syllable list, unique within their township. Every town's first
  村 and first 社区 bear the town's own name (魏城村, 忠兴社区 …), as seats often do and
  as the sample rosters expect. In reality the villages of merged townships were
  re-coded under their successor in 2020 (and many merged themselves); the demo keeps
  them, valid throughout, under their old township, and reports reach today's
  township through the township's successor.
* Coordinates: each township has an approximate centre (the district is around
  31.48N 104.77E) placed by hand within about 25 km, and each village a point on a
  small spiral (0.5-3 km) around its township's centre. Good enough for distances in
  a demo, not for maps.

Real and invented (for the README)
----------------------------------

| what | status |
| --- | --- |
| 游仙区 and its code 510704 | real (GB/T 2260) |
| the 14 current units: names, 9-digit codes, street/town | real (NBS, DOMAIN.md) |
| the 25 pre-reform units: names, codes, street/town | real (NBS 2019, DOMAIN.md) |
| which pre-reform unit carries on under the same code | real (same code in both lists) |
| 小枧沟镇 → 小枧镇 (left out of the demo) | real |
| successors of the other 15 merged units | invented (neighbours), `successor_certain=False` |
| 1992-01-01 as start of the pre-reform units | approximation (the district's own start) |
| counts: 25 units, 230 村, 48 社区 | real (the district's report, pre-reform) |
| village and community names and 12-digit codes | invented (codes follow the NBS pattern) |
| township centres | rough, placed by hand; village points invented |
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

__all__ = [
    "DISTRICT",
    "DISTRICT_CENTRE",
    "DISTRICT_SINCE",
    "KIND_LABELS",
    "LEFT_OUT_BEFORE_REFORM",
    "REFORM_DATE",
    "TOWNSHIPS_BEFORE_REFORM",
    "TOWNSHIPS_CURRENT",
    "Township",
    "Village",
    "all_regions",
    "all_townships",
    "current_townships",
    "demo_townships",
    "distance_km",
    "resolve",
    "township_by_code",
    "township_by_name",
    "villages",
]

DISTRICT = ("510704", "游仙区")
DISTRICT_CENTRE = (31.48, 104.77)
DISTRICT_SINCE = date(1992, 1, 1)
REFORM_DATE = date(2020, 1, 1)
_LAST_DAY_BEFORE_REFORM = date(2019, 12, 31)

KIND_LABELS = {
    "district": "区",
    "street": "街道",
    "town": "镇",
    "township": "乡",
    "village": "村",
    "community": "社区",
}
_SUFFIX = {"street": "街道", "town": "镇", "township": "乡"}


@dataclass(frozen=True)
class Township:
    code: str  # 9 digits
    name: str  # with its suffix: 涪江街道, 魏城镇
    kind: str  # "street" | "town" | "township"
    valid_from: date
    valid_to: date | None  # last day in force; None while in force
    lat: float
    lng: float
    successor: str | None = None  # code of the current unit that took it over
    successor_certain: bool = True
    communities: int = 0  # how many 社区 the demo generates under it
    villages: int = 0  # how many 村

    @property
    def stem(self) -> str:
        return self.name.removesuffix(_SUFFIX[self.kind])

    def valid_on(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


@dataclass(frozen=True)
class Village:
    code: str  # 12 digits
    name: str
    kind: str  # "village" (村委会) | "community" (社区居委会)
    parent_code: str  # 9-digit township code
    lat: float
    lng: float


def _unit(
    suffix: str,
    stem: str,
    kind: str,
    lat: float,
    lng: float,
    communities: int = 0,
    villages: int = 0,
    *,
    new: bool = False,
    ends: str | None = None,
    certain: bool = False,
) -> Township:
    return Township(
        code=DISTRICT[0] + suffix,
        name=stem + _SUFFIX[kind],
        kind=kind,
        valid_from=REFORM_DATE if new else DISTRICT_SINCE,
        valid_to=_LAST_DAY_BEFORE_REFORM if ends else None,
        lat=lat,
        lng=lng,
        successor=DISTRICT[0] + ends if ends else None,
        successor_certain=certain if ends else True,
        communities=communities,
        villages=villages,
    )


# Units that carry on through the reform under the same code: one unit each.
_FUJIANG = _unit("001", "涪江", "street", 31.465, 104.765, 6, 2)
_FULE = _unit("003", "富乐", "street", 31.475, 104.778, 6, 1)  # district seat
_YOUXIAN = _unit("004", "游仙", "street", 31.492, 104.786, 5, 3)
_CHUNLEI = _unit("006", "春雷", "street", 31.455, 104.792, 4, 3)
_SHIMA = _unit("101", "石马", "town", 31.445, 104.925, 1, 14)
_XINQIAO = _unit("102", "新桥", "town", 31.572, 104.880, 1, 12)
_WEICHENG = _unit("104", "魏城", "town", 31.620, 104.900, 1, 16)
_CHENKANG = _unit("105", "沉抗", "town", 31.600, 104.800, 1, 12)
_ZHONGXING = _unit("106", "忠兴", "town", 31.550, 104.720, 1, 14)
_SONGYA = _unit("112", "松垭", "town", 31.460, 105.000, 1, 12)

# Units created by the reform.
_XIAOJIAN = _unit("121", "小枧", "town", 31.530, 104.825, new=True)
_XINYI = _unit("122", "信义", "town", 31.405, 104.950, new=True)
_XIANHE = _unit("123", "仙鹤", "town", 31.520, 104.950, new=True)
_YANQUAN = _unit("124", "盐泉", "town", 31.370, 104.910, new=True)

TOWNSHIPS_CURRENT: tuple[Township, ...] = (
    _FUJIANG,
    _FULE,
    _YOUXIAN,
    _CHUNLEI,
    _SHIMA,
    _XINQIAO,
    _WEICHENG,
    _CHENKANG,
    _ZHONGXING,
    _SONGYA,
    _XIAOJIAN,
    _XINYI,
    _XIANHE,
    _YANQUAN,
)

# The 25 pre-reform units of the district's report (see the module docstring).
# Successors other than the continuing units are guesses: successor_certain=False.
TOWNSHIPS_BEFORE_REFORM: tuple[Township, ...] = (
    _FUJIANG,
    _FULE,
    _YOUXIAN,
    _CHUNLEI,
    _unit("007", "松林", "street", 31.505, 104.800, 4, 3, ends="004"),
    _unit("008", "华丰", "street", 31.445, 104.760, 4, 3, ends="006"),
    _SHIMA,
    _XINQIAO,
    _WEICHENG,
    _CHENKANG,
    _ZHONGXING,
    _unit("107", "柏林", "town", 31.655, 104.840, 1, 12, ends="104"),
    _unit("108", "徐家", "town", 31.580, 104.670, 1, 10, ends="106"),
    _unit("109", "石板", "town", 31.410, 104.860, 1, 10, ends="101"),
    _unit("110", "刘家", "town", 31.500, 104.935, 1, 9, ends="123"),
    _unit("111", "玉河", "town", 31.395, 104.980, 1, 12, ends="122"),
    _SONGYA,
    _unit("113", "白蝉", "town", 31.640, 104.930, 1, 10, ends="104"),
    _unit("114", "观太", "town", 31.630, 104.760, 1, 9, ends="105"),
    _unit("115", "云凤", "town", 31.520, 104.875, 1, 10, ends="121"),
    _unit("116", "太平", "town", 31.545, 104.975, 1, 12, ends="123"),
    _unit("117", "街子", "town", 31.360, 104.930, 1, 9, ends="122"),
    _unit("118", "东林", "town", 31.380, 104.840, 1, 11, ends="124"),
    _unit("119", "梓棉", "town", 31.430, 105.010, 1, 9, ends="112"),
    _unit("120", "东宣", "town", 31.350, 104.975, 1, 12, ends="124"),
)

# Pre-reform units that the demo leaves out (NBS 2019 has them; the report's 25 do not).
# Reference only: not in all_regions(). Coordinates are rough, as above.
LEFT_OUT_BEFORE_REFORM: tuple[Township, ...] = (
    _unit("103", "小枧沟", "town", 31.530, 104.825, ends="121", certain=True),
    _unit("202", "建华", "township", 31.660, 104.800, ends="105"),
    _unit("207", "朝真", "township", 31.590, 104.950, ends="102"),
    _unit("210", "凤凰", "township", 31.380, 105.000, ends="124"),
)

# --------------------------------------------------------------------------- villages

# Syllables of Sichuan village names: a qualifier and a landform/feature.
_FIRST = (
    "青龙白金石马凤柏松桂红新太平双三五九高大长永兴和安仁义福宝玉黄牛鹤桃竹杨柳梨茶花胜团光明华"
)
_SECOND = "山岭坪坝湾沟河桥井塘林垭庙寺池冲岗堰口园田坡嘴寨"
_PAIRS = len(_FIRST) * len(_SECOND)
_STRIDE = 97  # coprime with _PAIRS, so names cycle through every pair before repeating


def _pair_name(index: int) -> str:
    return _FIRST[index // len(_SECOND)] + _SECOND[index % len(_SECOND)]


def _spiral(lat: float, lng: float, i: int) -> tuple[float, float]:
    """Point i of a golden-angle spiral around (lat, lng): 0.5 km out, then wider."""
    radius_km = 0.5 + 0.55 * math.sqrt(i)
    angle = math.radians(137.508 * i)
    dlat = radius_km * math.cos(angle) / 111.32
    dlng = radius_km * math.sin(angle) / (111.32 * math.cos(math.radians(lat)))
    return round(lat + dlat, 5), round(lng + dlng, 5)


def _names(town: Township, t_index: int) -> tuple[list[str], list[str]]:
    """社区 and 村 names for one township: seat names first, then syllable pairs."""
    used: set[str] = set()
    cursor = (t_index * 131) % _PAIRS

    def fresh(suffix: str) -> str:
        nonlocal cursor
        while True:
            name = _pair_name(cursor) + suffix
            cursor = (cursor + _STRIDE) % _PAIRS
            if name not in used and not name.startswith(town.stem):
                used.add(name)
                return name

    communities = [town.stem + "社区"] if town.communities else []
    villages = [town.stem + "村"] if town.villages and town.kind != "street" else []
    used.update(communities + villages)
    communities += [fresh("社区") for _ in range(town.communities - len(communities))]
    villages += [fresh("村") for _ in range(town.villages - len(villages))]
    return communities, villages


@lru_cache(maxsize=1)
def villages() -> tuple[Village, ...]:
    """The 230 村 and 48 社区 under the 25 demo units, always the same."""
    out: list[Village] = []
    for t_index, town in enumerate(TOWNSHIPS_BEFORE_REFORM):
        communities, village_names = _names(town, t_index)
        points = [
            _spiral(town.lat, town.lng, i) for i in range(len(communities) + len(village_names))
        ]
        for n, name in enumerate(communities):
            lat, lng = points.pop(0)
            out.append(Village(f"{town.code}{1 + n:03d}", name, "community", town.code, lat, lng))
        for n, name in enumerate(village_names):
            lat, lng = points.pop(0)
            out.append(Village(f"{town.code}{200 + n:03d}", name, "village", town.code, lat, lng))
    return tuple(out)


# --------------------------------------------------------------------------- lookups


def all_townships() -> list[Township]:
    """Every township unit the demo knows, pre- and post-reform, once each."""
    seen: dict[str, Township] = {}
    for unit in TOWNSHIPS_BEFORE_REFORM + TOWNSHIPS_CURRENT:
        seen.setdefault(unit.code, unit)
    return list(seen.values())


def demo_townships() -> list[Township]:
    """The 25 units the demo's people and institutions are placed in."""
    return list(TOWNSHIPS_BEFORE_REFORM)


def current_townships(on: date | None = None) -> list[Township]:
    """The units in force on ``on`` (default today): 14 after the reform, 25 before."""
    on = on or date.today()
    return [unit for unit in all_townships() if unit.valid_on(on)]


@lru_cache(maxsize=1)
def _by_code() -> dict[str, Township]:
    return {unit.code: unit for unit in all_townships()}


def township_by_code(code: str) -> Township | None:
    return _by_code().get(code)


def township_by_name(name: str, on: date | None = None) -> Township | None:
    """The unit called ``name`` (with or without its suffix), preferring one in force
    on ``on`` (default today); falls back to a unit of that name at any time."""
    name = name.strip()
    on = on or date.today()
    matches = [u for u in all_townships() if name in (u.name, u.stem)]
    for unit in matches:
        if unit.valid_on(on):
            return unit
    return matches[0] if matches else None


def resolve(code: str, on: date | None = None) -> Township | None:
    """The township in force on ``on`` (default today) that a township or village code
    belongs to, following successors; None for an unknown code."""
    on = on or date.today()
    unit = township_by_code(code[:9])
    seen: set[str] = set()
    while unit is not None and not unit.valid_on(on):
        if unit.successor is None or unit.code in seen or on < unit.valid_from:
            return None
        seen.add(unit.code)
        unit = township_by_code(unit.successor)
    return unit


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine) in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def all_regions() -> list[dict]:
    """Rows for the regions table: the district, every township unit (pre- and
    post-reform, once each), every village; parents before children."""
    rows: list[dict] = [
        {
            "code": DISTRICT[0],
            "name": DISTRICT[1],
            "level": "district",
            "kind": "district",
            "parent_code": None,
            "valid_from": DISTRICT_SINCE,
            "valid_to": None,
            "successor_code": None,
            "lat": DISTRICT_CENTRE[0],
            "lng": DISTRICT_CENTRE[1],
        }
    ]
    for unit in all_townships():
        rows.append(
            {
                "code": unit.code,
                "name": unit.name,
                "level": "township",
                "kind": unit.kind,
                "parent_code": DISTRICT[0],
                "valid_from": unit.valid_from,
                "valid_to": unit.valid_to,
                "successor_code": unit.successor,
                "lat": unit.lat,
                "lng": unit.lng,
            }
        )
    for village in villages():
        parent = _by_code()[village.parent_code]
        rows.append(
            {
                "code": village.code,
                "name": village.name,
                "level": "village",
                "kind": village.kind,
                "parent_code": village.parent_code,
                "valid_from": parent.valid_from,
                "valid_to": None,
                "successor_code": None,
                "lat": village.lat,
                "lng": village.lng,
            }
        )
    return rows
