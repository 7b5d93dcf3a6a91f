"""The foreign keys into visits on a partitioned visits table (homecare/partitions.py):
PostgreSQL's primary key of a partitioned table must hold the partition key, so the six
tables that point at visits.id keep their rule through statement triggers that check
and lock as a foreign key does and raise the same error under the old constraint's name.
Names come from the catalogue (pg_constraint), never from a request."""

from __future__ import annotations

import sqlalchemy as sa

REFERENCED = "visits"  # the table other tables' foreign keys point at


def inbound_keys(conn) -> list:
    """(name, table, column, on delete) of the foreign keys that point at visits.id."""
    return list(
        conn.execute(
            sa.text(
                "SELECT c.conname, c.conrelid::regclass::text, a.attname, c.confdeltype "
                "FROM pg_constraint c JOIN pg_attribute a "
                "  ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
                "WHERE c.confrelid = to_regclass(:t) AND c.contype = 'f' ORDER BY c.conname"
            ),
            {"t": REFERENCED},
        )
    )


def replace_foreign_keys(conn, keys: list) -> list[str]:
    """The foreign keys into visits, as triggers (see the module docstring of partitions)."""
    on_delete = _referencing_triggers(conn, keys)
    _visits_deleted(conn, on_delete)
    _visit_id_rules(conn)
    return [name for name, *_ in keys]


def _referencing_triggers(conn, keys: list) -> list[str]:
    """Each referencing table's inserts and updates checked against visits; returns what
    a visit's deletion must do to each (cascade, or refuse while referenced)."""
    on_delete = []
    for name, table, column, action in keys:
        conn.execute(
            sa.text(
                f"CREATE OR REPLACE FUNCTION visit_fk_{table}() RETURNS trigger "  # nosec B608
                f"""LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM 1 FROM visits WHERE id IN (SELECT {column} FROM added) FOR KEY SHARE;
                IF EXISTS (SELECT 1 FROM added a WHERE a.{column} IS NOT NULL
                           AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.id = a.{column}))
                THEN
                    RAISE EXCEPTION 'insert or update on table "{table}" violates foreign key '
                        'constraint "{name}"'
                        USING ERRCODE = 'foreign_key_violation', CONSTRAINT = '{name}',
                              TABLE = '{table}';
                END IF;
                RETURN NULL;
            END $$"""
            )
        )
        for event in ("INSERT", "UPDATE"):
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER visit_fk_{table}_{event.lower()} AFTER {event} ON {table} "
                    f"REFERENCING NEW TABLE AS added FOR EACH STATEMENT "
                    f"EXECUTE FUNCTION visit_fk_{table}()"
                )
            )
        if action == "c":  # ON DELETE CASCADE
            on_delete.append(f"DELETE FROM {table} WHERE {column} IN (SELECT id FROM gone);")  # nosec B608
        else:
            on_delete.append(
                f"\n IF EXISTS (SELECT 1 FROM {table} r JOIN gone g ON r.{column} = g.id)"  # nosec B608
                f""" THEN
                    RAISE EXCEPTION 'update or delete on table "visits" violates foreign key '
                        'constraint "{name}" on table "{table}"'
                        USING ERRCODE = 'foreign_key_violation', CONSTRAINT = '{name}',
                              TABLE = '{table}';
                END IF;"""
            )
    return on_delete


def _visits_deleted(conn, on_delete: list[str]) -> None:
    """A visit's deletion cascades or is refused, for all referencing tables at once."""
    conn.execute(
        sa.text(f"""
        CREATE OR REPLACE FUNCTION visits_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {"".join(on_delete)}
            RETURN NULL;
        END $$""")
    )
    conn.execute(
        sa.text(
            "CREATE TRIGGER visits_deleted AFTER DELETE ON visits REFERENCING OLD TABLE AS gone "
            "FOR EACH STATEMENT EXECUTE FUNCTION visits_deleted()"
        )
    )


def _visit_id_rules(conn) -> None:
    """A visit's id never changes and is unique across the years' partitions."""
    conn.execute(
        sa.text("""
        CREATE OR REPLACE FUNCTION visits_keep_id() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.id <> OLD.id THEN
                RAISE EXCEPTION 'a visit''s id never changes'
                    USING ERRCODE = 'foreign_key_violation', TABLE = 'visits';
            END IF;
            RETURN NEW;
        END $$""")
    )
    conn.execute(
        sa.text(
            "CREATE TRIGGER visits_keep_id BEFORE UPDATE OF id ON visits "
            "FOR EACH ROW EXECUTE FUNCTION visits_keep_id()"
        )
    )
    conn.execute(
        sa.text("""
        CREATE OR REPLACE FUNCTION visits_one_id() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM added a
                       WHERE (SELECT count(*) FROM visits v WHERE v.id = a.id) > 1) THEN
                RAISE EXCEPTION 'duplicate key value violates unique constraint "pk_visits"'
                    USING ERRCODE = 'unique_violation', CONSTRAINT = 'pk_visits',
                          TABLE = 'visits';
            END IF;
            RETURN NULL;
        END $$""")
    )
    conn.execute(
        sa.text(
            "CREATE TRIGGER visits_one_id AFTER INSERT ON visits REFERENCING NEW TABLE AS added "
            "FOR EACH STATEMENT EXECUTE FUNCTION visits_one_id()"
        )
    )
