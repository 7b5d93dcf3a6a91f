"""Personal data encrypted at rest (MLPS 2.0 level 3, PIPL art. 28 and 51).

Full resident ID numbers and health notes are stored encrypted with AES-256-GCM (the
`cryptography` package; a random 96-bit nonce per value). Equality, which the registry
needs (one person per number, find a person by number, match an uploaded list), goes
through a blind index: HMAC-SHA256 of the normalised value under a second key.

Stored form: ``v<version>:<base64(nonce || ciphertext || tag)>``. The version names the
data key, so keys can rotate: new values use the first key of ELDERCARE_DATA_KEY, every
key listed there still decrypts, and ``eldercare crypto reencrypt`` rewrites old values.
The kind of value ("id_number", "health_notes") is the associated data: a ciphertext
copied into a column of another kind does not decrypt. ID numbers share one kind
across tables, so SQL may copy them between tables (a claim generated from visits).

Keys (see README, Security):

* ELDERCARE_DATA_KEY: base64 of 32 random bytes, or a list ``2:<base64>,1:<base64>``
  (version:key, the first encrypts); ELDERCARE_INDEX_KEY: base64 of 32 bytes. Set both
  or neither.
* Neither set: both are derived from the secret key (ELDERCARE_SECRET_KEY or the
  instance's secret_key file) with HKDF-SHA256 and distinct info labels, data key
  version 1. Changing the secret key then makes the data unreadable: pin the keys first
  (``eldercare crypto show-derived`` prints them as environment lines).
* ELDERCARE_AUDIT_KEY (base64 of 32 bytes), or derived from the secret key under a
  label of its own: signs the audit log's head kept outside (``eldercare audit head``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass, field

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app
from sqlalchemy.types import TypeDecorator

from . import idnumbers

EXTENSION = "eldercare.keyring"
NONCE_BYTES = 12  # 96 bits, the size GCM is defined for
KEY_BYTES = 32  # AES-256, HMAC-SHA256
# HKDF info labels: the two derived keys are independent of each other and of the
# secret key's other uses (session and QR signatures).
DATA_INFO = b"eldercare data key v1 (AES-256-GCM)"
INDEX_INFO = b"eldercare blind index key v1 (HMAC-SHA256)"
AUDIT_INFO = b"eldercare audit head key v1 (HMAC-SHA256)"
AUDIT_EXTENSION = "eldercare.audit_key"


class CryptoConfigError(RuntimeError):
    """The keys in the configuration cannot be used (the app refuses to start)."""


class DecryptionError(RuntimeError):
    """A stored value does not decrypt: the wrong key, a key version that is not
    configured, or a damaged (or clear) value. Never carries the value itself."""


def _decode_key(text: str, name: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CryptoConfigError(f"{name} is not base64") from None
    if len(key) != KEY_BYTES:
        raise CryptoConfigError(f"{name} must be {KEY_BYTES} bytes (base64), not {len(key)}")
    return key


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(secret)


@dataclass(frozen=True)
class Keyring:
    """The data keys by version (``current`` encrypts) and the blind-index key."""

    data: dict[int, bytes] = field(repr=False)  # never in a traceback or a log line
    current: int
    index: bytes = field(repr=False)
    derived: bool = False
    _ciphers: dict[int, AESGCM] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for version, key in self.data.items():
            self._ciphers[version] = AESGCM(key)

    def encrypt(self, text: str, kind: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.current].encrypt(nonce, text.encode(), kind.encode())
        return f"v{self.current}:{base64.b64encode(nonce + sealed).decode('ascii')}"

    def version_of(self, token: str) -> int:
        head, sep, _ = token.partition(":")
        if not sep or head[:1] != "v" or not head[1:].isdigit():
            raise DecryptionError("not an encrypted value (a clear value in an encrypted column?)")
        return int(head[1:])

    def decrypt(self, token: str, kind: str) -> str:
        version = self.version_of(token)
        cipher = self._ciphers.get(version)
        if cipher is None:
            raise DecryptionError(
                f"{kind}: encrypted with data key version {version}, which is not configured "
                "(ELDERCARE_DATA_KEY)"
            )
        try:
            raw = base64.b64decode(token.partition(":")[2], validate=True)
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], kind.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError):
            raise DecryptionError(
                f"{kind}: cannot decrypt with data key version {version}: a wrong key "
                "(ELDERCARE_DATA_KEY, or the secret key it is derived from) or a damaged "
                "value"
            ) from None

    def blind_index(self, value: str, kind: str) -> str:
        """HMAC-SHA256 of ``kind`` and ``value``, hex: equal values give equal indexes,
        and nobody without the index key can compute or reverse one."""
        message = kind.encode() + b"\x00" + value.encode()
        return hmac.new(self.index, message, hashlib.sha256).hexdigest()


def keyring_from(secret_key: str, data_keys: str | None, index_key: str | None) -> Keyring:
    """Build the keyring from configuration (see the module docstring). Raises
    CryptoConfigError for a malformed key or one key set without the other."""
    data_keys = (data_keys or "").strip()
    index_key = (index_key or "").strip()
    if not data_keys and not index_key:
        if not secret_key:
            raise CryptoConfigError("no secret key to derive the data keys from")
        secret = secret_key.encode()
        return Keyring({1: _hkdf(secret, DATA_INFO)}, 1, _hkdf(secret, INDEX_INFO), derived=True)
    if not (data_keys and index_key):
        raise CryptoConfigError("set both ELDERCARE_DATA_KEY and ELDERCARE_INDEX_KEY, or neither")
    keys: dict[int, bytes] = {}
    order: list[int] = []
    for i, item in enumerate(p for p in data_keys.split(",") if p.strip()):
        version_text, sep, key_text = item.strip().rpartition(":")
        if not sep:
            version_text, key_text = "1", item  # one bare key: version 1
        if not version_text.isdigit() or int(version_text) < 1:
            raise CryptoConfigError(f"ELDERCARE_DATA_KEY item {i + 1}: version must be 1 or more")
        version = int(version_text)
        if version in keys:
            raise CryptoConfigError(f"ELDERCARE_DATA_KEY: version {version} given twice")
        keys[version] = _decode_key(key_text, f"ELDERCARE_DATA_KEY version {version}")
        order.append(version)
    return Keyring(keys, order[0], _decode_key(index_key, "ELDERCARE_INDEX_KEY"))


def audit_key_from(secret_key: str, configured: str | None) -> bytes:
    """The key that signs the audit log's kept head (``eldercare audit head``): never in
    the database, so whoever can write the database cannot sign a head for a chain they
    rewrote. ELDERCARE_AUDIT_KEY (base64 of 32 bytes) where set, else HKDF of the secret
    key under its own label (independent of the data keys, pinned or not)."""
    if configured and configured.strip():
        return _decode_key(configured, "ELDERCARE_AUDIT_KEY")
    if not secret_key:
        raise CryptoConfigError("no secret key to derive the audit key from")
    return _hkdf(secret_key.encode(), AUDIT_INFO)


def key_id(key: bytes) -> str:
    """A short fingerprint of a key (12 hex digits of an HMAC of a fixed label under it):
    shows which key something was made with, and reveals nothing of the key."""
    return hmac.new(key, b"eldercare key fingerprint", hashlib.sha256).hexdigest()[:12]


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = keyring_from(
        app.config["SECRET_KEY"], app.config.get("DATA_KEY"), app.config.get("INDEX_KEY")
    )
    app.extensions[AUDIT_EXTENSION] = audit_key_from(
        app.config["SECRET_KEY"],
        app.config.get("AUDIT_KEY") or os.environ.get("ELDERCARE_AUDIT_KEY"),
    )


def audit_key() -> bytes:
    """The current app's audit head key (an app context is needed)."""
    return current_app.extensions[AUDIT_EXTENSION]


def keyring() -> Keyring:
    """The current app's keyring (an app context is needed, as for the database)."""
    try:
        return current_app.extensions[EXTENSION]
    except RuntimeError:
        raise RuntimeError("encrypted values need an app context (the keys live there)") from None


def blind_index(value: str, kind: str = "id_number") -> str:
    return keyring().blind_index(value, kind)


# --- ID numbers ----------------------------------------------------------------------------

TAIL = 4  # characters of the end of a number that have an index of their own


def id_number_hash(number: str) -> str:
    """The blind index of a normalised ID number."""
    return blind_index(number, "id_number")


def id_tail_hash(number_or_tail: str) -> str:
    """The blind index of the last four characters of a number (search by its end)."""
    return blind_index(number_or_tail[-TAIL:].upper(), "id_tail")


def redact(kind: str, value: str | None) -> str | None:
    """What the audit log may keep of an encrypted value: the masked form of an ID number
    (as every list shows it), only whether there is one for anything else."""
    if value is None:
        return None
    if kind == "id_number":
        return idnumbers.mask(value)
    return "***" if value else ""


class EncryptedString(TypeDecorator):
    """Text encrypted with the app's current data key on the way in, decrypted on the
    way out. Comparing the column in SQL is refused: a random nonce makes every
    ciphertext different, so compare its blind index instead."""

    impl = sa.String
    cache_ok = True

    def __init__(self, kind: str, length: int | None = None) -> None:
        super().__init__(length=length)
        self.kind = kind
        self.length = length

    def load_dialect_impl(self, dialect):
        # VARCHAR(n) for short values (ID numbers), TEXT for notes of any length
        return dialect.type_descriptor(sa.String(self.length) if self.length else sa.Text())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return keyring().encrypt(str(value), self.kind)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return keyring().decrypt(value, self.kind)

    def process_literal_param(self, value, dialect):
        raise TypeError("encrypted values are never written into SQL text")

    class comparator_factory(TypeDecorator.Comparator):  # SQLAlchemy's hook name
        def operate(self, op, *other, **kwargs):
            if op in (sa.sql.operators.is_, sa.sql.operators.is_not):
                return super().operate(op, *other, **kwargs)
            raise TypeError(
                "an encrypted column cannot be compared or sorted in SQL: use its blind "
                "index (e.g. Person.id_number_is(number))"
            )

        def reverse_operate(self, op, other, **kwargs):
            raise TypeError("an encrypted column cannot be compared or sorted in SQL")


# --- operations (eldercare crypto …, eldercare restore) ----------------------------------


def encrypted_columns() -> dict[sa.Table, list[sa.Column]]:
    """Every encrypted column of the loaded models, by table."""
    from .extensions import db

    out: dict[sa.Table, list[sa.Column]] = {}
    for table in db.metadata.sorted_tables:
        cols = [c for c in table.c if isinstance(c.type, EncryptedString)]
        if cols:
            out[table] = cols
    return out


def unreadable() -> str | None:
    """Why the database's encrypted values cannot be read with this app's keys (one value
    of each encrypted column is tried), or None when they can."""
    from .extensions import db

    for table, cols in encrypted_columns().items():
        for col in cols:
            try:
                db.session.execute(sa.select(col).where(col.is_not(None)).limit(1)).all()
            except DecryptionError as exc:
                return f"{table.name}.{col.name}: {exc}"
    return None


def reencrypt(batch: int = 1000) -> dict[str, int]:
    """Rewrite every value not encrypted with the current data key (after a new key was put
    first in ELDERCARE_DATA_KEY), `batch` rows at a time; flushes, never commits. Returns
    the rows rewritten per table. Blind indexes do not change (the index key stays)."""
    from .extensions import db

    current = f"v{keyring().current}:%"
    done: dict[str, int] = {}
    for table, cols in encrypted_columns().items():
        pk = table.c.id
        stale = sa.or_(*[sa.type_coerce(c, sa.String).not_like(current) for c in cols])
        last, count = 0, 0
        while True:
            rows = db.session.execute(
                sa.select(pk, *cols).where(pk > last, stale).order_by(pk).limit(batch)
            ).all()
            if not rows:
                break
            db.session.execute(
                table.update()
                .where(pk == sa.bindparam("row_id"))
                .values({c.name: sa.bindparam(c.name, type_=c.type) for c in cols}),
                [{"row_id": r[0], **{c.name: r[i + 1] for i, c in enumerate(cols)}} for r in rows],
            )
            last, count = rows[-1][0], count + len(rows)
        done[table.name] = count
    return done


def environment_lines(keys: Keyring, audit: bytes | None = None) -> list[str]:
    """The keys as ELDERCARE_DATA_KEY / ELDERCARE_INDEX_KEY (and ELDERCARE_AUDIT_KEY)
    lines (to pin derived keys before the secret key changes, and to keep them apart
    from the backups)."""
    data = ",".join(
        f"{v}:{base64.b64encode(k).decode()}"
        for v, k in sorted(keys.data.items(), key=lambda i: i[0] != keys.current)
    )
    lines = [
        f"ELDERCARE_DATA_KEY={data}",
        f"ELDERCARE_INDEX_KEY={base64.b64encode(keys.index).decode()}",
    ]
    if audit is not None:
        lines.append(f"ELDERCARE_AUDIT_KEY={base64.b64encode(audit).decode()}")
    return lines


def fingerprints(keys: Keyring) -> dict:
    """Which keys open the encrypted values: a fingerprint per data key version and of the
    index key (kept in a backup's description; the keys themselves never are)."""
    return {
        "data": {str(v): key_id(k) for v, k in sorted(keys.data.items())},
        "index": key_id(keys.index),
    }
