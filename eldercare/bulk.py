"""Bulk loading of plain rows, the one way the demo writes its tables (issue 15: the demo
district at scale 10 in a minute): COPY on PostgreSQL, one prepared executemany on SQLite,
each value bound by its column's type; SQLite's row triggers set aside for a load and
their work done at once after it; a big page cache while the load runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from .database import is_postgres, table_of
from .extensions import db


def insert_rows(model, rows: list[dict]) -> None:
    """Bulk insert of plain rows into a model's table: the one way every demo step writes
    its rows. On PostgreSQL one `COPY … FROM STDIN` (psycopg's copy: no statement to
    prepare, no parameters); on SQLite one prepared INSERT run over the rows by the
    driver (`executemany`). Either way each value goes through its column's type first,
    as SQLAlchemy would bind it (money to fen, times to UTC, ID numbers encrypted, JSON),
    columns a row leaves out get their Python-side defaults, and the database's triggers
    fire as for any insert (the day tallies). Core inserts, so not audited row by row:
    the demo is one audited event (`demo_loaded`).

    SQLAlchemy's own executemany spent more time binding than the database inserting
    (bench/README.md, "Demo load"); this binds each column with one function looked up
    once."""
    if not rows:
        return
    table = model if isinstance(model, sa.Table) else table_of(model)
    # the rows name a model's attributes (as sa.insert(Model) takes them), a table's columns
    by_key = table.c if isinstance(model, sa.Table) else sa.inspect(model).columns
    conn = db.session.connection()
    given = list(dict.fromkeys(k for row in rows for k in row))  # a row may leave one out
    named = [by_key[k] for k in given]
    omitted = [
        c
        for c in table.columns
        if c.name not in {n.name for n in named} and c.default is not None and not c.primary_key
    ]
    columns = named + omitted
    if any(
        c.default is not None and not (c.default.is_scalar or c.default.is_callable)
        for c in columns
    ):
        db.session.execute(sa.insert(table), rows)  # a SQL default: let SQLAlchemy do it
        return
    _write(conn, table, given, named, omitted, rows)


def _write(conn, table: sa.Table, given: list, named: list, omitted: list, rows: list) -> None:
    """The rows' values bound column by column, written in one COPY or one executemany."""
    dialect = conn.dialect
    columns = named + omitted
    uniform = all(len(row) == len(given) for row in rows)
    binders = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    fill = [_default_of(c) for c in omitted]
    missing = {k: _default_of(c) for k, c in zip(given, named, strict=True)}

    def values(row: dict) -> tuple:
        if uniform:
            out = [row[k] for k in given]
        else:
            out = [row[k] if k in row else missing[k]() for k in given]
        out += [f() for f in fill]
        return tuple(v if b is None else b(v) for v, b in zip(out, binders, strict=True))

    # names from the table's metadata, quoted; the values travel as data, never in the text
    quote = dialect.identifier_preparer
    names = ", ".join(quote.quote(c.name) for c in columns)
    into = f"{quote.format_table(table)} ({names})"
    raw: Any = conn.connection.driver_connection  # psycopg's or sqlite3's connection
    if is_postgres():
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY {into} FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(values(row))
    else:
        marks = ", ".join("?" * len(columns))
        cur = raw.cursor()
        try:
            sql = f"INSERT INTO {into} VALUES ({marks})"  # noqa: S608  # nosec B608 # quoted names
            cur.executemany(sql, map(values, rows))
        finally:
            cur.close()


def _default_of(column: sa.Column) -> Callable[[], object]:
    """What an insert writes into `column` when a row does not name it: its Python-side
    default (a value, or a function called per row), else NULL."""
    default: Any = column.default  # a ScalarElementColumnDefault or CallableColumnDefault
    if default is None:
        return lambda: None
    if default.is_callable:
        return lambda: default.arg(None)  # SQLAlchemy's wrapper takes the execution context
    return lambda: default.arg


@contextmanager
def row_triggers_off(tables: tuple[str, ...], then: Callable[[], None]) -> Iterator[None]:
    """A bulk load into `tables` without their row triggers, and `then` to write at once
    what the triggers would have written row by row (the day tallies: one
    INSERT … SELECT for all, homecare.tallies.rebuild).

    SQLite has row triggers only: they are dropped for the load and created again from
    the text SQLite keeps of them (sqlite_master), in the same transaction (DDL is
    transactional there: a failed load leaves them as they were). On PostgreSQL the
    tallies' triggers are per statement, one upsert per COPY: they stay and `then` is not
    needed."""
    if is_postgres():
        yield
        return
    saved = [
        (name, sql)
        for t in tables
        for name, sql in db.session.execute(
            sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
            {"t": t},
        )
    ]
    quote = db.session.get_bind().dialect.identifier_preparer.quote
    for name, _sql in saved:
        db.session.execute(sa.text(f"DROP TRIGGER {quote(name)}"))
    yield
    for _name, sql in saved:
        db.session.execute(sa.text(sql))
    if saved:
        then()


def insert_returning_ids(model, rows: list[dict]) -> list[int]:
    """Bulk insert, and the new ids in row order. RETURNING with a guaranteed order makes
    SQLite insert row by row (24 s for 45,000 visits; most of the people step's 17 s at
    scale 10), and COPY returns nothing, so the ids are read back instead: nothing else
    writes during the demo, and ids grow in insertion order (the count is checked)."""
    if not rows:
        return []
    before = db.session.scalar(sa.select(sa.func.max(model.id))) or 0
    insert_rows(model, rows)
    ids = list(db.session.scalars(sa.select(model.id).where(model.id > before).order_by(model.id)))
    if len(ids) != len(rows):
        raise RuntimeError(f"{model.__tablename__}: expected {len(rows)} new rows")
    return ids


@contextmanager
def big_page_cache(mib: int = 512) -> Iterator[None]:
    """SQLite: a page cache of `mib` MiB for the load instead of 2 MiB, so that the indexes
    of 300,000-row tables are not written out and read back while they grow (re-inserting
    the scale-10 visits: 5.7 s of CPU with 2 MiB, 3.4 s with 512 MiB). The connection's
    own size comes back afterwards (it returns to the pool)."""
    if is_postgres():
        yield
        return
    conn = db.session.connection()
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = {-1024 * mib}")
    try:
        yield
    finally:
        db.session.connection().exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")
