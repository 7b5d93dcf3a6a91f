"""The six-item self-care assessment (DOMAIN.md "特困"): eating, dressing, getting in and
out of bed, toileting, walking indoors, bathing; all done alone → 全自理, 1-3 needing
help → 半护理, 4 or more → 全护理. The care standard (money) has these three tiers.

One place owns the mapping: intake's township check and dynamic management's annual
review both assess the six items and neither feature may import the other, so it lives
in the core beside CareLevel.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l

from .errors import Invalid
from .models import CareLevel

ITEMS = ("eating", "dressing", "transfer", "toileting", "walking", "bathing")
LABELS = {
    "eating": _l("进食"),
    "dressing": _l("穿衣"),
    "transfer": _l("上下床"),
    "toileting": _l("如厕"),
    "walking": _l("室内行走"),
    "bathing": _l("洗澡"),
}
#: items needing help from which the person is 全护理 (1 to FULL_FROM - 1: 半护理)
FULL_FROM = 4


def needing_help(assessment: Mapping[str, bool | None]) -> int:
    """How many of the six items the person cannot do alone. Raises Invalid naming the
    items not assessed (each must be True or False)."""
    missing = [k for k in ITEMS if not isinstance(assessment.get(k), bool)]
    if missing:
        raise Invalid(
            _l("自理能力评估须填写全部六项"),
            fields=dict.fromkeys(missing, _l("请选择能否独立完成")),
        )
    return sum(1 for k in ITEMS if not assessment[k])


def level_of_failed(failed: int) -> CareLevel:
    """The care level of `failed` items needing help (0 to 6)."""
    if failed <= 0:
        return CareLevel.SELF
    return CareLevel.PARTIAL if failed < FULL_FROM else CareLevel.FULL


def care_level_of(assessment: Mapping[str, bool | None]) -> CareLevel:
    """Six items: all done alone → 全自理; 1-3 needing help → 半护理; 4 or more → 全护理.
    Raises Invalid when an item is not assessed."""
    return level_of_failed(needing_help(assessment))
