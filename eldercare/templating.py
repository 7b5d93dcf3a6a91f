"""Template filters: the one formatting helper for money, dates, times, rates and IDs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import Flask, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from .idnumbers import mask
from .registry import registry
from .timeutil import local_today, to_local


def money(value) -> str:
    """¥1,234.50; a debit as -¥40.00 (the sign before the currency, as printed receipts do)."""
    if value is None:
        return "—"
    amount = Decimal(value)
    return f"-¥{-amount:,.2f}" if amount < 0 else f"¥{amount:,.2f}"


def local_dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return to_local(value).strftime(fmt) if value else "—"


def day(value: date | None) -> str:
    return value.isoformat() if value else "—"


def long_date(value: date | None) -> str:
    """A date as a notice prints it: 2026年6月3日 (in English 2026-06-03)."""
    if value is None:
        return "—"
    if str(get_locale() or "zh") == "zh":
        return f"{value.year}年{value.month}月{value.day}日"
    return value.isoformat()


def long_month(value: date | None) -> str:
    """2026年6月 (in English 2026-06)."""
    if value is None:
        return "—"
    if str(get_locale() or "zh") == "zh":
        return f"{value.year}年{value.month}月"
    return f"{value.year}-{value.month:02d}"


def rate(value) -> str:
    if value is None:
        return "—"
    return f"{Decimal(value) * 100:.1f}%"


def url_with(**changes) -> str:
    """The current page's URL with some query arguments changed (filters stay)."""
    args = request.args.to_dict()
    args.update({k: v for k, v in changes.items() if v is not None})
    for k, v in changes.items():
        if v is None:
            args.pop(k, None)
    return url_for(request.endpoint or "", **(request.view_args or {}), **args)  # type: ignore[arg-type]


LABELS = {
    "role": {
        "admin": _l("民政局"),
        "manager": _l("机构管理员"),
        "provider": _l("服务组织"),
        "worker": _l("服务人员"),
        "auditor": _l("审计"),
        "township": _l("乡镇（街道）经办"),
    },
    "category": {
        "tekun": _l("特困"),
        "dibao": _l("低保"),
        "age80": _l("80岁以上"),
        "disabled": _l("残疾人"),
        "alone": _l("独居"),
        "empty_nest": _l("空巢"),
    },
    "care": {"self": _l("全自理"), "partial": _l("半护理"), "full": _l("全护理")},
    "wubao": {"elderly": _l("老年人"), "disabled": _l("残疾人"), "minor": _l("未成年人")},
    "support": {"dispersed": _l("分散供养"), "centralized": _l("集中供养")},
    # why a 特困 support record ended: art. 24 of 认定办法, or a change of support
    "support_end": {
        "changed": _l("供养方式变更"),
        "death": _l("死亡或被宣告失踪、死亡"),
        "moved": _l("户籍迁出本区"),
        "work_ability": _l("恢复或新增劳动能力"),
        "imprisoned": _l("依法被判处刑罚且在监狱服刑"),
        "income_assets": _l("收入和财产状况不再符合条件"),
        "supporter_able": _l("法定义务人具有了履行义务能力"),
        "voluntary": _l("自愿申请退出"),
    },
}


def _labeller(kind: str):
    def label(value) -> str:
        if value is None:
            return "—"
        key = getattr(value, "value", value)
        return str(LABELS[kind].get(key, key))

    return label


# The menu's sections, by the order numbers features give their items (CONTRIBUTING.md).
NAV_SECTIONS = [
    (0, 9, None),
    (10, 19, _l("人员")),
    (20, 29, _l("机构与床位")),
    (30, 59, _l("居家养老")),
    (60, 79, _l("动态管理")),
    (80, 99, _l("系统")),
]


def nav_groups(items) -> list[tuple[object, list]]:
    """Menu items in sections: a section with one item is a link, more make a dropdown."""
    groups: list[tuple[object, list]] = []
    for lo, hi, label in NAV_SECTIONS:
        members = [i for i in items if lo <= i.order <= hi]
        if label is None or len(members) == 1:
            groups.extend((None, [m]) for m in members)
        elif members:
            groups.append((label, members))
    return groups


def person_status(person) -> Markup:
    """Status by colour and word, never colour alone (UX.md)."""
    status = getattr(person.status, "value", person.status)
    if status == "deceased":
        text = _("已故 %(d)s", d=day(person.death_date))
        return Markup('<span class="badge status-dead">{}</span>').format(text)
    if status == "moved":
        return Markup('<span class="badge status-off">{}</span>').format(_("已迁出"))
    return Markup('<span class="badge status-ok">{}</span>').format(_("在册"))


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        money=money,
        local_dt=local_dt,
        day=day,
        rate=rate,
        mask=mask,
        long_date=long_date,
        long_month=long_month,
    )
    app.jinja_env.globals.update(
        url_with=url_with,
        person_status=person_status,
        local_today=local_today,
        **{f"{k}_label": _labeller(k) for k in LABELS},
    )

    @app.context_processor
    def _nav():
        items = []
        if current_user.is_authenticated:
            items = [n for n in registry().nav if current_user.role in n.roles]
        return {"nav_groups": nav_groups(items), "locale": str(get_locale() or "zh")}
