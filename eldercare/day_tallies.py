"""Figures on any day kept as running day tallies by the database (issue 15).

Many figures are "how many rows covered day D": 特困 persons supported, beds, residents,
leaves, elders enrolled. A row covers the days from its first (the latest of its starts:
its own start, its bed's creation, its home's opening…) up to, not including, its first
end (the earliest of its ends: its own end, a death, the home's closing). Counted from
the rows that is every row on every request. Kept instead as changes per day — +1 on the
first day, −1 on the end — the figure on day D is the sum of the changes up to D: one
row per key and day on which something began or ended, whatever the district's size.

A `Tally` says which rows count (its `Path`s: a join of tables, the interval each joined
row covers and what it adds to which column) and generates from that:

- the triggers that keep the tally in the writing transaction (`trigger_sql`, run by the
  owning package's migration): a row added counts its changes, a row removed takes them
  back, a row updated takes back the old row's and counts the new one's. Rows are added
  and removed only at the first table of a path (a joined parent has no children yet
  when it is added, and none any more when it is removed: the foreign keys), so only
  that table has insert and delete triggers; every table of a path has an update trigger
  on the columns the path reads. On PostgreSQL the insert trigger is per statement over
  the inserted rows (one upsert per bulk insert); everything else is per row;
- the count of the same changes from the rows (`recount`), which `eldercare figures
  recount` compares with the tally and repairs it from.

The core owns this module and the 特困 tally; each feature declares its own tallies in its
own package and migration. The SQL is built from text, but only from the declarations'
table, column and join names in the code (never from a request), hence the S608/B608
exemptions on those lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

#: before any day, and after every day (an open end)
LOW, HIGH = "0001-01-01", "9999-12-31"


@dataclass(frozen=True)
class Source:
    """A table as a path reads it: the columns it reads (those whose update changes the
    tally)."""

    table: str
    alias: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Path:
    """One way rows add to a tally: `sources[0]` joined to the others (`joins`, one ON
    clause each), counted from the latest of `starts` to before the earliest of `ends`
    (NULL starts and ends are open), adding `adds` {column: SQL expression} under `keys`
    (SQL expressions, in the order of Tally.keys)."""

    sources: tuple[Source, ...]
    joins: tuple[str, ...]
    keys: tuple[str, ...]
    starts: tuple[str, ...]
    ends: tuple[str, ...]
    adds: Mapping[str, str]


@dataclass(frozen=True)
class Tally:
    table: str
    keys: tuple[str, ...]
    columns: tuple[str, ...]
    paths: tuple[Path, ...]
    sqlite_paths: tuple[Path, ...] = field(default=())  # where a path's SQL differs

    def paths_for(self, dialect: str) -> tuple[Path, ...]:
        return self.sqlite_paths if dialect == "sqlite" and self.sqlite_paths else self.paths


def _day(value: str, dialect: str) -> str:
    return f"DATE '{value}'" if dialect == "postgresql" else f"'{value}'"


def _latest(exprs: tuple[str, ...], dialect: str) -> str:
    low = _day(LOW, dialect)
    wrapped = tuple(f"COALESCE({e}, {low})" for e in exprs)
    if len(wrapped) == 1:
        return wrapped[0]
    return ("GREATEST" if dialect == "postgresql" else "max") + f"({', '.join(wrapped)})"


def _earliest(exprs: tuple[str, ...], dialect: str) -> str:
    high = _day(HIGH, dialect)
    wrapped = tuple(f"COALESCE({e}, {high})" for e in exprs)
    if not wrapped:
        return high
    if len(wrapped) == 1:
        return wrapped[0]
    return ("LEAST" if dialect == "postgresql" else "min") + f"({', '.join(wrapped)})"


def _changes(tally: Tally, path: Path, dialect: str, sign: int, replace: dict[str, str]) -> str:
    """The path's changes (+ on the first day, − on the end), multiplied by `sign`; a
    table named in `replace` is read from the given FROM item instead."""
    first = path.sources[0]
    parts = [f"{replace.get(first.table, first.table)} {first.alias}"]
    for src, on in zip(path.sources[1:], path.joins, strict=True):
        parts.append(f"JOIN {replace.get(src.table, src.table)} {src.alias} ON {on}")
    frm = " ".join(parts)
    lo, hi = _latest(path.starts, dialect), _earliest(path.ends, dialect)
    keys = ", ".join(f"{k} AS {name}" for k, name in zip(path.keys, tally.keys, strict=True))

    def cols(s: int) -> str:
        return ", ".join(
            f"{s} * ({path.adds[c]}) AS {c}" if c in path.adds else f"0 AS {c}"
            for c in tally.columns
        )

    high = _day(HIGH, dialect)
    # every name and expression comes from a Tally declared in code, never from a request
    return (
        f"SELECT {keys}, {lo} AS day, {cols(sign)} FROM {frm} WHERE {lo} < {hi}"  # noqa: S608  # nosec B608
        f" UNION ALL SELECT {keys}, {hi} AS day, {cols(-sign)} FROM {frm}"
        f" WHERE {lo} < {hi} AND {hi} < {high}"
    )


def _summed(tally: Tally, changes: list[str], having: bool) -> str:
    keys = ", ".join(tally.keys)
    sums = ", ".join(f"SUM({c}) AS {c}" for c in tally.columns)
    nonzero = " OR ".join(f"SUM({c}) <> 0" for c in tally.columns)
    # WHERE true: SQLite's parser needs it between a SELECT and ON CONFLICT
    return (
        f"SELECT {keys}, day, {sums} FROM ({' UNION ALL '.join(changes)}) AS changes "  # noqa: S608  # nosec B608
        f"WHERE true GROUP BY {keys}, day" + (f" HAVING {nonzero}" if having else "")
    )


def _upsert(tally: Tally, select: str) -> str:
    cols = ", ".join((*tally.keys, "day", *tally.columns))
    sets = ", ".join(f"{c} = {tally.table}.{c} + excluded.{c}" for c in tally.columns)
    return (
        f"INSERT INTO {tally.table} ({cols}) {select} "  # nosec B608
        f"ON CONFLICT ({', '.join((*tally.keys, 'day'))}) DO UPDATE SET {sets}"
    )


def _row(source: Source, which: str) -> str:
    """The NEW or OLD row of a row trigger as a FROM item."""
    cols = ", ".join(f"{which}.{c} AS {c}" for c in source.columns)
    return f"(SELECT {cols})"


def _sources(tally: Tally, dialect: str) -> dict[str, tuple[Source, list[Path], bool]]:
    """Per table: its source, the paths that read it, and whether it is a path's first."""
    out: dict[str, tuple[Source, list[Path], bool]] = {}
    for path in tally.paths_for(dialect):
        for i, src in enumerate(path.sources):
            prev = out.get(src.table)
            cols = tuple(dict.fromkeys((*(prev[0].columns if prev else ()), *src.columns)))
            merged = Source(src.table, src.alias, cols)
            out[src.table] = (
                merged,
                [*(prev[1] if prev else []), path],
                (prev[2] if prev else False) or i == 0,
            )
    return out


def trigger_sql(tally: Tally, dialect: str) -> list[str]:
    """The statements that create the tally's triggers (and functions, on PostgreSQL)."""
    out = []
    for table, (src, paths, first) in _sources(tally, dialect).items():

        def changes(
            which: str, sign: int, only_first: bool, src=src, paths=paths, table=table
        ) -> list[str]:
            return [
                _changes(tally, p, dialect, sign, {table: which})
                for p in paths
                if not only_first or p.sources[0].table == table
            ]

        new, old = _row(src, "NEW"), _row(src, "OLD")
        bodies = {  # what each trigger adds to the tally: updated rows, then a first's
            "upd": _upsert(
                tally, _summed(tally, changes(new, 1, False) + changes(old, -1, False), True)
            )
        }
        if first:
            added = "added" if dialect == "postgresql" else new
            bodies["ins"] = _upsert(tally, _summed(tally, changes(added, 1, True), True))
            bodies["del"] = _upsert(tally, _summed(tally, changes(old, -1, True), True))
        write = _pg_triggers if dialect == "postgresql" else _sqlite_triggers
        out += write(f"{tally.table}_{table}", table, src.columns, bodies)
    return out


def _pg_triggers(name: str, table: str, columns: tuple[str, ...], bodies: dict) -> list[str]:
    """A function and a trigger per change: updates of the columns read, row by row;
    inserts as one statement over its new rows (a bulk insert adds once); deletes."""
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
    when = {
        "upd": f"AFTER UPDATE OF {', '.join(columns)} ON {table} FOR EACH ROW WHEN ({changed})",
        "ins": f"AFTER INSERT ON {table} REFERENCING NEW TABLE AS added FOR EACH STATEMENT",
        "del": f"AFTER DELETE ON {table} FOR EACH ROW",
    }
    out = []
    for suffix, body in bodies.items():
        out.append(
            f"CREATE FUNCTION {name}_{suffix}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {body}; RETURN NULL; END $$"
        )
        out.append(
            f"CREATE TRIGGER {name}_{suffix} {when[suffix]} EXECUTE FUNCTION {name}_{suffix}()"
        )
    return out


def _sqlite_triggers(name: str, table: str, columns: tuple[str, ...], bodies: dict) -> list[str]:
    """A trigger per change, row by row (SQLite has no statement triggers)."""
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
    when = {
        "upd": f"AFTER UPDATE OF {', '.join(columns)} ON {table} FOR EACH ROW WHEN {changed}",
        "ins": f"AFTER INSERT ON {table} FOR EACH ROW",
        "del": f"AFTER DELETE ON {table} FOR EACH ROW",
    }
    return [
        f"CREATE TRIGGER {name}_{suffix} {when[suffix]} BEGIN {body}; END"
        for suffix, body in bodies.items()
    ]


def drop_sql(tally: Tally, dialect: str) -> list[str]:
    out = []
    for table, (_src, _paths, first) in _sources(tally, dialect).items():
        name = f"{tally.table}_{table}"
        for suffix in ("upd", "ins", "del") if first else ("upd",):
            if dialect == "postgresql":
                out.append(f"DROP TRIGGER IF EXISTS {name}_{suffix} ON {table}")
                out.append(f"DROP FUNCTION IF EXISTS {name}_{suffix}()")
            else:
                out.append(f"DROP TRIGGER IF EXISTS {name}_{suffix}")
    return out


def counted_sql(tally: Tally, dialect: str) -> str:
    """The changes counted from the rows, per key and day."""
    return _summed(
        tally, [_changes(tally, p, dialect, 1, {}) for p in tally.paths_for(dialect)], True
    )


def backfill_sql(tally: Tally, dialect: str) -> str:
    cols = ", ".join((*tally.keys, "day", *tally.columns))
    return f"INSERT INTO {tally.table} ({cols}) {counted_sql(tally, dialect)}"


# --- reading and recounting --------------------------------------------------------------


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def recount(session, tally: Tally, repair: bool = False) -> int:
    """Count the changes from the rows and compare with the tally: how many (key, day)
    rows differ. With `repair` the differing rows are set to the count (the caller
    commits)."""
    dialect = session.get_bind().dialect.name
    n = len(tally.keys)

    def keyed(rows) -> dict[tuple, tuple]:
        return {(*r[:n], _as_date(r[n])): tuple(int(v) for v in r[n + 1 :]) for r in rows}

    counted = keyed(session.execute(sa.text(counted_sql(tally, dialect))))
    cols = ", ".join((*tally.keys, "day", *tally.columns))
    kept_sql = f"SELECT {cols} FROM {tally.table}"  # noqa: S608  # nosec B608
    kept = keyed(session.execute(sa.text(kept_sql)))
    zero = (0,) * len(tally.columns)
    bad = {k for k in counted.keys() | kept.keys() if counted.get(k, zero) != kept.get(k, zero)}
    if repair and bad:
        table = sa.table(tally.table, *(sa.column(c) for c in (*tally.keys, "day")))
        for key in bad:
            where = [table.c[c] == v for c, v in zip((*tally.keys, "day"), key, strict=True)]
            session.execute(sa.delete(table).where(*where))
        values = [
            dict(zip((*tally.keys, "day", *tally.columns), (*k, *counted[k]), strict=True))
            for k in bad
            if k in counted
        ]
        if values:
            full = sa.table(
                tally.table, *(sa.column(c) for c in (*tally.keys, "day", *tally.columns))
            )
            session.execute(sa.insert(full), values)
        session.flush()
    return len(bad)


def sums_on(
    session, model: Any, day: date, where: Callable[[Any], list] | None = None
) -> dict[tuple, dict[str, int]]:
    """{key values: {column: figure on `day`}} from a tally's mapped class `model` (its
    key columns and value columns as declared by the class's `KEYS` and `COLUMNS`)."""
    keys = [getattr(model, k) for k in model.KEYS]
    sums = [sa.func.coalesce(sa.func.sum(getattr(model, c)), 0) for c in model.COLUMNS]
    stmt = sa.select(*keys, *sums).where(model.day <= day).group_by(*keys)
    if where is not None:
        stmt = stmt.where(*where(model))
    out = {}
    for row in session.execute(stmt):
        out[tuple(row[: len(keys)])] = dict(
            zip(model.COLUMNS, map(int, row[len(keys) :]), strict=True)
        )
    return out
