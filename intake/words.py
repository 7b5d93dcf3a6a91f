"""The words of intake shown to people: the labels of statuses and kinds, and the
sentences intake writes into its own rows (the need reasons of an assessment, the note of
a decision that put the applicant on the waiting list, the reason of a withdrawal made by
the system, the note of an application an entrants' list started).

Those sentences stay in the source language in the database: a row must read the same
whoever wrote it, and the API's stored fields are Chinese as ever. Each is marked with
`N_` (a no-op that `pybabel extract` picks up) so the catalogue holds it, and `shown`
puts a stored sentence into the reader's language where a page or an answer shows it.
Text a person typed (a note, a refusal's reasons) passes through `shown` unchanged.
"""

from __future__ import annotations

import re
from functools import cache

from flask_babel import gettext
from flask_babel import lazy_gettext as _l


def N_(text: str) -> str:
    """Mark a source string stored as data: extracted for the catalogue, not translated
    here (`shown` translates it where it is displayed)."""
    return text


STATUS_LABELS = {
    "received": _l("已受理"),
    "checked": _l("已调查评估"),
    "noticed": _l("公示中"),
    "approved": _l("已确认"),
    "refused": _l("不予确认"),
    "waiting": _l("轮候中"),
    "withdrawn": _l("已撤回"),
}
KIND_LABELS = {"tekun": _l("特困人员救助供养"), "homecare": _l("居家养老服务")}

# the need reasons of a home-care assessment (rules.need), as stored
NEED_ITEMS = N_("六项自理能力中 %(n)s 项需要帮助（%(level)s）+%(points)s")
NEED_FULL, NEED_PARTIAL = N_("全护理"), N_("半护理")
# the points are the year's (intake/settings.py); rows stored before they were carry
# the same sentences with the old fixed points, which these templates read as well
NEED_AGE90, NEED_AGE80 = N_("90周岁以上 +%(points)s"), N_("80周岁以上 +%(points)s")
NEED_TEKUN, NEED_DIBAO = N_("特困人员 +%(points)s"), N_("低保对象 +%(points)s")
NEED_DISABLED, NEED_ALONE = N_("残疾人 +%(points)s"), N_("独居 +%(points)s")
# the note of a decision that found the year's places taken (care.decide), as stored
PLACES_FULL = N_("名额已满（%(places)s）")
# what the system writes into an application (entrants.py), as stored
DIED, MOVED = N_("申请人死亡"), N_("申请人迁出本区")
FOUND_BY_LIST = N_("比对名单发现（应保尽保）")

# the stored sentences with values in them, recognised again to be translated
_TEMPLATES = (
    NEED_ITEMS,
    NEED_AGE90,
    NEED_AGE80,
    NEED_TEKUN,
    NEED_DIBAO,
    NEED_DISABLED,
    NEED_ALONE,
    PLACES_FULL,
)


@cache
def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"%\((\w+)\)s", template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    return re.compile(regex)


def shown(text: str | None) -> str:
    """A sentence as stored (Chinese), in the reader's language: one of the templates
    above with its values (each value translated too: 半护理), a marked sentence, or
    anything else unchanged."""
    if not text:
        return text or ""
    for template in _TEMPLATES:
        found = _pattern(template).fullmatch(text)
        if found:
            return gettext(template, **{k: gettext(v) for k, v in found.groupdict().items()})
    return gettext(text)
