"""A provider's first page (issue 17.13): its month — visits logged, visits flagged, the
claim due for last month, the elders whose balance is nearly used — each linking to its
list. Registered in registry.home_pages for the provider role; the core's "/" shows it."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import redirect, render_template, request, url_for
from flask_login import current_user

from eldercare.extensions import db
from eldercare.jobs import alerts_for
from eldercare.timeutil import Month, local_today

from .. import scoping as hc
from ..models import Enrolment, EnrolmentStatus, Visit, VisitStatus
from .labels import STATUS_LABELS
from .models import Claim

LOW_BALANCE = Decimal("30.00")  # 余额不足: about one visit's subsidy left


def month_figures(provider_id: int, month: Month) -> dict:
    """Visits of `provider_id` checked in during `month`, by status."""
    start, end = month.bounds_utc()
    rows: dict[object, int] = dict(
        db.session.execute(
            sa.select(Visit.status, sa.func.count())
            .where(
                Visit.provider_id == provider_id,
                Visit.check_in_at >= start,
                Visit.check_in_at < end,
            )
            .group_by(Visit.status)
        ).all()
    )
    counts = {s.value: int(rows.get(s) or rows.get(s.value) or 0) for s in VisitStatus}
    return {"visits": sum(counts.values()), **counts}


def low_balances(provider_id: int, year: int, limit: int = 20) -> tuple[int, list[Enrolment]]:
    """The provider's active enrolments of `year` with less than LOW_BALANCE left,
    the emptiest first, and how many there are."""
    where = (
        Enrolment.provider_id == provider_id,
        Enrolment.year == year,
        Enrolment.status == EnrolmentStatus.ACTIVE,
        Enrolment.balance < LOW_BALANCE,
    )
    total = db.session.scalar(sa.select(sa.func.count(Enrolment.id)).where(*where)) or 0
    items = db.session.scalars(
        sa.select(Enrolment).where(*where).order_by(Enrolment.balance, Enrolment.id).limit(limit)
    ).all()
    return total, list(items)


def provider_month():
    provider = hc.get_provider(current_user, current_user.provider_id)
    today = local_today()
    try:
        month = (
            Month.parse(request.args.get("month")) if request.args.get("month") else Month.of(today)
        )
    except Exception:
        month = Month.of(today)
    if month.first > today:
        month = Month.of(today)
    due = month.previous()
    claims = db.session.scalars(
        sa.select(Claim)
        .where(Claim.provider_id == provider.id, Claim.month == due.text)
        .order_by(Claim.id)
    ).all()
    total_low, low = low_balances(provider.id, month.year)
    return render_template(
        "homecare/claims/month.html",
        provider=provider,
        month=month,
        today=today,
        figures=month_figures(provider.id, month),
        due=due,
        claims=claims,
        status_labels=STATUS_LABELS,
        low=low,
        total_low=total_low,
        low_limit=LOW_BALANCE,
        alerts=alerts_for(current_user),
    )


def worker_home():
    """A worker's first page is the scanner."""
    return redirect(url_for("homecare_scan.scan_page"))
