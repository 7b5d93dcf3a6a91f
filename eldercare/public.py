"""Pages for anyone, without login: the 7-day public notices (公示). The district's
aggregate figures stay at /public (core.public); this blueprint holds what carries a
person, masked: the name with its middle character hidden, never an ID number."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template, request

from .extensions import db
from .models import Region
from .registry import registry
from .timeutil import local_today

bp = Blueprint("public", __name__)


def mask_name(name: str) -> str:
    """张三丰 → 张*丰, 李四 → 李*, 欧阳娜娜 → 欧**娜: what a notice board may show."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def current_notices(day) -> list[dict]:
    """The notices running on `day` from every feature that has some, names masked, with
    the township's and village's names; ordered by township, then start of notice."""
    rows = []
    for source in registry().public_notices:
        for n in source(day):
            if not (n["notice_from"] <= day <= n["notice_until"]):
                continue  # a source's mistake must not show an expired notice
            rows.append(
                {
                    "kind": n["kind"],
                    "name": mask_name(n["name"]),
                    "township_code": n.get("township_code"),
                    "village_code": n.get("village_code"),
                    "effective_on": n.get("effective_on"),
                    "detail": n.get("detail", ""),
                    "notice_from": n["notice_from"],
                    "notice_until": n["notice_until"],
                }
            )
    codes = {r[k] for r in rows for k in ("township_code", "village_code") if r[k]}
    names = (
        dict(
            db.session.execute(
                sa.select(Region.code, Region.name).where(Region.code.in_(codes))
            ).all()
        )
        if codes
        else {}
    )
    for r in rows:
        r["township"] = names.get(r["township_code"], "")
        r["village"] = names.get(r["village_code"], "")
    rows.sort(key=lambda r: (r["township_code"] or "", r["notice_from"], r["village"], r["name"]))
    return rows


@bp.get("/public/notices")
def notices():
    """The 公示 notices running today, grouped by township (no login, no ID number)."""
    day = local_today()
    rows = current_notices(day)
    township = request.args.get("township") or None
    towns = {r["township_code"]: r["township"] for r in rows}
    if township:
        rows = [r for r in rows if r["township_code"] == township]
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["township"], []).append(r)
    return render_template(
        "public_notices.html", groups=groups, towns=towns, township=township, today=day
    )
