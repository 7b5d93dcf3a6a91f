"""Visits and ledger entries partitioned by year on PostgreSQL: `eldercare homecare
partition-by-year` (issue 15, "a province").

A province is 183 county-level units and about 20 million visits a year, each with a
ledger debit: after three years, 60 million rows in each table. Partitioned by the year
of the row's own time (visits by `check_in_at`, entries by `at`, the local year of
Asia/Shanghai) a year's figures, its claims and its patterns read one year's partition
and its indexes; an old year is detached and archived whole (`ALTER TABLE … DETACH
PARTITION`) instead of deleted row by row; VACUUM and index upkeep stay in the current
year.

**Why a command and not a migration.** The default schema stays as it is: SQLite has no
partitions, and on PostgreSQL a partitioned table's primary key and unique constraints
must contain the partition key, and a foreign key can only point at such a key: six
tables point at `visits.id` alone (ledger entries, visit services, scans, call-back
samples, recoveries, claimed visits). A migration would have to change the models of
every one of them, on both databases, for a district that does not need it (a district
has 300,000 visits a year). So the conversion is opt-in, in place, one transaction,
PostgreSQL only, and idempotent (run again, it only adds the years that are missing):

    eldercare homecare partition-by-year [--ahead 1]

**What changes, and how every rule is still held by the database.**

- `visits`: PRIMARY KEY (id, check_in_at). The six foreign keys into it become statement
  triggers on the referencing tables (`visit_fk_<table>`): the inserted or updated rows'
  visits are locked FOR KEY SHARE (as a foreign key does) and a missing one raises
  foreign_key_violation under the old constraint's name; deleting a visit deletes its
  services (the old ON DELETE CASCADE) and is refused while anything else points at it.
  A visit's id never changes (a row trigger refuses it), and a second visit with the same
  id in another year is refused after the insert (ids come from one sequence, so only an
  explicit id could try).
- `ledger_entries`: PRIMARY KEY (id, at). UNIQUE (enrolment_id, visit_id, kind) and the
  one-allocation, one-transfer-out and one-transfer-in indexes cannot include `at`
  without meaning something else (a second debit of the same visit at another time would
  pass), so they are kept exactly by a statement trigger (`ledger_unique`): it locks the
  enrolments of the inserted entries (FOR NO KEY UPDATE: every ledger write updates its
  enrolment's balance in the same transaction anyway, so no writer waits more than
  before) and then counts each key over all years, raising unique_violation under the
  old index's name, which `database.violated_constraint` reads as before. The indexes
  stay, under their names, without UNIQUE, for the lookups and the count.
- The day tallies (homecare_0005) are statement triggers with transition tables: allowed
  on a partitioned table's parent (PostgreSQL refuses transition tables only on row
  triggers of partitions), so they move to the new parent unchanged, as do the CHECKs,
  the defaults, the other foreign keys and the indexes (each partition gets its own).
- A DEFAULT partition takes a row of a year that has no partition yet, so a write never
  fails for want of one; run the command before a new year (`--ahead`) so that the year
  gets its own (PostgreSQL refuses to add a year whose rows sit in the default).

The tests run on the converted schema with ELDERCARE_TEST_PARTITIONED=1 (tests/conftest.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from eldercare.database import is_postgres
from eldercare.extensions import db
from eldercare.timeutil import local_today

from . import partition_keys

# table -> partition key
TABLES = {"visits": "check_in_at", "ledger_entries": "at"}
LOCAL = "Asia/Shanghai"  # the local year's bounds; UTC+8 all year (no summer time)


@dataclass
class Done:
    converted: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    foreign_keys: list[str] = field(default_factory=list)


def _rows(conn, sql: str, **params) -> list:
    return list(conn.execute(sa.text(sql), params))


def is_partitioned(conn, table: str) -> bool:
    return bool(
        conn.execute(
            sa.text("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
        ).scalar()
    )


def _bound(year: int) -> str:
    return f"'{year}-01-01 00:00:00+08'"


def _years(conn, table: str, key: str, ahead: int) -> range:
    low, high = conn.execute(
        sa.text(
            f"SELECT extract(year FROM min({key}) AT TIME ZONE '{LOCAL}')::int, "  # nosec B608
            f"extract(year FROM max({key}) AT TIME ZONE '{LOCAL}')::int FROM {table}"
        )
    ).one()
    this = local_today().year
    return range(min(low or this, this), max(high or this, this) + ahead + 1)


def _add_years(conn, table: str, key: str, years: range) -> list[str]:
    have = {
        r[0]
        for r in _rows(
            conn,
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)",
            t=table,
        )
    }
    added = []
    other = f"{table}_other"
    for year in years:
        name = f"{table}_y{year}"
        if name in have:
            continue
        bounds = f"FOR VALUES FROM ({_bound(year)}) TO ({_bound(year + 1)})"
        if other in have:
            # the default may hold rows of that year already: out, add the year, move
            # them straight into its partition (no statement trigger of the parent
            # fires: the tallies have counted them), and back in
            conn.execute(sa.text(f"ALTER TABLE {table} DETACH PARTITION {other}"))
            conn.execute(sa.text(f"CREATE TABLE {name} PARTITION OF {table} {bounds}"))
            conn.execute(
                sa.text(
                    f"WITH moved AS (DELETE FROM {other} WHERE {key} >= {_bound(year)} "  # nosec B608
                    f"AND {key} < {_bound(year + 1)} RETURNING *) "
                    f"INSERT INTO {name} SELECT * FROM moved"
                )
            )
            conn.execute(sa.text(f"ALTER TABLE {table} ATTACH PARTITION {other} DEFAULT"))
        else:
            conn.execute(sa.text(f"CREATE TABLE {name} PARTITION OF {table} {bounds}"))
        added.append(name)
    if other not in have:
        conn.execute(sa.text(f"CREATE TABLE {table}_other PARTITION OF {table} DEFAULT"))
        added.append(f"{table}_other")
    return added


def _indexes(conn, table: str) -> list:
    """(name, definition, unique, primary, constraint?, columns, predicate) of each index."""
    return _rows(
        conn,
        "SELECT i.relname, pg_get_indexdef(i.oid), x.indisunique, x.indisprimary, "
        "       con.conname IS NOT NULL, "
        "       ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(n, o) "
        "             JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n "
        "             ORDER BY k.o), "
        "       pg_get_expr(x.indpred, x.indrelid) "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid "
        "     AND con.conrelid = x.indrelid "
        "WHERE x.indrelid = to_regclass(:t) ORDER BY i.relname",
        t=table,
    )


def _convert(conn, table: str, key: str, ahead: int) -> list[str]:
    """Rebuild `table` as partitioned by year of `key`, in the caller's transaction."""
    indexes = _indexes(conn, table)
    checks_and_fks = _rows(
        conn,
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = to_regclass(:t) AND contype = 'f' ORDER BY conname",
        t=table,
    )
    triggers = _rows(
        conn,
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
        "WHERE tgrelid = to_regclass(:t) AND NOT tgisinternal ORDER BY tgname",
        t=table,
    )
    sequence = conn.execute(
        sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}
    ).scalar()
    years = _years(conn, table, key, ahead)
    new = f"{table}__partitioned"
    conn.execute(
        sa.text(
            f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            f"INCLUDING COMMENTS INCLUDING STORAGE) PARTITION BY RANGE ({key})"
        )
    )
    added = _add_years(conn, new, key, years)
    conn.execute(sa.text(f"INSERT INTO {new} SELECT * FROM {table}"))  # nosec B608
    if sequence:
        conn.execute(sa.text(f"ALTER SEQUENCE {sequence} OWNED BY {new}.id"))
    conn.execute(sa.text(f"DROP TABLE {table}"))
    conn.execute(sa.text(f"ALTER TABLE {new} RENAME TO {table}"))
    for part in added:  # visits__partitioned_y2026 -> visits_y2026
        conn.execute(sa.text(f"ALTER TABLE {part} RENAME TO {part.replace(new, table)}"))
    uniques = []
    for name, definition, unique, primary, _constraint, columns, predicate in indexes:
        if primary:
            conn.execute(
                sa.text(f"ALTER TABLE {table} ADD CONSTRAINT {name} PRIMARY KEY (id, {key})")
            )
        elif unique and key not in columns:
            # kept by the ledger_unique trigger, under this name; the index stays for it
            uniques.append((name, list(columns), predicate))
            conn.execute(sa.text(definition.replace("CREATE UNIQUE INDEX", "CREATE INDEX", 1)))
        else:
            conn.execute(sa.text(definition))
    for name, definition in checks_and_fks:
        conn.execute(sa.text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))
    for (definition,) in triggers:
        conn.execute(sa.text(definition))
    if uniques:
        _unique_trigger(conn, table, uniques)
    return [p.replace(new, table) for p in added]


def _unique_trigger(conn, table: str, uniques: list) -> None:
    """UNIQUE over every partition, for keys that begin with enrolment_id (the ledger's):
    the enrolments are locked, then each key of the inserted rows is counted."""
    checks = []
    for name, columns, predicate in uniques:
        if columns[0] != "enrolment_id":
            raise click.ClickException(f"{table}.{name}: no lock row for this unique key")
        present = " AND ".join(f"a.{c} IS NOT NULL" for c in columns)
        same = " AND ".join(f"t.{c} = a.{c}" for c in columns)
        # unqualified, the predicate's columns are the innermost table's: (t) inside
        # the count, (a) outside it
        where = f" AND ({predicate})" if predicate else ""
        checks.append(
            f"\n    IF EXISTS (SELECT 1 FROM added a WHERE {present}{where}"  # nosec B608
            f"""
                       AND (SELECT count(*) FROM {table} t WHERE {same}{where}) > 1) THEN
                RAISE EXCEPTION 'duplicate key value violates unique constraint "{name}"'
                    USING ERRCODE = 'unique_violation', CONSTRAINT = '{name}',
                          TABLE = '{table}';
            END IF;"""
        )
    conn.execute(
        sa.text(
            f"CREATE OR REPLACE FUNCTION {table}_unique() RETURNS trigger "  # nosec B608
            f"""LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM 1 FROM enrolments WHERE id IN (SELECT enrolment_id FROM added)
                ORDER BY id FOR NO KEY UPDATE;
            {"".join(checks)}
            RETURN NULL;
        END $$"""
        )
    )
    for event in ("INSERT", "UPDATE"):
        conn.execute(
            sa.text(
                f"CREATE TRIGGER {table}_unique_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING NEW TABLE AS added FOR EACH STATEMENT "
                f"EXECUTE FUNCTION {table}_unique()"
            )
        )


def partition_by_year(conn, ahead: int = 1) -> Done:
    """Convert visits and ledger_entries (or add the missing years), in `conn`'s
    transaction. PostgreSQL only."""
    done = Done()
    for table, key in TABLES.items():
        if is_partitioned(conn, table):
            done.added += _add_years(conn, table, key, _years(conn, table, key, ahead))
            continue
        keys = partition_keys.inbound_keys(conn) if table == partition_keys.REFERENCED else []
        if keys:
            # dropped before the table they point at; their triggers need the new one
            for name, ref, *_ in keys:
                conn.execute(sa.text(f"ALTER TABLE {ref} DROP CONSTRAINT {name}"))
        done.added += _convert(conn, table, key, ahead)
        done.converted.append(table)
        if keys:
            done.foreign_keys = partition_keys.replace_foreign_keys(conn, keys)
    for table in done.converted:
        conn.execute(sa.text(f"ANALYZE {table}"))
    return done


cli_group = AppGroup("homecare", help="Home care: commands for the database's keeper.")


@cli_group.command("partition-by-year")
@click.option(
    "--ahead",
    default=1,
    type=click.IntRange(0, 10),
    show_default=True,
    help="years after this one to make partitions for",
)
def partition_by_year_command(ahead: int) -> None:
    """Partition visits and ledger entries by year (PostgreSQL; see homecare/partitions.py).
    Run again before a new year: it only adds the years that are missing."""
    from eldercare import audit

    if not is_postgres(db.engine):
        raise click.ClickException("PostgreSQL only: SQLite has no partitions")
    with db.engine.begin() as conn:
        done = partition_by_year(conn, ahead)
    for table in done.converted:
        click.echo(f"{table}: partitioned by year")
    if done.foreign_keys:
        click.echo("foreign keys into visits now triggers: " + ", ".join(done.foreign_keys))
    click.echo("partitions added: " + (", ".join(done.added) or "none"))
    audit.record(
        "partitioned_by_year", "homecare", None, {"converted": done.converted, "added": done.added}
    )
    db.session.commit()
