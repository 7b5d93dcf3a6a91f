"""Deadlines of the steps, and the six-item assessment.

特困 (特困人员认定办法, 民发〔2021〕43号): the township checks within 15 working days of
receiving the application (入户调查, the six-item self-care assessment, income and
supporters); its opinion is put up in the village promptly (及时) for 7 days — "promptly"
is the bureau's 3 working days here; the county bureau decides within 15 working days of
getting the file after the notice, and support starts the month after the decision.

Home care (GB/T 43153-2023 gives the process, not the days): the bureau's own service
standard, placeholders until it sets them — eligibility and needs assessment within 10
working days of the application, the service plan within 5 of the assessment, the
decision within 10 of the plan, the agreement and enrolment within 10 of the approval.

Working days are Monday to Friday; public holidays and the weekends worked in exchange
are not modelled (a deadline falling in a holiday week reads a few days early).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

from eldercare.models import CareLevel

from .models import Kind, Step

ITEMS = ("eating", "dressing", "transfer", "toileting", "walking", "bathing")
ITEM_LABELS = {
    "eating": _l("进食"),
    "dressing": _l("穿衣"),
    "transfer": _l("上下床"),
    "toileting": _l("如厕"),
    "walking": _l("室内行走"),
    "bathing": _l("洗澡"),
}
NOTICE_DAYS = 7

#: (kind, the step to do next) -> working days from the previous step's day
WORKING_DAYS = {
    (Kind.TEKUN, Step.CHECK): 15,
    (Kind.TEKUN, Step.NOTICE): 3,
    (Kind.TEKUN, Step.DECIDE): 15,  # counted from the end of the notice
    (Kind.HOMECARE, Step.CHECK): 10,
    (Kind.HOMECARE, Step.PLAN): 5,
    (Kind.HOMECARE, Step.DECIDE): 10,
    (Kind.HOMECARE, Step.ENROL): 10,
}


def add_working_days(day: date, n: int) -> date:
    """The n-th working day (Mon-Fri) after `day`."""
    while n > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def working_days_between(a: date, b: date) -> int:
    """Working days after `a` up to and including `b` (0 when b <= a)."""
    if b <= a:
        return 0
    weeks, rest = divmod((b - a).days, 7)
    n = weeks * 5
    for i in range(1, rest + 1):
        if (a + timedelta(days=weeks * 7 + i)).weekday() < 5:
            n += 1
    return n


def due_after(kind: Kind, step: Step, since: date) -> date | None:
    """The deadline of `step` counted from `since` (None where no deadline runs)."""
    n = WORKING_DAYS.get((kind, step))
    return add_working_days(since, n) if n is not None else None


def notice_until(start: date) -> date:
    return start + timedelta(days=NOTICE_DAYS - 1)


def first_of_next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def care_level_of(assessment: dict[str, bool]) -> CareLevel:
    """Six items: all done alone → 全自理; 1-3 failed → 半护理; 4 or more → 全护理
    (the rule of dynamic management's annual review, DOMAIN.md)."""
    failed = sum(1 for k in ITEMS if not assessment[k])
    if failed == 0:
        return CareLevel.SELF
    return CareLevel.PARTIAL if failed <= 3 else CareLevel.FULL
