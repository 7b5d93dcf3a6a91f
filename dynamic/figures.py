"""Timeliness figures that no paper register gives: days from a death to its record
here, per source and per township; and what the comparison lists kept from being paid
out or held.

The money the core knows is the 特困 basic-living payment (stopping from the month after
the exit) and the bed held by a centralised (集中供养) person. What features pay (the
home-care subsidy) they report through the `dynamic.losses` hook. "Without the list"
means: found at the person's next annual review (the latest point at which the paper
process looks at everyone), or a year after the date when no review is due or it is
overdue already.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from eldercare.extensions import db
from eldercare.models import AuditEntry, Person, PersonStatus, Region
from eldercare.registry import registry
from eldercare.timeutil import local_midnight_utc, months_between, to_local

from . import LOSSES, entrants
from .models import Comparison, ComparisonKind, Proposal, ProposalStatus, Termination
from .services import tekun_monthly

DIRECT = "直接登记"


def _deaths(since: date, until: date) -> list[dict]:
    """Every death recorded here in [since, until]: by an accepted list, or directly
    (a page, the API, a care home), the latter dated by its audit entry."""
    lo, hi = local_midnight_utc(since), local_midnight_utc(until + timedelta(days=1))
    out: list[dict] = []
    covered: set[int] = set()
    rows = db.session.execute(
        sa.select(Proposal, Comparison.source, Comparison.uploaded_at, Person.township_code)
        .join(Comparison, Comparison.id == Proposal.comparison_id)
        .join(Person, Person.id == Proposal.person_id)
        .where(
            Proposal.kind == ComparisonKind.DEATH,
            Proposal.status == ProposalStatus.ACCEPTED,
            Proposal.decided_at >= lo,
            Proposal.decided_at < hi,
        )
    )
    for p, source, uploaded, township in rows:
        covered.add(p.person_id)
        out.append(
            {
                "person_id": p.person_id,
                "township": township,
                "death": p.date,
                "recorded": to_local(p.decided_at).date(),  # type: ignore[arg-type]  # decided
                "reported": to_local(uploaded).date(),
                "source": source or "比对名单",
            }
        )
    entries = db.session.execute(
        sa.select(
            AuditEntry.at, AuditEntry.changes, Person.id, Person.death_date, Person.township_code
        )
        .join(Person, AuditEntry.entity_id == sa.cast(Person.id, sa.String))
        .where(
            AuditEntry.entity == "people",
            AuditEntry.action == "update",
            AuditEntry.at >= lo,
            AuditEntry.at < hi,
            Person.status == PersonStatus.DECEASED,
        )
    )
    for at, changes, pid, death, township in entries:
        status = (changes or {}).get("status")
        if pid in covered or not status or status[-1] != "deceased" or death is None:
            continue
        covered.add(pid)
        out.append(
            {
                "person_id": pid,
                "township": township,
                "death": death,
                "recorded": to_local(at).date(),
                "reported": None,
                "source": DIRECT,
            }
        )
    return out


def _summary(items: list[dict]) -> dict:
    days = [max(0, (i["recorded"] - i["death"]).days) for i in items]
    reported = [max(0, (i["reported"] - i["death"]).days) for i in items if i["reported"]]
    return {
        "deaths": len(items),
        "avg_days": round(statistics.fmean(days), 1) if days else None,
        "median_days": statistics.median(days) if days else None,
        "max_days": max(days) if days else None,
        "over_30_days": sum(1 for d in days if d > 30),
        "avg_days_to_list": round(statistics.fmean(reported), 1) if reported else None,
    }


def _avoided(since: date, until: date) -> dict:
    lo, hi = local_midnight_utc(since), local_midnight_utc(until + timedelta(days=1))
    monthly = tekun_monthly()
    months = bed_days = lag_months = lag_bed_days = exits = 0
    features: dict[str, dict] = {}
    rows = db.session.execute(
        sa.select(Proposal, Termination)
        .outerjoin(Termination, Termination.proposal_id == Proposal.id)
        .where(
            Proposal.kind.in_([ComparisonKind.DEATH, ComparisonKind.MOVED]),
            Proposal.status == ProposalStatus.ACCEPTED,
            Proposal.decided_at >= lo,
            Proposal.decided_at < hi,
        )
    )
    for p, t in rows:
        exits += 1
        recorded = to_local(p.decided_at).date()  # type: ignore[arg-type]  # accepted
        support = t.support if t is not None else None
        due = support.review_due if support is not None else None
        found = due if due and due > recorded else p.date + timedelta(days=365)
        found = max(found, recorded)
        if support is not None:
            months += months_between(recorded, found)
            lag_months += months_between(p.date, recorded)
            if support.support.value == "centralized":
                bed_days += (found - recorded).days
                lag_bed_days += max(0, (recorded - p.date).days)
        for fn in registry().hook(LOSSES):
            for est in fn(p.person, recorded, found):
                agg = features.setdefault(
                    est["label"], {"label": est["label"], "subsidy": Decimal("0.00"), "bed_days": 0}
                )
                agg["subsidy"] += Decimal(est.get("subsidy") or 0)
                agg["bed_days"] += int(est.get("bed_days") or 0)
    return {
        "exits": exits,
        "basis": _(
            "未比对时按最迟在下次年度复核时发现计算（无复核日期或复核已逾期的按死亡、"
            "迁出后一年计）；特困供养金按月标准自退出次月起停发计；床位按集中供养推算"
        ),
        "tekun_monthly": f"{monthly:.2f}",
        "tekun_months": months,
        "tekun_payments": f"{monthly * months:.2f}",
        "bed_days": bed_days,
        "features": [
            {"label": f["label"], "subsidy": f"{f['subsidy']:.2f}", "bed_days": f["bed_days"]}
            for f in features.values()
        ],
        "lag": {
            "tekun_months": lag_months,
            "tekun_payments": f"{monthly * lag_months:.2f}",
            "bed_days": lag_bed_days,
        },
    }


def timeliness(since: date, until: date) -> dict:
    deaths = _deaths(since, until)
    names: dict[str | None, str] = dict(
        db.session.execute(
            sa.select(Region.code, Region.name).where(Region.level == "township")
        ).all()
    )
    by_source: dict[str, list] = defaultdict(list)
    by_township: dict[str | None, list] = defaultdict(list)
    for d in deaths:
        by_source[d["source"]].append(d)
        by_township[d["township"]].append(d)
    return {
        "since": since,
        "until": until,
        "deaths": _summary(deaths)
        | {
            "by_source": [
                {"source": s} | _summary(items) for s, items in sorted(by_source.items())
            ],
            "by_township": [
                {"township_code": code, "township": names.get(code, "未填乡镇")} | _summary(items)
                for code, items in sorted(by_township.items(), key=lambda kv: kv[0] or "")
            ],
        },
        "avoided": _avoided(since, until),
        # 应保尽保 beside 应退尽退: who the entrants' lists found, and what became of them
        "entrants": entrants.figures(since, until),
    }
