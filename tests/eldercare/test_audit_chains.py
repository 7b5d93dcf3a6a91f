"""Writers do not queue behind one lock (issue 15): on PostgreSQL two transactions that
write at the same time append to two hash chains, and the log stays tamper-evident
(every chain verifies, and the signed head names the newest entry of each)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from eldercare import audit, audit_chain
from eldercare.crypto import audit_key
from eldercare.models import AuditEntry, Person

WAIT = 5.0  # seconds a write may take on this loaded machine before it counts as waiting


def _postgres(db):
    if db.session.connection().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has one writer at a time (BEGIN IMMEDIATE)")


def _write_in_thread(app, db, person_id: int, phone: str) -> tuple[threading.Thread, dict]:
    """Change one elder's phone and commit, in a thread of its own (its own connection)."""
    done: dict = {}

    def work():
        with app.app_context(), Session(db.engine) as second:
            second.get(Person, person_id).phone = phone
            second.commit()
            done["ok"] = True

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, done


def _hold_after_audit_write(db, person_id: int) -> tuple[Session, int]:
    """A transaction that changed an elder and wrote its audit entry, left open."""
    first = Session(db.engine)
    first.get(Person, person_id).phone = "13800000001"
    chain = audit.write_pending(first)
    assert chain is not None
    return first, chain


def test_two_writes_on_different_elders_do_not_wait_for_each_other(app, db, make_person):
    _postgres(db)
    a, b = make_person(name="链甲"), make_person(name="链乙")
    db.session.commit()
    first, chain = _hold_after_audit_write(db, a.id)
    try:
        thread, done = _write_in_thread(app, db, b.id, "13800000002")
        thread.join(WAIT)
        assert done.get("ok"), "the second write waited for the first one's transaction"
        first.commit()
    finally:
        first.close()
    chains = db.session.execute(
        sa.select(AuditEntry.entity_id, AuditEntry.chain).where(
            AuditEntry.action == "update", AuditEntry.entity == "people"
        )
    ).all()
    assert {c for _e, c in chains} == {chain, chain + 1}  # the next free chain
    assert audit.verify_chain() == (
        db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)),
        None,
    )
    head = audit.head_record(audit_key())
    assert {str(chain), str(chain + 1)} <= set(head["chains"])
    assert audit.check_head(head, audit_key()) == head["id"]


def test_with_one_chain_the_second_write_waits_which_is_what_the_test_above_sees(
    app, db, make_person, monkeypatch
):
    """The control: one chain is the old global lock, and the same two writes queue."""
    _postgres(db)
    monkeypatch.setattr(audit_chain, "CHAINS", 1)
    a, b = make_person(name="锁甲"), make_person(name="锁乙")
    db.session.commit()
    first, _chain = _hold_after_audit_write(db, a.id)
    try:
        thread, done = _write_in_thread(app, db, b.id, "13800000002")
        thread.join(2.0)
        assert not done, "with one chain the second write should have waited"
        first.commit()
        thread.join(WAIT * 4)
        assert done.get("ok")
    finally:
        first.close()
    assert audit.verify_chain()[1] is None


def test_a_chain_cut_at_its_end_fails_against_the_head_that_named_it(app, db, make_person):
    """Entries of another chain than the newest one: the head covers them too."""
    _postgres(db)
    a, b = make_person(name="头丙"), make_person(name="头丁")
    db.session.commit()
    first, _chain = _hold_after_audit_write(db, a.id)
    try:
        thread, done = _write_in_thread(app, db, b.id, "13800000003")
        thread.join(WAIT)
        first.commit()
    finally:
        first.close()
    assert done.get("ok")
    head = audit.head_record(audit_key())
    assert len(head["chains"]) >= 2
    # the newest entry of the chain that is not the newest overall
    other = min(int(h["id"]) for h in head["chains"].values())
    db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
    db.session.execute(sa.delete(AuditEntry).where(AuditEntry.id == other))
    db.session.commit()
    assert audit.verify_chain()[1] is None  # the chains alone cannot tell
    with pytest.raises(audit.HeadMismatch, match=f"entry {other} of the kept head is gone"):
        audit.check_head(head, audit_key())


def test_a_transaction_rolled_back_to_a_savepoint_drops_only_its_entries(app, db, make_person):
    a = make_person(name="存档")
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    db.session.get(Person, a.id).phone = "13800000004"
    db.session.flush()
    with pytest.raises(RuntimeError), db.session.begin_nested():
        db.session.get(Person, a.id).address = "作废"
        db.session.flush()
        raise RuntimeError
    db.session.commit()
    after = (
        db.session.execute(sa.select(AuditEntry.changes).order_by(AuditEntry.id).offset(before))
        .scalars()
        .all()
    )
    assert [set(c) for c in after] == [{"phone"}]
    assert audit.verify_chain()[1] is None


def test_a_head_kept_before_the_chains_still_verifies(app, db, make_person):
    """A single-chain head (format /1, printed before core_0011) signed the newest entry's
    id and hash alone: it still proves that entry is there, and a changed one is caught."""
    import hashlib
    import hmac

    make_person(name="旧头")
    newest = db.session.execute(
        sa.select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc())
    ).first()
    message = f"eldercare-audit-head/1\n{newest.id}\n{newest.hash}".encode()
    old = {
        "format": "eldercare-audit-head/1",
        "id": newest.id,
        "hash": newest.hash,
        "hmac": hmac.new(audit_key(), message, hashlib.sha256).hexdigest(),
    }
    assert audit.check_head(old, audit_key()) == newest.id
    with pytest.raises(audit.HeadMismatch, match="signature"):
        audit.check_head(dict(old, id=newest.id - 1), audit_key())
