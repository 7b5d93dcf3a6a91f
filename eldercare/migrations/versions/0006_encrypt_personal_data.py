"""encrypt ID numbers and health notes; blind index of the ID number carries the UNIQUE

Revision ID: core_0006
Revises: core_0005
Create Date: 2026-11-29 09:10:00

people.id_number and people.health_notes, and comparison_rows.id_number, are rewritten
in place as AES-GCM ciphertext (eldercare/crypto.py: the app's keys, so run it through
`eldercare init-db`); people gets id_number_hash (HMAC-SHA256 of the number, UNIQUE in
place of the clear number's constraint) and id_tail_hash (the last four characters, for
search). Rows go in batches of 1,000. Nothing of the clear values is kept in the tables;
the audit log's entries of people keep the masked number and only whether there were
health notes, as new entries do (see _redact_audit_log);
SQLite pages freed on the way are zeroed (secure_delete). PostgreSQL keeps dead row
versions until it vacuums: run VACUUM FULL people, comparison_rows after upgrading, and
treat backups made before it as holding clear numbers.

The downgrade decrypts them again (with the same keys).
"""
import logging

from alembic import op
import sqlalchemy as sa

import eldercare.database
from eldercare import crypto
from eldercare.audit import entry_digest
from eldercare.database import utcnow

log = logging.getLogger('alembic.runtime.migration')


# revision identifiers, used by Alembic.
revision = 'core_0006'
down_revision = 'core_0005'
branch_labels = None
depends_on = None

BATCH = 1000

people = sa.table(
    'people', sa.column('id', sa.Integer), sa.column('id_number', sa.String),
    sa.column('health_notes', sa.Text), sa.column('id_number_hash', sa.String),
    sa.column('id_tail_hash', sa.String))
rows = sa.table('comparison_rows', sa.column('id', sa.Integer), sa.column('id_number', sa.String))


def _rewrite(table, columns, change) -> None:
    """Read `columns` of `table` in id order, BATCH rows at a time, and write back what
    `change(row)` gives (a dict of new values), one executemany per batch."""
    conn = op.get_bind()
    last = 0
    while True:
        batch = conn.execute(sa.select(table.c.id, *[table.c[c] for c in columns])
                             .where(table.c.id > last).order_by(table.c.id).limit(BATCH)).all()
        if not batch:
            return
        new = [{"pid": r.id, **change(r)} for r in batch]
        conn.execute(table.update().where(table.c.id == sa.bindparam("pid"))
                     .values({k: sa.bindparam(k) for k in new[0] if k != "pid"}), new)
        last = batch[-1].id


audit = sa.table(
    'audit_log', sa.column('id', sa.Integer), sa.column('at', eldercare.database.UTCDateTime()),
    sa.column('user_id', sa.Integer), sa.column('username', sa.String),
    sa.column('action', sa.String), sa.column('entity', sa.String),
    sa.column('entity_id', sa.String), sa.column('changes', sa.JSON), sa.column('ip', sa.String),
    sa.column('prev_hash', sa.String), sa.column('hash', sa.String))
FIELDS = ('at', 'user_id', 'username', 'action', 'entity', 'entity_id', 'changes', 'ip')


def _redacted(changes):
    """An entry's changes with a person's ID number masked and health notes reduced to
    whether there were any, as eldercare.audit writes them from now on."""
    if not isinstance(changes, dict):
        return changes
    out = dict(changes)
    for key, kind in (('id_number', 'id_number'), ('health_notes', 'health_notes')):
        if key in out:
            value = out[key]
            out[key] = ([crypto.redact(kind, v) for v in value] if isinstance(value, list)
                        else crypto.redact(kind, value))
    return out


def _redact_audit_log() -> None:
    """Mask the ID numbers and health notes that entries about people hold in clear.

    The chain is rehashed from the first changed entry on, and an entry at its end says
    how many were redacted and what the head's hash was before. A chain that does not
    verify before is not rehashed (that would hide the tampering): only the values are
    redacted, and the break stays for `eldercare audit verify` to report."""
    conn = op.get_bind()
    last, prev_old, prev_new, whole, redacted, head = 0, None, None, True, 0, None
    while True:
        batch = conn.execute(sa.select(audit).where(audit.c.id > last)
                             .order_by(audit.c.id).limit(BATCH)).mappings().all()
        if not batch:
            break
        updates = []
        for row in batch:
            changes = _redacted(row['changes']) if row['entity'] == 'people' else row['changes']
            new = {'aid': row['id'], 'changes': changes, 'prev_hash': row['prev_hash'],
                   'hash': row['hash']}
            if row['hash'] is None:  # written before the chain (core_0005)
                prev_old = prev_new = None
            else:
                whole = whole and row['prev_hash'] == prev_old and \
                    row['hash'] == entry_digest(row['prev_hash'], dict(row))
                prev_old, head = row['hash'], row['hash']
                if whole:
                    new['prev_hash'] = prev_new
                    new['hash'] = entry_digest(prev_new, {**row, 'changes': changes})
                prev_new = new['hash']
            if (changes, new['prev_hash'], new['hash']) != (
                    row['changes'], row['prev_hash'], row['hash']):
                redacted += changes != row['changes']
                updates.append(new)
        if updates:
            conn.execute(audit.update().where(audit.c.id == sa.bindparam('aid')).values(
                changes=sa.bindparam('changes'), prev_hash=sa.bindparam('prev_hash'),
                hash=sa.bindparam('hash')), updates)
        last = batch[-1]['id']
    if not redacted:
        return
    if not whole:
        log.warning('audit log: %d entries redacted; its hash chain was already broken, '
                    'so it was not rehashed (see `eldercare audit verify`)', redacted)
    note = {'at': utcnow(), 'user_id': None, 'username': 'migration:core_0006',
            'action': 'redact', 'entity': 'audit_log', 'entity_id': None, 'ip': None,
            'changes': {'entries': redacted, 'head_hash_before': head,
                        'why': 'ID numbers and health notes encrypted: kept masked here'}}
    note['prev_hash'] = prev_new  # the head as it now is
    note['hash'] = entry_digest(prev_new, note)
    conn.execute(audit.insert().values(**note))


def _secure_delete(on: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"PRAGMA secure_delete = {'ON' if on else 'OFF'}")


def upgrade():
    keys = crypto.keyring()
    _secure_delete(True)
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_number_hash', sa.String(length=64), nullable=True,
                                      comment='blind index: HMAC-SHA256 of the normalised number'))
        batch_op.add_column(sa.Column('id_tail_hash', sa.String(length=64), nullable=True,
                                      comment='HMAC-SHA256 of the last 4 characters (search)'))
        batch_op.drop_constraint('uq_people_id_number', type_='unique')
        batch_op.alter_column('id_number', existing_type=sa.String(length=18),
                              type_=sa.String(length=100), existing_nullable=False,
                              comment='AES-GCM (eldercare.crypto)')
        batch_op.alter_column('health_notes', existing_type=sa.Text(), existing_nullable=False,
                              comment='sensitive (PIPL art. 28): admin and managers only; AES-GCM',
                              existing_comment='sensitive (PIPL art. 28): admin and managers only')

    def person(r):
        return {"id_number": keys.encrypt(r.id_number, "id_number"),
                "health_notes": keys.encrypt(r.health_notes, "health_notes"),
                "id_number_hash": keys.blind_index(r.id_number, "id_number"),
                "id_tail_hash": keys.blind_index(r.id_number[-crypto.TAIL:], "id_tail")}

    _rewrite(people, ["id_number", "health_notes"], person)

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.alter_column('id_number_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('id_tail_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_people_id_number_hash'), ['id_number_hash'])
        batch_op.create_index(batch_op.f('ix_people_id_tail_hash'), ['id_tail_hash'], unique=False)

    with op.batch_alter_table('comparison_rows', schema=None) as batch_op:
        batch_op.alter_column('id_number', existing_type=sa.String(length=18),
                              type_=sa.String(length=100), existing_nullable=False,
                              comment='normalised, AES-GCM (eldercare.crypto)',
                              existing_comment='normalised (18 characters)')
    _rewrite(rows, ["id_number"],
             lambda r: {"id_number": keys.encrypt(r.id_number, "id_number")})
    _redact_audit_log()
    _secure_delete(False)


def downgrade():
    keys = crypto.keyring()
    _rewrite(rows, ["id_number"],
             lambda r: {"id_number": keys.decrypt(r.id_number, "id_number")})
    with op.batch_alter_table('comparison_rows', schema=None) as batch_op:
        batch_op.alter_column('id_number', existing_type=sa.String(length=100),
                              type_=sa.String(length=18), existing_nullable=False,
                              comment='normalised (18 characters)',
                              existing_comment='normalised, AES-GCM (eldercare.crypto)')

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_people_id_tail_hash'))
        batch_op.drop_constraint(batch_op.f('uq_people_id_number_hash'), type_='unique')
    _rewrite(people, ["id_number", "health_notes"],
             lambda r: {"id_number": keys.decrypt(r.id_number, "id_number"),
                        "health_notes": keys.decrypt(r.health_notes, "health_notes")})
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.alter_column('health_notes', existing_type=sa.Text(), existing_nullable=False,
                              comment='sensitive (PIPL art. 28): admin and managers only',
                              existing_comment='sensitive (PIPL art. 28): admin and managers only; AES-GCM')
        batch_op.alter_column('id_number', existing_type=sa.String(length=100),
                              type_=sa.String(length=18), existing_nullable=False, comment=None)
        batch_op.create_unique_constraint(batch_op.f('uq_people_id_number'), ['id_number'])
        batch_op.drop_column('id_tail_hash')
        batch_op.drop_column('id_number_hash')
