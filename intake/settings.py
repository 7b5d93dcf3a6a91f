"""The numbers of a year that the bureau sets, as it sets the eligibility rules: the
working days of the steps no statute fixes, and the need points that rank home care's
waiting list. Shown on /homecare/eligibility with their source, or as set by the bureau;
set there or through PUT /api/v1/homecare/year-settings.

Fixed by statute (特困人员认定办法, 民发〔2021〕43号) and not settable: the township's
check within 15 working days of receiving the application, the 7-day notice, the county
bureau's decision within 15 working days after it. The notice goes up "promptly" (及时):
how many working days that is, the bureau says (3 until it does).

Home care (GB/T 43153-2023 gives the process — intake, assessment, agreement, service —
not the days): the defaults below are placeholders of the kind comparable programmes
use, until the bureau sets its own. So are the need points.

A year without values of its own uses the latest earlier year's, then the defaults;
nothing is seeded, so that a default is never shown as the bureau's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.database import insert_or_raise
from eldercare.errors import Conflict, Invalid
from eldercare.extensions import db

from .models import Kind, Step, YearValue

STATUTE = _l("特困人员认定办法（民发〔2021〕43号）")


@dataclass(frozen=True)
class Setting:
    code: str
    label: Any  # a lazy string
    default: int
    group: str  # "days" | "points"
    lo: int = 0
    hi: int = 100


SETTINGS: tuple[Setting, ...] = (
    Setting("days.tekun.notice", _l("特困：调查后张贴公示（“及时”）"), 3, "days", 1, 60),
    Setting("days.homecare.check", _l("居家养老：受理后资格与需求评估"), 10, "days", 1, 60),
    Setting("days.homecare.plan", _l("居家养老：评估后制定服务计划"), 5, "days", 1, 60),
    Setting("days.homecare.decide", _l("居家养老：服务计划后民政局决定"), 10, "days", 1, 60),
    Setting("days.homecare.enrol", _l("居家养老：获得名额后签订协议"), 10, "days", 1, 60),
    Setting("points.item", _l("六项自理能力中每项需要帮助"), 10, "points"),
    Setting("points.age90", _l("90周岁以上"), 20, "points"),
    Setting("points.age80", _l("80周岁以上（不满90）"), 10, "points"),
    Setting("points.tekun", _l("特困人员"), 15, "points"),
    Setting("points.dibao", _l("低保对象"), 10, "points"),
    Setting("points.disabled", _l("残疾人"), 10, "points"),
    Setting("points.alone", _l("独居"), 10, "points"),
)
BY_CODE = {s.code: s for s in SETTINGS}

#: (kind, the step to do next) -> the setting of its working days, or a number fixed by statute
STEP_DAYS: dict[tuple[Kind, Step], str | int] = {
    (Kind.TEKUN, Step.CHECK): 15,
    (Kind.TEKUN, Step.NOTICE): "days.tekun.notice",
    (Kind.TEKUN, Step.DECIDE): 15,  # counted from the end of the notice
    (Kind.HOMECARE, Step.CHECK): "days.homecare.check",
    (Kind.HOMECARE, Step.PLAN): "days.homecare.plan",
    (Kind.HOMECARE, Step.DECIDE): "days.homecare.decide",
    (Kind.HOMECARE, Step.ENROL): "days.homecare.enrol",
}
#: the statutory deadlines, as the page shows them: (what, days, working days?, source)
STATUTORY = (
    (_l("特困：受理后乡镇（街道）调查核实、提出初审意见"), 15, True, STATUTE),
    (_l("特困：初审意见在村（社区）公示"), 7, False, STATUTE),
    (_l("特困：公示期满后县级民政部门作出确认决定"), 15, True, STATUTE),
)


@dataclass(frozen=True)
class YearValues:
    """A year's numbers, and where each came from: `own` codes set for this year,
    `inherited_from` the earlier year the others came from (None: the defaults)."""

    year: int
    values: dict[str, int]
    own: frozenset[str]
    inherited_from: int | None
    inherited: frozenset[str]

    def __getitem__(self, code: str) -> int:
        return self.values[code]

    def source(self, code: str) -> str:
        """'bureau' (set for this year), 'inherited' (an earlier year's), 'default'."""
        if code in self.own:
            return "bureau"
        return "inherited" if code in self.inherited else "default"


def values_for(year: int) -> YearValues:
    """The year's numbers: its own, else the latest earlier year's, else the defaults."""
    rows = db.session.execute(
        sa.select(YearValue.year, YearValue.code, YearValue.value).where(YearValue.year <= year)
    ).all()
    own = {r.code: r.value for r in rows if r.year == year}
    earlier = max((r.year for r in rows if r.year < year), default=None)
    before = {r.code: r.value for r in rows if r.year == earlier} if earlier else {}
    values = {s.code: own.get(s.code, before.get(s.code, s.default)) for s in SETTINGS}
    inherited = frozenset(c for c in before if c not in own and c in BY_CODE)
    return YearValues(
        year, values, frozenset(own) & set(BY_CODE), earlier if inherited else None, inherited
    )


def source_text(v: YearValues, code: str) -> Any:
    """Where the year's value of `code` comes from, in words."""
    found = v.source(code)
    if found == "bureau":
        return _l("民政局设定（%(y)s 年）", y=v.year)
    if found == "inherited":
        return _l("沿用民政局 %(y)s 年的设定", y=v.inherited_from)
    return _l("暂定默认值，民政局尚未设定")


def step_days(kind: Kind, step: Step, year: int) -> int | None:
    """Working days `step` has, in `year` (None where no deadline runs)."""
    found = STEP_DAYS.get((kind, step))
    if found is None or isinstance(found, int):
        return found
    return values_for(year)[found]


def set_values(year: int, given: dict[str, Any]) -> YearValues:
    """Set the year's numbers (those given; the others keep theirs). Raises Invalid
    naming each bad code. Each row is audited (ORM); flushes. Home care's waiting list
    of the year is scored again with the new points (intake/rules.py)."""
    problems: dict[str, Any] = {}
    clean: dict[str, int] = {}
    for code, value in given.items():
        s = BY_CODE.get(code)
        if s is None:
            problems[code] = _l("未知项目")
        elif isinstance(value, bool) or not isinstance(value, int) or not s.lo <= value <= s.hi:
            problems[code] = _l("%(lo)s 到 %(hi)s 的整数", lo=s.lo, hi=s.hi)
        else:
            clean[code] = value
    if problems:
        raise Invalid(_l("年度设置有误"), fields=problems)
    have = {
        r.code: r
        for r in db.session.scalars(
            sa.select(YearValue).where(YearValue.year == year, YearValue.code.in_(clean))
        )
    }
    for code, value in clean.items():
        row = have.get(code)
        if row is not None:
            row.value = value
        else:
            # an inherited or default value becomes this year's own, even unchanged: the
            # bureau has now set it. Two admins at once: the second is told (UNIQUE).
            insert_or_raise(
                YearValue(year=year, code=code, value=value),
                Conflict(_l("刚刚有人修改了本年度设置，请刷新后再试"), code="changed"),
            )
    db.session.flush()
    if any(c.startswith("points.") for c in clean):
        from . import rules

        rules.rescore_waiting(year)
    return values_for(year)
