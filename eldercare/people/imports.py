"""Roster import (花名册导入): .xlsx or .csv as townships send them, all or nothing.

A roster is read and checked by eldercare.people.roster (writes nothing; every problem
in the report), then stored here in the current transaction. A page upload runs as a
job (eldercare.people.import_jobs); the API checks and stores within its request.

Storing loads the existing people again inside the writing transaction (someone may
have changed the registry since the check), creates or updates each person, and
records 特困 support through :func:`services.start_wubao`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from .. import audit, crypto, faults
from ..database import table_of
from ..errors import DomainError
from ..extensions import db
from ..models import CareLevel, Category, Person, PersonCategory, PersonStatus, Region, Sex
from ..timeutil import local_today
from . import services
from .roster import CheckedRoster, ImportReport, RowData, check_roster
from .roster_columns import Progress
from .roster_registry import CHUNK

# --------------------------------------------------------------------------- storing


def _update(person: Person, r: RowData) -> None:
    """What the roster says about a registered person; empty cells change nothing."""
    person.name = r.name
    if r.township_code:
        person.township_code = r.township_code
        if person.village_code and not r.village_code:
            village = db.session.get(Region, person.village_code)
            if village is not None and village.parent_code != r.township_code:
                person.village_code = None
    if r.village_code:
        person.village_code = r.village_code
    if r.care_level:
        person.care_level = CareLevel(r.care_level)
    if r.phone:
        person.phone = r.phone
    if r.address:
        person.address = r.address
    if r.home_lat is not None:
        person.home_lat, person.home_lng = r.home_lat, r.home_lng


@contextmanager
def _one_flush() -> Iterator[None]:
    """Services flush after each change (so that a constraint speaks at once); over
    thousands of rows that is thousands of flushes, each scanning the whole session —
    quadratic (13 s of 17 for 11,000 rows). Inside this block the session's flush waits,
    and happens once at the end: the rules are the services' own, the constraints still
    hold at that flush, and the import is all or nothing anyway."""
    session = db.session()
    session.flush = lambda objects=None: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        del session.flush
    session.flush()


# The audit listener's own row builder and value formatting, for the rows written in bulk
# (CONTRIBUTING: Core inserts are audited beside them), so the entries look the same.
_plain = audit._plain
_entry = audit._row


def _insert_people(values: list[dict], returning: list):
    """INSERT … RETURNING for a batch of people. On PostgreSQL the batch goes as one
    array per column (INSERT … SELECT FROM unnest(…)): a short statement, where a
    multi-row VALUES list of 28,000 placeholders costs more to build and parse than
    the insert itself (4.3 s of 10 for 11,000 rows)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return db.session.execute(sa.insert(table_of(Person)).returning(*returning), values)
    from ..database import utcnow

    now = utcnow()
    table = table_of(Person)
    names = [*values[0], "created_at", "updated_at"]
    sql_types = {
        "birth_date": "date",
        "created_at": "timestamptz",
        "updated_at": "timestamptz",
        "home_lat": "double precision",
        "home_lng": "double precision",
    }
    params = {
        n: [v.value if isinstance(v, enum.Enum) else v for v in (row[n] for row in values)]
        for n in values[0]
    }
    for n in params:  # bound as plain arrays, past the column types: encrypt here
        if isinstance(table.c[n].type, crypto.EncryptedString):
            params[n] = [table.c[n].type.process_bind_param(v, None) for v in params[n]]
    params["created_at"] = params["updated_at"] = [now] * len(values)
    arrays = ", ".join(f"CAST(:{n} AS {sql_types.get(n, 'text')}[])" for n in names)
    # The table's and columns' names are the model's own; every value is bound. (Not an
    # f-string: bandit would warn once for each of its parts that its nosec is unused.)
    sql = "INSERT INTO {} ({}) SELECT * FROM unnest({}) RETURNING {}".format(  # noqa: S608  # nosec B608
        table.name, ", ".join(names), arrays, ", ".join(c.name for c in returning)
    )
    stmt = sa.text(sql).columns(*[sa.column(c.name, c.type) for c in returning])
    return db.session.execute(stmt, params)


def _insert_new(rows: list[RowData]) -> dict[str, int]:
    """New people in bulk (Core INSERT … RETURNING, in batches), each with its audit
    entry as the ORM listener would have written it: {id number: person id}."""
    from ..models import AuditEntry

    if not rows:
        return {}
    person_cols = list(table_of(Person).c)
    values = [_new_person(r) for r in rows]
    ids: dict[str, int] = {}
    entries: list[dict] = []
    for start in range(0, len(values), 2000):
        # Rows come back in any order; the unique ID number tells them apart.
        result = _insert_people(values[start : start + 2000], person_cols)
        for row in result:
            snapshot = {
                c.key: audit.shown(c, row._mapping[c.name])
                for c in person_cols
                if c.key not in audit.SECRET_FIELDS
            }
            ids[row.id_number] = row.id
            entries.append(_entry("create", "people", str(row.id), snapshot))
    entries += _insert_disabled(rows, ids)
    # Through the audit log's hash chain where the core keeps one (each entry's hash
    # covers the one before), so bulk entries are chained like the listener's.
    append = getattr(audit, "_insert_chained", None)
    if append is not None:
        append(db.session(), entries)
    else:
        db.session.execute(sa.insert(table_of(AuditEntry)), entries)
    return ids


def _new_person(r: RowData) -> dict:
    """A new person's row as a Core insert writes it."""
    return {
        "name": r.name,
        "id_number": r.number,
        "birth_date": r.birth_date,
        "sex": Sex(r.sex),
        "phone": r.phone,
        "address": r.address,
        "township_code": r.township_code,
        "village_code": r.village_code,
        "home_lat": r.home_lat,
        "home_lng": r.home_lng,
        "care_level": CareLevel(r.care_level) if r.care_level else None,
        "status": PersonStatus.ACTIVE,
        "emergency_contact": "",
        "health_notes": "",
        # a Core insert: the blind indexes the model's validator would have set
        "id_number_hash": crypto.id_number_hash(r.number),
        "id_tail_hash": crypto.id_tail_hash(r.number),
    }


def _insert_disabled(rows: list[RowData], ids: dict[str, int]) -> list[dict]:
    """The disabled category of the new people the roster says are, in bulk; their
    audit entries."""
    disabled = [
        {"person_id": ids[r.number], "category": Category.DISABLED}
        for r in rows
        if r.category == "disabled"
    ]
    if not disabled:
        return []
    cat_cols = list(PersonCategory.__table__.c)
    result = db.session.execute(sa.insert(table_of(PersonCategory)).returning(*cat_cols), disabled)
    return [
        _entry(
            "create",
            "person_categories",
            str(row.id),
            {c.key: _plain(row._mapping[c]) for c in cat_cols},
        )
        for row in result
    ]


def save_roster(checked: CheckedRoster, *, progress: Progress | None = None) -> ImportReport:
    """Store a checked roster in the current transaction (flushes, never commits).

    The registry is read again here, inside the writing transaction, so a person
    registered since the check is updated rather than duplicated. New people are
    inserted in bulk; changes to registered people and every 特困 support go through
    the ORM and :func:`services.start_wubao`. A rule broken at this point (a death
    recorded meanwhile …) becomes an error in the report: the caller must then roll
    back, as after any error."""
    report = checked.report
    rows = checked.rows
    existing = _people(Person.id_number_in, [r.number for r in rows])
    fresh = [r for r in rows if r.number not in existing]
    created, updated = len(fresh), len(rows) - len(fresh)
    new_ids = _insert_new(fresh)
    faults.pause("import-saving")  # tests only: the new people written, not yet committed
    if progress:
        progress("saving", len(fresh), len(rows))
    # New people who get 特困 support are loaded (in chunks) for start_wubao.
    wanted = [new_ids[r.number] for r in fresh if r.category and r.support]
    existing |= _people(Person.id.in_, wanted)
    with db.session.no_autoflush, _one_flush():
        for r in rows:
            person = existing.get(r.number)
            if person is None:
                continue  # new, inserted above, no support to record
            try:
                _apply(person, r, new=r.number in new_ids)
            except DomainError as exc:
                report.error(r.row, None, exc.message, r.seq)
    report.created, report.updated = created, updated
    if not report.errors:
        audit.record(
            "import",
            "people",
            None,
            {
                "rows": report.rows,
                "created": created,
                "updated": updated,
                "warnings": len(report.warnings),
                "file_type": report.file_type,
            },
        )
    return report


def _people(condition, keys: list) -> dict[str, Person]:
    """The people `condition(chunk)` selects, CHUNK keys at a time, by ID number."""
    found: dict[str, Person] = {}
    for start in range(0, len(keys), CHUNK):
        for p in db.session.scalars(
            sa.select(Person).where(condition(keys[start : start + CHUNK]))
        ):
            found[p.id_number] = p
    return found


def _apply(person: Person, r: RowData, *, new: bool) -> None:
    """A row on its person: a registered person updated (and made disabled when the
    roster says so), and the 特困 support started when it is not the current one."""
    if not new:
        _update(person, r)
        if r.category == "disabled" and Category.DISABLED not in person.category_set:
            person.categories.append(PersonCategory(category=Category.DISABLED))
    if r.category and r.support:
        current = person.current_support
        if current is None or (current.category.value, current.support.value) != (
            r.category,
            r.support,
        ):
            services.start_wubao(person, r.category, r.support, r.since or local_today())


def import_roster(
    content: bytes, filename: str = "", *, dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Check a roster and, unless it is a dry run or has errors, store it in the current
    transaction. The caller commits when the report has no errors and it is no dry run,
    and rolls back otherwise."""
    checked = check_roster(content, filename, progress=progress)
    if checked.report.errors or dry_run:
        return checked.report
    return save_roster(checked, progress=progress)


def import_in_request(content: bytes, filename: str = "", *, dry_run: bool = False) -> ImportReport:
    """:func:`import_roster` for a request that does nothing else: the request's
    transaction is ended first and the check (seconds for a large file, reads only)
    runs without SQLite's write lock, so other writers are not held up; the save then
    takes the lock in a fresh transaction. The caller commits or rolls back as after
    import_roster."""
    from ..database import write_intent

    db.session.commit()
    token = write_intent.set(False)
    try:
        checked = check_roster(content, filename)
    finally:
        db.session.rollback()
        write_intent.reset(token)
    if checked.report.errors or dry_run:
        return checked.report
    return save_roster(checked)
