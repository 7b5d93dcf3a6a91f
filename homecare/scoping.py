"""Who sees which home-care records: one helper per entity, deny by default.

Admins and auditors see everything; provider admins their own organisation's
enrolments and visits; workers their organisation's enrolments (to serve them) and only
their own visits; every other role nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.errors import NotFound
from eldercare.extensions import db
from eldercare.models import Person, Role, User

from .models import Enrolment, Provider, Visit

EVERYTHING = (Role.ADMIN, Role.AUDITOR)
STAFF = (Role.PROVIDER, Role.WORKER)


def enrolment_scope(user: User) -> sa.ColumnElement[bool]:
    if user.role in EVERYTHING:
        return sa.true()
    if user.role in STAFF and user.provider_id is not None:
        return Enrolment.provider_id == user.provider_id
    return sa.false()


def enrolments(user: User) -> sa.Select:
    return sa.select(Enrolment).where(enrolment_scope(user))


def get_enrolment(user: User, enrolment_id: int) -> Enrolment:
    """The enrolment if `user` may see it; NotFound otherwise (never reveal existence)."""
    enrolment = db.session.scalar(enrolments(user).where(Enrolment.id == enrolment_id))
    if enrolment is None:
        raise NotFound(_l("未找到该服务登记"))
    return enrolment


def visit_scope(user: User) -> sa.ColumnElement[bool]:
    if user.role in EVERYTHING:
        return sa.true()
    if user.role == Role.PROVIDER and user.provider_id is not None:
        return Visit.provider_id == user.provider_id
    if user.role == Role.WORKER:
        return Visit.worker_id == user.id
    return sa.false()


def visits(user: User) -> sa.Select:
    return sa.select(Visit).where(visit_scope(user))


def get_visit(user: User, visit_id: int) -> Visit:
    visit = db.session.scalar(visits(user).where(Visit.id == visit_id))
    if visit is None:
        raise NotFound(_l("未找到该服务记录"))
    return visit


def providers(user: User) -> sa.Select:
    stmt = sa.select(Provider).order_by(Provider.id)
    if user.role in EVERYTHING:
        return stmt
    if user.role in STAFF and user.provider_id is not None:
        return stmt.where(Provider.id == user.provider_id)
    return stmt.where(sa.false())


def get_provider(user: User, provider_id: int) -> Provider:
    provider = db.session.scalar(providers(user).where(Provider.id == provider_id))
    if provider is None:
        raise NotFound(_l("未找到该服务组织"))
    return provider


def person_scope(user: User) -> sa.ColumnElement[bool] | None:
    """The core's person scope: provider admins see the elders enrolled with them."""
    if user.role == Role.PROVIDER and user.provider_id is not None:
        return Person.id.in_(
            sa.select(Enrolment.person_id).where(Enrolment.provider_id == user.provider_id)
        )
    return None
