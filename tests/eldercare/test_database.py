"""Database plumbing (eldercare/database.py): which database this is, and which unique
index an integrity error broke, told by name on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from eldercare.database import insert_or_raise, is_postgres, violated_constraint
from eldercare.models import Person, User
from tests import factories as f
from tests.conftest import DATABASE_URL


def test_is_postgres_asks_the_engine_or_a_given_connection(app, db):
    expected = DATABASE_URL.startswith("postgresql")
    assert is_postgres() is expected
    assert is_postgres(db.engine) is expected
    assert is_postgres(db.session.connection()) is expected


def _integrity_error(db, stmt) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught, db.session.begin_nested():
        db.session.execute(stmt)
    return caught.value


def test_a_broken_unique_constraint_is_named(app, db):
    taken = f.user("admin")
    exc = _integrity_error(
        db,
        sa.insert(User).values(
            username=taken.username,
            password_hash="x",
            role="admin",
            active=True,
            session_version=1,
            failed_logins=0,
        ),
    )
    assert violated_constraint(exc, User.__table__) == "uq_users_username"


def test_an_error_of_another_table_or_kind_names_nothing(app, db):
    taken = f.user("admin")
    duplicate = _integrity_error(
        db,
        sa.insert(User).values(
            username=taken.username,
            password_hash="x",
            role="admin",
            active=True,
            session_version=1,
            failed_logins=0,
        ),
    )
    assert violated_constraint(duplicate, Person.__table__) is None
    not_null = _integrity_error(db, sa.insert(User).values(username="nobody", role="admin"))
    assert violated_constraint(not_null, User.__table__) is None


def test_insert_or_raise_turns_a_refusal_into_the_callers_error_and_goes_on(app, db):
    from eldercare.errors import Conflict

    taken = f.user("admin")
    kept = f.person("王德福")
    kept.phone = "13800000000"  # a change before the refused row survives it

    def twin() -> User:
        return User(
            username=taken.username,
            password_hash="x",
            role="admin",
            active=True,
            session_version=1,
            failed_logins=0,
        )

    with pytest.raises(Conflict, match="已有"):
        insert_or_raise(twin(), Conflict("已有该账号"))
    with pytest.raises(Conflict, match="uq_users_username"):
        insert_or_raise(twin(), lambda exc: Conflict(violated_constraint(exc, User.__table__)))
    with pytest.raises(IntegrityError):
        insert_or_raise(twin(), lambda exc: None)
    db.session.commit()
    db.session.refresh(kept)
    assert kept.phone == "13800000000"
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1
