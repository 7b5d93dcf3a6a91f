"""The `alerts` job's source for balances nearly used (余额不足, issue 17.8): per provider,
its elders whose balance is under 30.00 yuan (about one visit's subsidy), one alert for
the provider's own staff (their first page, the provider's month) and one for the bureau
(the dashboard). Registered in init_app as one of the registry's alert sources."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.extensions import db
from eldercare.models import Person

from .models import Enrolment, EnrolmentStatus, Provider

LOW_BALANCE = Decimal("30.00")
NAMES_SHOWN = 10  # the alert lists this many names; the count says how many in all


def low_balances(day: date) -> dict[int, list[tuple[str, Decimal]]]:
    """(name, balance) of each provider's elders enrolled and active in `day`'s year with
    less than LOW_BALANCE left, the lowest first, per provider id."""
    rows = db.session.execute(
        sa.select(Enrolment.provider_id, Person.name, Enrolment.balance)
        .join(Person, Person.id == Enrolment.person_id)
        .where(
            Enrolment.year == day.year,
            Enrolment.status == EnrolmentStatus.ACTIVE,
            Enrolment.enrolled_on <= day,
            Enrolment.balance < LOW_BALANCE,
        )
        .order_by(Enrolment.provider_id, Enrolment.balance, Enrolment.id)
    )
    out: dict[int, list[tuple[str, Decimal]]] = {}
    for provider_id, name, balance in rows:
        out.setdefault(provider_id, []).append((name, balance))
    return out


def alerts(day: date) -> list[dict]:
    """One alert per provider with elders under LOW_BALANCE: for its staff and for the
    bureau, naming the first NAMES_SHOWN of them with their balances."""
    found = low_balances(day)
    if not found:
        return []
    names = dict(
        db.session.execute(
            sa.select(Provider.id, Provider.name).where(Provider.id.in_(found))
        ).all()
    )
    out = []
    for provider_id, elders in found.items():
        shown = "、".join(f"{name}（¥{balance:.2f}）" for name, balance in elders[:NAMES_SHOWN])
        if len(elders) > NAMES_SHOWN:
            shown += "……"
        message = _l(
            "%(provider)s：%(n)s 位老人补贴余额不足 %(limit)s 元：%(names)s",
            provider=names.get(provider_id, ""),
            n=len(elders),
            limit=f"{LOW_BALANCE:.2f}",
            names=shown,
        )
        link = f"/homecare/enrolments?provider_id={provider_id}&status=active"
        for role in ("provider", "admin"):
            out.append(
                {
                    "kind": "balance_low",
                    "role": role,
                    "provider_id": provider_id,
                    "facility_id": None,
                    "count": len(elders),
                    "message": message,
                    "link": link,
                }
            )
    return out
