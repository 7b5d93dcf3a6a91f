"""The audit log is append-only and tamper-evident: a hash chain that a command verifies."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.cli import ScriptInfo

from eldercare.audit import verify_chain
from eldercare.cli import cli
from eldercare.models import AuditEntry


def _tamper(db, stmt) -> None:
    """Change the log as someone with the database's owner rights would: on PostgreSQL
    the append-only trigger stops a plain UPDATE or DELETE, so the tamperer switches
    triggers off for the transaction first."""
    if db.session.connection().dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
    db.session.execute(stmt)
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
