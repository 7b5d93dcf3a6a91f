"""Who sees which applications and people: the bureau and the auditor everything, a
township clerk their own township's, nobody else anything (deny by default)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.errors import NotFound
from eldercare.extensions import db
from eldercare.models import Person, Role, User
from eldercare.timeutil import local_today

from .models import OPEN, Application

BUREAU = (Role.ADMIN, Role.AUDITOR)
DESK = (Role.ADMIN, Role.TOWNSHIP)  # who receives, checks and notices
READERS = (Role.ADMIN, Role.AUDITOR, Role.TOWNSHIP)


def application_scope(user: User) -> sa.ColumnElement[bool]:
    if user.role in BUREAU:
        return sa.true()
    if user.role == Role.TOWNSHIP and user.township_code:
        return Application.township_code == user.township_code
    return sa.false()


def applications(user: User) -> sa.Select:
    return sa.select(Application).where(application_scope(user))


def get_application(user: User, application_id: int, *, for_update: bool = False) -> Application:
    """The application if `user` may see it; NotFound otherwise (never say which)."""
    stmt = applications(user).where(Application.id == application_id)
    app = db.session.scalar(stmt.execution_options(populate_existing=for_update))
    if app is None:
        raise NotFound(_l("未找到该申请"))
    return app


def person_scope(user: User) -> sa.ColumnElement[bool] | None:
    """For the core's scoping: a township clerk sees the people of their township."""
    if user.role == Role.TOWNSHIP and user.township_code:
        return Person.township_code == user.township_code
    return None


def listing(
    user: User, kind=None, status=None, township_code=None, year=None, overdue=None, q=None
) -> sa.Select:
    """The applications `user` may see, filtered, newest first (pages and API alike)."""
    stmt = applications(user).order_by(Application.received_on.desc(), Application.id.desc())
    if kind:
        stmt = stmt.where(Application.kind == kind)
    if status:
        stmt = stmt.where(Application.status == status)
    if township_code:
        stmt = stmt.where(Application.township_code == township_code)
    if year:
        stmt = stmt.where(Application.year == year)
    if overdue:
        stmt = stmt.where(Application.status.in_(OPEN), Application.due < local_today())
    if q:
        stmt = stmt.join(Person, Person.id == Application.person_id).where(
            Person.name.contains(q, autoescape=True)
        )
    return stmt
