"""Who may see which records: one place, deny by default (ENGINEERING.md).

Admins and auditors see every person. Every other role sees the people that a feature
puts in its scope (a manager: the residents of their home; provider staff: the elders
enrolled with their organisation); with no feature saying so, nobody.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .errors import NotFound
from .extensions import db
from .models import Person, Role, User
from .registry import registry

FULL_ID_ROLES = (Role.ADMIN, Role.AUDITOR, Role.MANAGER)
HEALTH_ROLES = (Role.ADMIN, Role.MANAGER)


def person_scope(user: User) -> sa.ColumnElement[bool]:
    if user.role in (Role.ADMIN, Role.AUDITOR):
        return sa.true()
    clauses = [c for c in (fn(user) for fn in registry().person_scopes) if c is not None]
    return sa.or_(*clauses) if clauses else sa.false()


def people(user: User) -> sa.Select:
    return sa.select(Person).where(person_scope(user))


def get_person(user: User, person_id: int) -> Person:
    """The person, if `user` may see them; NotFound otherwise (never reveal existence)."""
    person = db.session.scalar(people(user).where(Person.id == person_id))
    if person is None:
        raise NotFound(_l("未找到该人员"))
    return person


def sees_full_id(user: User) -> bool:
    return user.role in FULL_ID_ROLES


def sees_health(user: User) -> bool:
    return user.role in HEALTH_ROLES
