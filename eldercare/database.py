"""Database plumbing shared by every feature: column types, transactions, retries.

SQLite is the embedded default and PostgreSQL the production database; both must
enforce the same rules, so everything here works on both (ENGINEERING.md).
"""

from __future__ import annotations

import contextvars
import enum
import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import mapped_column
from sqlalchemy.types import TypeDecorator

from .extensions import db

T = TypeVar("T")
CENT = Decimal("0.01")


def to_money(value: Any) -> Decimal:
    """A Decimal in yuan with two places; refuses floats, which cannot hold money."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


class MoneyType(TypeDecorator):
    """Yuan as Decimal in Python, whole fen (BIGINT) in the database.

    Integers keep sums exact on SQLite too and make the conditional relative
    updates of ENGINEERING.md (`balance = balance - :amt WHERE balance >= :amt`) safe.
    """

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return int(to_money(value) * 100)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return from_fen(value)


def fen(value: Any) -> int:
    """Whole fen of a money value, for SQL that does arithmetic on the stored column."""
    return int(to_money(value) * 100)


def from_fen(value: Any) -> Decimal:
    """Yuan with two places from whole fen (a stored Money column, or a sum of them in
    SQL); None and NULL sums are 0.00. The inverse of `fen`."""
    return (Decimal(int(value or 0)) / 100).quantize(CENT)


def stored(column: Any) -> sa.ColumnElement:
    """A Money column (or any decimal stored the same way, like a quantity in hundredths)
    as the whole number the database holds, for SQL arithmetic and sums that must not
    pass the Python type; `from_fen` turns a sum of money back into yuan."""
    return sa.type_coerce(column, sa.BigInteger)


class UTCDateTime(TypeDecorator):
    """An aware datetime, stored in UTC; SQLite's naive values come back as UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: times are stored in UTC and must say so")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def enum_column(enum_cls: type[enum.Enum], name: str, **kw) -> sa.Enum:
    """Enums are stored by value as VARCHAR with a named CHECK constraint."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls) + 4,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
        **kw,
    )


Money = Annotated[Decimal, mapped_column(MoneyType())]
UtcTime = Annotated[datetime, mapped_column(UTCDateTime())]
Day = Annotated[date, mapped_column(sa.Date())]

# --- transactions ------------------------------------------------------------------

# Whether the current unit of work will write. On SQLite a writing transaction takes
# the write lock up front (BEGIN IMMEDIATE); a deferred BEGIN that upgrades later fails
# with "database is locked" under contention (ENGINEERING.md, measured).
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=True)


def _sqlite_connect(dbapi_conn, _record):
    dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn):
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


def configure_engine(engine: Engine) -> None:
    """Attach the per-dialect settings; called once per engine by the app factory."""
    if not is_postgres(engine) and not getattr(engine, "_eldercare_ready", False):
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        engine._eldercare_ready = True  # type: ignore[attr-defined]


def is_retryable(exc: BaseException) -> bool:
    """Serialization failures and deadlocks (PostgreSQL), lock time-outs (SQLite)."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in ("40001", "40P01"):
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(orig)


def retrying(fn: Callable[[], T], attempts: int = 4) -> T:
    """Run `fn` (which must do its own commit) again after a retryable failure."""
    for attempt in range(attempts):
        try:
            return fn()
        except DBAPIError as exc:
            db.session.rollback()
            if not is_retryable(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (2**attempt))
    raise AssertionError("unreachable")


def table_of(model: type) -> sa.Table:
    """A model's table (typed `FromClause` on the declarative base), for Core statements
    and for the constraints a model adds after its class."""
    return cast(sa.Table, model.__table__)  # type: ignore[attr-defined]


def rowcount(result: sa.Result[Any]) -> int:
    """How many rows an UPDATE, DELETE or INSERT that `Session.execute` ran touched: the
    number every conditional update here is checked by (typed `Result`, it is a
    `CursorResult` at run time)."""
    return cast("sa.CursorResult[Any]", result).rowcount


def is_postgres(bind: Engine | sa.Connection | None = None) -> bool:
    """Whether `bind` (the app's engine unless given) is PostgreSQL. The app runs on
    PostgreSQL or SQLite, so False means SQLite: the one question every statement that
    differs between the two asks."""
    return (db.engine if bind is None else bind).dialect.name == "postgresql"


def violated_constraint(exc: IntegrityError, table: sa.Table) -> str | None:
    """The name of the unique index or constraint of `table` that `exc` broke, or None
    (another kind of failure, or another table's).

    PostgreSQL names it (the error's diagnostics). SQLite names the columns instead
    ("UNIQUE constraint failed: stays.person_id"), so the name is that of the one unique
    index or constraint of `table` on exactly those columns: a table whose unique
    indexes differ in their columns, as every one here does, is told apart either way.
    An index on an expression SQLite names itself ("index 'uq_services_year_code_ci'")."""
    diag = getattr(exc.orig, "diag", None)
    if diag is not None and diag.constraint_name:
        return diag.constraint_name if diag.table_name == table.name else None
    found = re.match(r"UNIQUE constraint failed: (.+)", str(exc.orig))
    if found is None:
        return None
    # An index on an expression (lower(code)) is named by SQLite: "index 'uq_…'".
    named = re.fullmatch(r"index '(.+)'", found.group(1).strip())
    if named:
        return named.group(1) if named.group(1) in {i.name for i in table.indexes} else None
    columns = set()
    for qualified in found.group(1).split(","):
        owner, _dot, column = qualified.strip().partition(".")
        if owner != table.name:
            return None
        columns.add(column)
    uniques = [i for i in table.indexes if i.unique] + [
        c for c in table.constraints if isinstance(c, sa.UniqueConstraint)
    ]
    names = [u.name for u in uniques if {c.name for c in u.columns} == columns]
    return str(names[0]) if len(names) == 1 else None


def insert_or_raise(
    row: Any, refused: Exception | Callable[[IntegrityError], Exception | None]
) -> None:
    """Add `row` and flush it under a savepoint, so that a constraint's refusal (a unique
    index: the second of two at once) becomes the domain error the caller expects, and
    the transaction goes on without the row. `refused` is that error, or a function of
    the integrity error that picks it (None: the integrity error itself goes on up)."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError as exc:
        error = refused(exc) if callable(refused) else refused
        if error is None:
            raise
        raise error from None
