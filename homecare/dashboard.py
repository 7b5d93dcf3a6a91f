"""The home-care dashboard (PRODUCT.md "Home care"): for a year, the subsidy allocated
and used per provider, the subsidy used per township, visits and flagged visits per local
month, and call-back results — as far as the viewer may see them (homecare.scoping).

Four grouped queries, whatever the number of providers, townships or months."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from eldercare.database import from_fen
from eldercare.extensions import db
from eldercare.models import Person, Region, Role, User
from eldercare.timeutil import Month, local_month, local_today

from . import figure_tallies, services
from . import scoping as hc
from .claims.models import CallbackOutcome, CallbackSample, Claim
from .claims.scoping import callback_scope
from .models import Enrolment, LedgerEntry, Visit, VisitStatus

#: Call-back results in the order shown; "pending" is a sample without an outcome yet.
OUTCOMES = ("confirmed", "not_delivered", "unreachable", "complaint", "pending")


def _months(year: int) -> list[Month]:
    """The months of `year` up to this one (none for a year to come)."""
    today = local_today()
    return [] if year > today.year else Month.of_year(year, until=today)


def _subsidy(user: User, year: int) -> tuple[dict, dict, dict]:
    """Whole fen allocated and used per provider, and used per township."""
    # The year's enrolments as a set (IN), so that the ledgers are read through their
    # covering index (figures.homecare_figures); summed per enrolment first, then the
    # few hundred/thousand per-enrolment sums are grouped by provider and township.
    year_enrolments = sa.select(Enrolment.id).where(
        Enrolment.year == year, hc.enrolment_scope(user)
    )
    allocated_sum, moved_sum = services.ledger_sums()
    per_enrolment = (
        sa.select(
            LedgerEntry.enrolment_id.label("eid"),
            allocated_sum.label("allocated"),
            moved_sum.label("moved"),
        )
        .where(LedgerEntry.enrolment_id.in_(year_enrolments))
        .group_by(LedgerEntry.enrolment_id)
        .subquery()
    )
    allocated: dict[int, int] = {}
    used: dict[int, int] = {}
    township_used: dict[str | None, int] = {}
    for provider_id, township, alloc, moved in db.session.execute(
        sa.select(
            Enrolment.provider_id,
            Person.township_code,
            sa.func.sum(per_enrolment.c.allocated),
            sa.func.sum(per_enrolment.c.moved),
        )
        .select_from(per_enrolment)
        .join(Enrolment, Enrolment.id == per_enrolment.c.eid)
        .join(Person, Person.id == Enrolment.person_id)
        .group_by(Enrolment.provider_id, Person.township_code)
    ):
        allocated[provider_id] = allocated.get(provider_id, 0) + int(alloc or 0)
        used[provider_id] = used.get(provider_id, 0) - int(moved or 0)
        township_used[township] = township_used.get(township, 0) - int(moved or 0)
    return allocated, used, township_used


def _visits(user: User, months: list[Month]) -> dict[str, list[int]]:
    """[visits, flagged visits] per local month: from the month tallies for the bureau
    and a provider (figure_tallies.visit_months), from the visits for anyone else."""
    if user.role in hc.EVERYTHING:
        return figure_tallies.visits_by_month(months)
    if user.role == Role.PROVIDER and user.provider_id is not None:
        return figure_tallies.visits_by_month(months, user.provider_id)
    return visits_counted(user, months)


def visits_counted(user: User, months: list[Month]) -> dict[str, list[int]]:
    """[visits, flagged visits] per local month, counted from the visits in `user`'s
    scope."""
    visits = {m.text: [0, 0] for m in months}
    if not months:
        return visits
    start, end = months[0].start_utc, months[-1].end_utc
    month = local_month(Visit.check_in_at)
    for key, n, flagged in db.session.execute(
        sa.select(
            month,
            sa.func.count(Visit.id),
            sa.func.count(Visit.id).filter(Visit.status == VisitStatus.FLAGGED),
        )
        .where(hc.visit_scope(user), Visit.check_in_at >= start, Visit.check_in_at < end)
        .group_by(month)
    ):
        if key in visits:
            visits[key] = [int(n), int(flagged)]
    return visits


def _callbacks(user: User, year: int) -> dict[str, int]:
    """Call-backs per outcome (OUTCOMES) of the year's claims."""
    callbacks = dict.fromkeys(OUTCOMES, 0)
    for outcome, n in db.session.execute(
        sa.select(CallbackSample.outcome, sa.func.count(CallbackSample.id))
        .join(Claim, Claim.id == CallbackSample.claim_id)
        .where(callback_scope(user), Claim.month.startswith(f"{year}-"))
        .group_by(CallbackSample.outcome)
    ):
        key = CallbackOutcome(outcome).value if outcome is not None else "pending"
        callbacks[key] += int(n)
    return callbacks


def dashboard_figures(user: User, year: int) -> dict:
    """The year's figures for `user`'s scope; money as Decimal."""
    providers = db.session.scalars(hc.providers(user)).all()
    allocated, used, township_used = _subsidy(user, year)
    names = dict(
        db.session.execute(
            sa.select(Region.code, Region.name).where(Region.level == "township")
        ).all()
    )
    townships = sorted(township_used, key=lambda c: (c is None, c or ""))
    months = _months(year)
    visits = _visits(user, months)
    return {
        "year": year,
        "providers": [
            {
                "provider_id": p.id,
                "provider": p.name,
                "allocated": from_fen(allocated.get(p.id)),
                "used": from_fen(used.get(p.id)),
            }
            for p in providers
        ],
        "townships": [
            {
                "township_code": c,
                "township": names.get(c, c) if c else None,
                "used": from_fen(township_used[c]),
            }
            for c in townships
        ],
        "months": [
            {"month": m.text, "visits": visits[m.text][0], "flagged": visits[m.text][1]}
            for m in months
        ],
        "callbacks": _callbacks(user, year),
    }


def as_json(figures: dict) -> dict:
    """The figures with money as strings, as the API answers (API.md)."""

    def money(row: dict) -> dict:
        return {k: f"{v:.2f}" if isinstance(v, Decimal) else v for k, v in row.items()}

    return figures | {
        "providers": [money(r) for r in figures["providers"]],
        "townships": [money(r) for r in figures["townships"]],
    }
