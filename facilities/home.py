"""A care-home (or day-care centre) manager's first page (issue 17.13): their own home at a
glance — the board's summary, whether today's census is done, what waits for them (alerts,
overdue leaves, transfer requests) — and one tap to the bed board. Registered in
registry.home_pages for the manager role; the core's "/" shows it."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_login import current_user

from eldercare.extensions import db
from eldercare.jobs import alerts_for
from eldercare.timeutil import local_today

from . import daycare_figures, queries, scoping
from .forms import DayForm
from .models import (
    CensusConfirmation,
    Facility,
    FacilityKind,
    Stay,
    TransferRequest,
    TransferStatus,
)


def manager_home():
    facility = scoping.get_facility(current_user, current_user.facility_id)
    today = local_today()
    census = db.session.scalar(
        sa.select(CensusConfirmation).where(
            CensusConfirmation.facility_id == facility.id, CensusConfirmation.day == today
        )
    )
    pending = db.session.scalars(
        sa.select(TransferRequest)
        .join(Stay, Stay.id == TransferRequest.stay_id)
        .where(Stay.facility_id == facility.id, TransferRequest.status == TransferStatus.PENDING)
        .order_by(TransferRequest.on_date)
    ).all()
    return render_template(
        "facilities/home.html",
        facility=facility,
        today=today,
        census=census,
        occ=queries.facility_occupancy(facility.id, today),
        overdue=queries.overdue_leaves(facility.id, today),
        pending=pending,
        alerts=alerts_for(current_user),
        census_form=DayForm(),
        day_care=facility.kind == FacilityKind.DAY_CARE,
        daycare=daycare_figures.month_table(today, Facility.id == facility.id)
        if facility.kind == FacilityKind.DAY_CARE
        else None,
    )
