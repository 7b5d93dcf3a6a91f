"""What intake tells dynamic management, through the hooks it offers (by name; intake
never imports dynamic): who is supported or applying already (`dynamic.supported`),
what accepting a proposal would start or end (`dynamic.effects`), and the application
an accepted `propose_application` starts (`dynamic.entrants`). Also the receivers of
person_died / person_moved: an applicant who died or moved away has their open
applications withdrawn. Functions flush, never commit."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from eldercare.errors import Conflict
from eldercare.extensions import db
from eldercare.models import Person, User
from eldercare.timeutil import local_today

from . import rules
from .models import OPEN, Application, Kind
from .steps import NewApplication, homecare_enrolled, receive, withdraw_for
from .words import DIED, FOUND_BY_LIST, KIND_LABELS, MOVED, shown

ENTRY_KINDS = ("disability", "dibao", "age")
# in the source language: dynamic management stores these as the reason a list's row
# proposes nothing (its own reasons there are Chinese too)
KIND_WORDS = {"tekun": "特困人员救助供养", "homecare": "居家养老服务"}


def _open(person: Person) -> list[Application]:
    return list(
        db.session.scalars(
            sa.select(Application).where(
                Application.person_id == person.id, Application.status.in_(OPEN)
            )
        )
    )


def supported(person: Person, on: date) -> list[str]:
    """An open application, or home care this year (stored by dynamic management as the
    row's reason, so in the source language)."""
    out = [f"已有在办{KIND_WORDS[a.kind.value]}申请 #{a.id}" for a in _open(person)]
    if homecare_enrolled(person.id, on.year):
        out.append(f"已登记 {on.year} 年居家养老服务")
    return out


def kind_for(person: Person, on: date) -> Kind:
    """What an entrant is proposed for: home care when the year's rules already hold
    for them (before any assessment), else 特困 support, which the township checks."""
    return Kind.HOMECARE if rules.matches(person, on.year, on) else Kind.TEKUN


def effects(person: Person, kind: str, on: date) -> list[str]:
    """What accepting a proposal would start (an entrant) or end (a death or move:
    the person's open applications, withdrawn)."""
    if kind in ENTRY_KINDS:
        today = local_today()
        k = kind_for(person, today)
        if not person.township_code:
            return [_("此人未登记所在乡镇（街道），请先补全再采纳")]
        if k == Kind.HOMECARE:
            ok = _("、").join(shown(m.label) for m in rules.matches(person, today.year, today))
            return [
                _(
                    "受理居家养老服务申请（符合 %(year)s 年条件：%(rules)s），交所在乡镇（街道）"
                    "进行需求评估",
                    year=today.year,
                    rules=ok,
                )
            ]
        return [_("受理特困人员救助供养申请，交所在乡镇（街道）入户调查核实")]
    if kind in ("death", "moved"):
        return [
            _("在办的%(kind)s申请 #%(id)s 撤回", kind=KIND_LABELS[a.kind.value], id=a.id)
            for a in _open(person)
        ]
    return []


def start(
    person: Person,
    kind: str,
    on: date,
    *,
    proposal_id: int | None = None,
    user_id: int | None = None,
) -> list[str]:
    """An accepted entrant's application, received today by whoever accepted it, at the
    person's township. Raises Conflict where it cannot be received."""
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None:
        raise Conflict(_l("采纳人未知，无法受理申请"), code="no_user")
    today = local_today()
    k = kind_for(person, today)
    app = receive(
        user,
        NewApplication(
            kind=k.value,
            received_on=today,
            person_id=person.id,
            source=kind,
            proposal_id=proposal_id,
            note=FOUND_BY_LIST,
        ),
    )
    return [_("已受理%(kind)s申请 #%(id)s", kind=KIND_LABELS[k.value], id=app.id)]


def on_death(person: Person, on: date, **_kw) -> None:
    withdraw_for(person, on, DIED)


def on_move(person: Person, on: date, **_kw) -> None:
    withdraw_for(person, on, MOVED)
