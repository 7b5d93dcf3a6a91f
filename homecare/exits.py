"""What an exit from the registry (a death, a move away) ends in home care: the answers
to the two hooks the dynamic-management feature offers (dynamic/__init__.py), filled by
name in init_app so that neither package imports the other."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from eldercare.database import to_money
from eldercare.extensions import db
from eldercare.models import Person
from eldercare.timeutil import months_between

from . import services
from .models import Enrolment, EnrolmentStatus


def _active(person: Person) -> list[Enrolment]:
    return list(
        db.session.scalars(
            sa.select(Enrolment)
            .where(Enrolment.person_id == person.id, Enrolment.status == EnrolmentStatus.ACTIVE)
            .order_by(Enrolment.year)
        )
    )


def effects(person: Person, kind: str, on: date) -> list[str]:
    """A death or a move ends the person's active enrolments from `on` (on_person_died,
    on_person_moved); the balance left stays in the ledger, unused."""
    if kind not in ("death", "moved"):
        return []
    return [
        _(
            "居家养老服务（%(provider)s，%(year)s 年）自 %(on)s 终止，补贴余额 ¥%(balance)s 不再使用",  # noqa: E501
            provider=e.provider.name,
            year=e.year,
            on=on,
            balance=f"{e.balance:.2f}",
        )
        for e in _active(person)
    ]


def losses(person: Person, on: date, found_on: date) -> list[dict]:
    """The subsidy an enrolment would have gone on drawing had the exit been found only on
    `found_on`: the elder's own monthly draw so far this year, for the months between,
    never more than the balance left (nothing is drawn beyond it)."""
    out = []
    for e in _active(person):
        _allocated, spent = services.ledger_summaries([e.id]).get(e.id, (Decimal(0), Decimal(0)))
        elapsed = max(1, on.month if on.year == e.year else 12)
        rate = spent / elapsed
        at_risk = min(e.balance, rate * months_between(on, found_on))
        if at_risk > 0:
            out.append({"label": _("居家养老补贴"), "subsidy": to_money(at_risk)})
    return out
