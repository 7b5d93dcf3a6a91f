"""The audit log is append-only and tamper-evident: a hash chain that a command verifies."""

from __future__ import annotations

import base64
import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.cli import ScriptInfo

from eldercare.audit import entry_digest, verify_chain
from eldercare.cli import cli
from eldercare.models import AuditEntry


def _tamper(db, stmt, params=None) -> None:
    """Change the log as someone with the database's owner rights would: on PostgreSQL
    the append-only trigger stops a plain UPDATE or DELETE, so the tamperer switches
    triggers off for the transaction first."""
    if db.session.connection().dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
    db.session.execute(stmt, params)
    db.session.commit()


def test_the_chain_holds_over_many_writes_and_breaks_where_a_row_was_changed(app, db, make_person):
    people = [make_person(name=f"链{i}") for i in range(5)]
    checked, broken = verify_chain()
    assert broken is None and checked >= 5
    victim = db.session.scalar(
        sa.select(AuditEntry.id)
        .where(AuditEntry.entity_id == str(people[2].id))
        .order_by(AuditEntry.id)
    )
    _tamper(db, sa.update(AuditEntry).where(AuditEntry.id == victim).values(username="x"))
    assert verify_chain()[1] == victim


def test_a_deleted_row_breaks_the_chain(app, db, make_person):
    for i in range(3):
        make_person(name=f"删{i}")
    middle = db.session.scalars(sa.select(AuditEntry.id).order_by(AuditEntry.id)).all()[1]
    _tamper(db, sa.delete(AuditEntry).where(AuditEntry.id == middle))
    assert verify_chain()[1] is not None


def test_the_verify_command_says_whether_the_chain_is_whole(app, db, make_person):
    make_person()
    runner = CliRunner()
    info = ScriptInfo(create_app=lambda: app)
    result = runner.invoke(cli, ["audit", "verify"], obj=info)
    assert result.exit_code == 0 and "intact" in result.output
    _tamper(db, sa.update(AuditEntry).values(action="tampered"))
    result = runner.invoke(cli, ["audit", "verify"], obj=info)
    assert result.exit_code == 1 and "BROKEN" in result.output


def test_postgresql_refuses_to_change_or_delete_an_entry(app, db, make_person):
    make_person()
    if db.session.connection().dialect.name != "postgresql":
        pytest.skip("SQLite has no such trigger: the chain alone shows tampering there")
    for stmt in (sa.update(AuditEntry).values(action="x"), sa.delete(AuditEntry)):
        try:
            db.session.execute(stmt)
            raised = False
        except sa.exc.DBAPIError as exc:
            raised = "append-only" in str(exc)
        db.session.rollback()
        assert raised, stmt
    assert verify_chain()[1] is None


# --- the head kept outside (issue 13.6) ---------------------------------------------------


def _cli(app, *args):
    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))


def _keep_head(app, tmp_path):
    """`eldercare audit head`, saved where the database's writers cannot reach."""
    result = _cli(app, "audit", "head")
    assert result.exit_code == 0, result.output
    path = tmp_path / "audit-head.json"
    path.write_text(result.output)
    return path, json.loads(result.output)


def _rehash_all(db, **values) -> None:
    """Rewrite every entry and recompute the whole chain, as a database owner would."""
    rows = db.session.execute(sa.select(AuditEntry.__table__).order_by(AuditEntry.id)).mappings()
    prev, new = None, []
    for row in rows.all():
        row = {**row, **values}
        row["prev_hash"], row["hash"] = prev, entry_digest(prev, row)
        prev = row["hash"]
        new.append({"eid": row["id"], **{k: row[k] for k in ("username", "prev_hash", "hash")}})
    table = AuditEntry.__table__
    _tamper(
        db,
        table.update()
        .where(table.c.id == sa.bindparam("eid"))
        .values(
            username=sa.bindparam("username"),
            prev_hash=sa.bindparam("prev_hash"),
            hash=sa.bindparam("hash"),
        ),
        new,
    )


def test_an_untouched_log_reaches_its_kept_head_and_later_entries_do_not_matter(
    app, db, make_person, tmp_path
):
    make_person(name="头甲")
    path, head = _keep_head(app, tmp_path)
    assert head["id"] > 0 and len(head["hash"]) == 64 and len(head["hmac"]) == 64
    make_person(name="头乙")  # the log goes on growing after the head was kept
    result = _cli(app, "audit", "verify", "--head", str(path))
    assert (
        result.exit_code == 0 and f"reaches the kept head (entry {head['id']})" in result.output
    ), result.output


def test_cutting_off_the_newest_entries_fails_against_the_kept_head(app, db, make_person, tmp_path):
    for i in range(3):
        make_person(name=f"截{i}")
    path, head = _keep_head(app, tmp_path)
    _tamper(db, sa.delete(AuditEntry).where(AuditEntry.id > head["id"] - 2))
    assert _cli(app, "audit", "verify").exit_code == 0  # the chain alone cannot tell
    result = _cli(app, "audit", "verify", "--head", str(path))
    assert (
        result.exit_code == 1 and f"entry {head['id']} of the kept head is gone" in result.output
    ), result.output


def test_a_log_rewritten_and_rehashed_whole_fails_against_the_kept_head(
    app, db, make_person, tmp_path
):
    make_person(name="改写")
    path, _head = _keep_head(app, tmp_path)
    _rehash_all(db, username="someone-else")
    assert _cli(app, "audit", "verify").exit_code == 0  # the chain alone cannot tell
    result = _cli(app, "audit", "verify", "--head", str(path))
    assert result.exit_code == 1 and "rewritten" in result.output, result.output


def test_a_head_edited_to_match_a_rewritten_log_or_signed_with_another_key_fails(
    app, db, make_person, tmp_path
):
    """Whoever rewrote the log cannot bring the kept head along: its HMAC is under a key
    that is not in the database."""
    make_person(name="伪造")
    path, head = _keep_head(app, tmp_path)
    _rehash_all(db, username="someone-else")
    forged = dict(
        head, hash=db.session.scalar(sa.select(AuditEntry.hash).where(AuditEntry.id == head["id"]))
    )
    path.write_text(json.dumps(forged))
    result = _cli(app, "audit", "verify", "--head", str(path))
    assert result.exit_code == 1 and "signature does not verify" in result.output
    from eldercare.audit import HeadMismatch, check_head, head_record
    from eldercare.crypto import audit_key, audit_key_from

    other = audit_key_from("another instance's secret key", None)
    assert other != audit_key()
    with pytest.raises(HeadMismatch, match="another audit key"):
        check_head(head_record(other), audit_key())
    path.write_text("not json")
    assert _cli(app, "audit", "verify", "--head", str(path)).exit_code == 1


def test_the_audit_key_is_not_in_the_database_and_can_be_pinned(app, db, make_person):
    from eldercare.crypto import audit_key, audit_key_from, keyring

    keys = keyring()
    assert audit_key() not in (keys.index, *keys.data.values())
    pinned = base64.b64encode(b"k" * 32).decode()
    assert audit_key_from("whatever", pinned) == b"k" * 32
    lines = _cli(app, "crypto", "show-derived").output.splitlines()
    assert f"ELDERCARE_AUDIT_KEY={base64.b64encode(audit_key()).decode()}" in lines


def _postgres(db):
    if db.session.connection().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no roles and no trigger")


def test_the_apps_role_cannot_rewrite_the_log_on_postgresql(app, db, make_person):
    """The app connects as a role with the rights to read and write every table but
    owning none of them (README, Deployment): it can neither change nor delete an entry,
    nor switch the trigger off, nor empty the table."""
    _postgres(db)
    make_person(name="角色")
    db.session.commit()
    role = "ec_app_audit_test"
    url = db.engine.url
    owner = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(sa.text(f"GRANT USAGE ON SCHEMA public TO {role}"))
        conn.execute(
            sa.text(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
            )
        )
        conn.execute(sa.text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    as_app = sa.create_engine(url.set(username=role, password=None))
    try:
        attempts = [
            "UPDATE audit_log SET username = 'x'",
            "DELETE FROM audit_log",
            "SET session_replication_role = replica",
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
            "DROP TRIGGER audit_log_append_only ON audit_log",
            "TRUNCATE audit_log",
        ]
        with as_app.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(AuditEntry)).scalar()
            for stmt in attempts:
                with pytest.raises(sa.exc.DBAPIError) as refused:
                    conn.execute(sa.text(stmt))
                conn.rollback()
                assert refused.value.orig.sqlstate == "42501", (stmt, refused.value)  # no right
    finally:
        as_app.dispose()
        with owner.connect() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {role}"))
            conn.execute(sa.text(f"DROP ROLE {role}"))
        owner.dispose()
    assert verify_chain()[1] is None


def test_a_migration_may_lift_the_rule_in_its_own_transaction_and_says_so(
    app, db, make_person, tmp_path
):
    """The redaction path: a migration disables the trigger inside its transaction,
    rewrites and rehashes, and the trigger is back on at the end; the log says who lifted
    it, and a head kept before names the migration."""
    from eldercare.audit import LIFTED, append_only_lifted

    make_person(name="脱敏")
    path, head = _keep_head(app, tmp_path)
    conn = db.session.connection()
    with append_only_lifted(conn, "migration:core_9999", "test redaction"):
        rows = conn.execute(sa.select(AuditEntry.__table__).order_by(AuditEntry.id)).mappings()
        prev = None
        for row in rows.all():
            row = {**row, "username": "redacted"}
            digest = entry_digest(prev, row)
            conn.execute(
                sa.update(AuditEntry)
                .where(AuditEntry.id == row["id"])
                .values(username="redacted", prev_hash=prev, hash=digest)
            )
            prev = digest
    db.session.commit()
    note = db.session.execute(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).scalar()
    assert (note.action, note.username) == (LIFTED, "migration:core_9999")
    assert note.changes["head_before"]["hash"] == head["hash"]
    assert verify_chain()[1] is None
    result = _cli(app, "audit", "verify", "--head", str(path))
    assert (
        result.exit_code == 1 and "migration:core_9999 lifted the append-only rule" in result.output
    ), result.output
    if conn.dialect.name == "postgresql":  # on again after the migration's transaction
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.session.execute(sa.update(AuditEntry).values(action="x"))
        db.session.rollback()
