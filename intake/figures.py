"""Intake figures: the overview's `intake`, the figures page (applications by step and
township, time in each step against its deadline, decisions and refusal reasons, the
waiting list, where applicants came from), the waiting list's page, alerts for deadlines
passed, and the 特困 applications under notice for /public/notices.

Every figure counts rows of `applications` and `application_steps` of one year (the
year applied for), so a test can count the same rows and get the same numbers.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from eldercare.extensions import db
from eldercare.models import Region, Role, User
from eldercare.templating import LABELS
from eldercare.timeutil import local_today

from . import rules
from .deadlines import working_days_between
from .models import OPEN, Application, ApplicationStep, Kind, Status, Step

STEP_ORDER = (Step.CHECK, Step.NOTICE, Step.PLAN, Step.DECIDE, Step.ENROL)
SOURCES = ("desk", "disability", "dibao", "age")


def _overdue(day: date):
    return sa.and_(
        Application.status.in_(OPEN), Application.due.is_not(None), Application.due < day
    )


def overview(day: date) -> dict:
    """`intake` for the year of `day`: open (received, checked or under notice), late
    (open past the deadline on `day`, or with a step done late), approved, refused,
    waiting (home care, no place yet)."""
    year = day.year
    mine = Application.year == year
    counts = dict(
        db.session.execute(
            sa.select(Application.status, sa.func.count()).where(mine).group_by(Application.status)
        ).all()
    )
    late_step = sa.select(ApplicationStep.id).where(
        ApplicationStep.application_id == Application.id, ApplicationStep.late.is_(True)
    )
    late = (
        db.session.scalar(
            sa.select(sa.func.count(Application.id)).where(
                mine, sa.or_(_overdue(day), late_step.exists())
            )
        )
        or 0
    )
    return {
        "intake": {
            "year": year,
            "open": sum(
                counts.get(s, 0) for s in (Status.RECEIVED, Status.CHECKED, Status.NOTICED)
            ),
            "late": late,
            "approved": counts.get(Status.APPROVED, 0),
            "refused": counts.get(Status.REFUSED, 0),
            "waiting": counts.get(Status.WAITING, 0),
        }
    }


def township_names() -> dict[str, str]:
    return dict(
        db.session.execute(
            sa.select(Region.code, Region.name)
            .where(Region.level == "township")
            .order_by(Region.code)
        ).all()
    )


def _steps_timing(year: int) -> list[dict]:
    """Per kind and step: how many were done, working days taken since the step before
    (median and mean), how many late, and how many still open past their deadline."""
    rows = db.session.execute(
        sa.select(
            Application.id,
            Application.kind,
            ApplicationStep.step,
            ApplicationStep.on,
            ApplicationStep.late,
        )
        .join(ApplicationStep, ApplicationStep.application_id == Application.id)
        .where(Application.year == year)
        .order_by(Application.id, ApplicationStep.id)
    ).all()
    by_app: dict[int, list] = defaultdict(list)
    for r in rows:
        by_app[r.id].append(r)
    agg: dict[tuple, dict] = {}
    for steps in by_app.values():
        prev = None
        for r in steps:
            if r.step in STEP_ORDER or r.step == Step.PLACE:
                key = (r.kind.value, r.step.value)
                a = agg.setdefault(
                    key, {"kind": key[0], "step": key[1], "done": 0, "late": 0, "days": []}
                )
                a["done"] += 1
                a["late"] += int(r.late)
                if prev is not None:
                    a["days"].append(working_days_between(prev, r.on))
            if r.step != Step.WITHDRAW:
                prev = r.on
    out = []
    for kind in Kind:
        for step in (*STEP_ORDER, Step.PLACE):
            found = agg.get((kind.value, step.value))
            if found is None:
                continue
            a = found
            days = a.pop("days")
            out.append(
                a
                | {
                    "median_days": statistics.median(days) if days else None,
                    "avg_days": round(statistics.fmean(days), 1) if days else None,
                }
            )
    return out


def figures(year: int, day: date | None = None) -> dict:
    day = day or local_today()
    names = township_names()
    mine = Application.year == year
    by_town: dict[str | None, Counter] = defaultdict(Counter)
    for town, kind, status, n in db.session.execute(
        sa.select(Application.township_code, Application.kind, Application.status, sa.func.count())
        .where(mine)
        .group_by(Application.township_code, Application.kind, Application.status)
    ):
        by_town[town][status.value] += n
        by_town[town][f"{kind.value}"] += n
    overdue_by_town: dict[str | None, int] = dict(
        db.session.execute(
            sa.select(Application.township_code, sa.func.count())
            .where(mine, _overdue(day))
            .group_by(Application.township_code)
        ).all()
    )
    townships = [
        {
            "township_code": code,
            "township": names.get(code or "", code),
            "total": c["tekun"] + c["homecare"],
            "tekun": c["tekun"],
            "homecare": c["homecare"],
            "overdue": overdue_by_town.get(code, 0),
            **{s.value: c[s.value] for s in Status},
        }
        for code, c in sorted(by_town.items(), key=lambda kv: kv[0] or "")
    ]
    decisions = []
    for kind in Kind:
        refused = db.session.execute(
            sa.select(Application.reasons, sa.func.count())
            .where(mine, Application.kind == kind, Application.status == Status.REFUSED)
            .group_by(Application.reasons)
            .order_by(sa.func.count().desc())
        ).all()
        approved = (
            db.session.scalar(
                sa.select(sa.func.count()).where(
                    mine, Application.kind == kind, Application.status == Status.APPROVED
                )
            )
            or 0
        )
        decisions.append(
            {
                "kind": kind.value,
                "approved": approved,
                "refused": sum(n for _r, n in refused),
                "reasons": [{"reason": r, "count": n} for r, n in refused],
            }
        )
    sources = dict(
        db.session.execute(
            sa.select(Application.source, sa.func.count()).where(mine).group_by(Application.source)
        ).all()
    )
    waiting = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(Application.waiting_since)).where(
            mine, Application.kind == Kind.HOMECARE, Application.status == Status.WAITING
        )
    ).one()
    return {
        "year": year,
        "date": day,
        "totals": overview(day if day.year == year else date(year, 12, 31))["intake"],
        "townships": townships,
        "steps": _steps_timing(year),
        "decisions": decisions,
        "waiting": {
            "count": waiting[0] or 0,
            "oldest_since": waiting[1],
            "oldest_days": (day - waiting[1]).days if waiting[1] else None,
            "places": rules.places_row(year).places,
            "taken": rules.places_taken(year),
        },
        "sources": [{"source": s, "applications": sources.get(s, 0)} for s in SOURCES],
    }


# --- the waiting list -------------------------------------------------------------------


def waiting_page(user: User, year: int, page: int, per_page: int) -> dict:
    """One page of the ranked waiting list: ranks are district-wide; a township clerk
    sees the entries of their township with their district ranks."""
    ranked = (
        rules.waiting_list(year)
        .order_by(None)
        .add_columns(
            sa.func.row_number()
            .over(
                order_by=(Application.need_score.desc(), Application.waiting_since, Application.id)
            )
            .label("rank")
        )
    )
    sub = ranked.subquery()
    stmt = sa.select(aliased(Application, sub), sub.c.rank).order_by(sub.c.rank)
    if user.role == Role.TOWNSHIP:
        stmt = stmt.where(sub.c.township_code == user.township_code)
    elif user.role not in (Role.ADMIN, Role.AUDITOR):
        stmt = stmt.where(sa.false())
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    today = local_today()
    items = [
        rules.rank_entry(app, rank, today)
        for app, rank in db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    ]
    return {
        "items": items,
        "total": total,
        "page": page,
        "per_page": per_page,
        "year": year,
        "places": rules.places_row(year).places,
        "taken": rules.places_taken(year),
    }


# --- alerts and notices -----------------------------------------------------------------


def alerts(day: date) -> list[dict]:
    """A deadline passed: per township, for its clerks and for the bureau."""
    names = township_names()
    rows = db.session.execute(
        sa.select(Application.township_code, sa.func.count())
        .where(_overdue(day))
        .group_by(Application.township_code)
    ).all()
    out = []
    for code, n in rows:
        town = names.get(code, code)
        out.append(
            {
                "kind": "intake_late",
                "role": "admin",
                "count": n,
                "message": _l("%(town)s：%(n)s 份申请已超过办理时限", town=town, n=n),
                "link": f"/applications?overdue=1&township={code}",
            }
        )
        out.append(
            {
                "kind": "intake_late",
                "role": "township",
                "township_code": code,
                "count": n,
                "message": _l("本乡镇（街道）%(n)s 份申请已超过办理时限", n=n),
                "link": "/applications?overdue=1",
            }
        )
    return out


def notices_running(day: date) -> list[dict]:
    """特困 applications whose 7-day notice runs on `day` (for /public/notices: the full
    name, which the core masks; never an ID number)."""
    apps = db.session.scalars(
        sa.select(Application)
        .where(
            Application.kind == Kind.TEKUN,
            Application.notice_from <= day,
            Application.notice_until >= day,
        )
        .order_by(Application.notice_from, Application.id)
    ).all()
    return [
        {
            "kind": _("特困人员救助供养申请：初审意见公示"),
            "name": a.person.name,
            "township_code": a.township_code,
            "village_code": a.village_code,
            "effective_on": None,
            "detail": _(
                "乡镇（街道）初审：拟认定为特困人员，%(care)s",
                care=LABELS["care"].get(a.care_level.value, "") if a.care_level else "",
            ),
            "notice_from": a.notice_from,
            "notice_until": a.notice_until,
        }
        for a in apps
    ]
