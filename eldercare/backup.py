"""`eldercare backup` and `eldercare restore`: the database, and never a key.

A backup is a tar file of two members: ``backup.json`` (what made it, and fingerprints
of the keys its encrypted values open with) and the dump itself: ``database.sqlite``
(SQLite's online backup API, consistent while the app runs) or ``database.pgdump``
(pg_dump's custom format, restored with pg_restore).

No key goes in or beside it. The data keys derive from the secret key where they are not
pinned, so a backup with the secret key beside it opened every ID number and could sign
an admin's session: keys are kept apart (README, Deployment), and a fingerprint (an HMAC
of a fixed label under the key, crypto.key_id) is all the backup holds of them, enough
for `restore` to say which keys it needs before it replaces anything.

The file is written with mode 0600 from its first byte: a temporary file made by
mkstemp (0600) in the target's folder, under a umask of 077 for whatever pg_dump or
SQLite create beside it, renamed over the target when complete.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy.engine import make_url

from .extensions import db

FORMAT = "eldercare-backup/1"
META = "backup.json"
DUMPS = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}


class BackupError(Exception):
    pass


def _pg_args(url) -> tuple[list[str], dict]:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    args = [
        "-h",
        url.host or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "postgres",
    ]
    return args, env


def _run(cmd: list[str], env: dict) -> None:
    # PostgreSQL's own client from PATH, with our arguments: no shell, no user input.
    done = subprocess.run(  # noqa: S603  # nosec B603 # pg_dump/pg_restore, argument list
        cmd, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise BackupError(done.stderr.strip()[-2000:])


@contextlib.contextmanager
def _private() -> Iterator[None]:
    """Files created meanwhile (by us, SQLite's journal, pg_dump) are the owner's only."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def _url():
    return make_url(db.engine.url.render_as_string(hide_password=False))


def key_fingerprints() -> dict:
    """Fingerprints of this instance's keys: what a backup needs, never the keys."""
    from .crypto import audit_key, fingerprints, key_id, keyring

    keys = keyring()
    out = fingerprints(keys)
    out["data_current"] = str(keys.current)
    out["secret"] = key_id(current_app.config["SECRET_KEY"].encode())
    out["audit"] = key_id(audit_key())
    return out


def _dump(url, path: Path) -> str:
    """Write the database to `path` (an existing 0600 file); returns the member name."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        src = sqlite3.connect(url.database)
        dst = sqlite3.connect(path)
        try:
            with dst:
                src.backup(dst)
        finally:
            src.close()
            dst.close()
    elif backend == "postgresql":
        args, env = _pg_args(url)
        _run(["pg_dump", "-Fc", "-f", str(path), *args, url.database], env)
    else:
        raise BackupError(f"no backup for {backend}")
    return DUMPS[backend]


def backup(target: Path, instance: Path | None = None) -> Path:
    """Write the database to `target` (mode 0600, replaced whole when complete), with the
    fingerprints of the keys it needs. Raises BackupError when the dump fails."""
    url = _url()
    target = target.resolve()
    meta = {
        "format": FORMAT,
        "made_at": datetime.now(UTC).isoformat(),
        "backend": url.get_backend_name(),
        "keys": key_fingerprints(),
    }
    with _private():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, dump_name = tempfile.mkstemp(prefix=".dump-", dir=target.parent)
        os.close(fd)
        fd, tar_name = tempfile.mkstemp(prefix=".backup-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                member = _dump(url, Path(dump_name))
                with tarfile.open(fileobj=fh, mode="w") as tar:
                    raw = json.dumps(meta, indent=2).encode()
                    info = _owner_only(tarfile.TarInfo(META))
                    info.size, info.mtime = len(raw), int(datetime.now(UTC).timestamp())
                    tar.addfile(info, io.BytesIO(raw))
                    tar.add(dump_name, arcname=member, recursive=False, filter=_owner_only)
            os.replace(tar_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tar_name)
            raise
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dump_name)
    return target


def _owner_only(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


# --- restore -----------------------------------------------------------------------------


def read_meta(source: Path) -> dict | None:
    """A backup's description, or None for a bare dump (a backup from before keys were
    fingerprinted). Raises BackupError for a file that is neither."""
    if not tarfile.is_tarfile(source):
        return None
    with tarfile.open(source) as tar:
        try:
            raw = tar.extractfile(META)
        except KeyError:
            raise BackupError(f"{source}: a tar file, but not an eldercare backup") from None
        meta = json.loads(raw.read()) if raw else {}
    if meta.get("format") != FORMAT:
        raise BackupError(f"{source}: not an eldercare backup ({meta.get('format')!r})")
    return meta


def missing_keys(meta: dict) -> list[str]:
    """What this instance lacks of the keys the backup's encrypted values open with, in
    words (empty when it has them). The secret key and the audit key are not needed to
    read the data (see key_warnings)."""
    theirs, ours = meta.get("keys") or {}, key_fingerprints()
    needs: list[str] = []
    version = theirs.get("data_current")
    their_data = theirs.get("data") or {}
    if version and their_data.get(version) != ours["data"].get(version):
        needs.append(
            f"data key version {version} (fingerprint {their_data.get(version)}; "
            f"this instance's: {ours['data'].get(version) or 'none'})"
        )
    for other, fp in sorted(their_data.items()):
        if other != version and ours["data"].get(other) not in (None, fp):
            needs.append(
                f"data key version {other} (fingerprint {fp}; this instance's: "
                f"{ours['data'][other]})"
            )
    if theirs.get("index") and theirs["index"] != ours["index"]:
        needs.append(f"index key (fingerprint {theirs['index']}; this instance's: {ours['index']})")
    return needs


def check_keys(meta: dict) -> None:
    """BackupError naming the keys the backup needs, when this instance lacks them."""
    needs = missing_keys(meta)
    if needs:
        raise BackupError(
            "this instance's keys do not open the backup; it needs: "
            + "; ".join(needs)
            + ". Start it with the keys of the instance that made the backup "
            "(ELDERCARE_DATA_KEY and ELDERCARE_INDEX_KEY as `eldercare crypto "
            "show-derived` printed them there, or the ELDERCARE_SECRET_KEY they derive "
            "from), kept apart from the backups. Nothing was changed."
        )


def key_warnings(meta: dict) -> list[str]:
    """Keys that differ without making the data unreadable: what stops working."""
    theirs, ours = meta.get("keys") or {}, key_fingerprints()
    out = []
    if theirs.get("secret") and theirs["secret"] != ours["secret"]:
        out.append(
            f"the secret key differs (backup's {theirs['secret']}, this instance's "
            f"{ours['secret']}): QR cards printed by that instance will not open"
        )
    if theirs.get("audit") and theirs["audit"] != ours["audit"]:
        out.append(
            f"the audit key differs (backup's {theirs['audit']}, this instance's "
            f"{ours['audit']}): audit heads kept from that instance will not verify"
        )
    return out


def restore(source: Path) -> dict | None:
    """Replace the database's contents with a backup made by `backup` (or a bare dump
    from an older release). Refuses, before anything is replaced, a backup whose keys
    this instance does not have (BackupError naming them). Returns the backup's
    description (None for a bare dump)."""
    meta = read_meta(source)
    if meta is not None:
        check_keys(meta)
    url = _url()
    backend = url.get_backend_name()
    if meta is not None and meta.get("backend") != backend:
        raise BackupError(f"a {meta.get('backend')} backup cannot restore into {backend}")
    with _private(), _dump_file(source, meta, backend) as dump:
        db.session.remove()
        db.engine.dispose()
        _load(url, dump)
    return meta


@contextlib.contextmanager
def _dump_file(source: Path, meta: dict | None, backend: str) -> Iterator[Path]:
    """The dump to load: the bare file itself, or the backup's member copied out to a
    private temporary file (by name: nothing in the tar chooses where it lands)."""
    if meta is None:
        yield source
        return
    fd, name = tempfile.mkstemp(prefix=".restore-")
    try:
        with tarfile.open(source) as tar, os.fdopen(fd, "wb") as out:
            member = tar.extractfile(DUMPS[backend])
            if member is None:
                raise BackupError(f"{source}: no {DUMPS[backend]} inside")
            shutil.copyfileobj(member, out)
        yield Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def _load(url, dump: Path) -> None:
    if url.get_backend_name() == "sqlite":
        src = sqlite3.connect(dump)
        dst = sqlite3.connect(url.database)
        try:
            with dst:
                src.backup(dst)
        finally:
            src.close()
            dst.close()
    elif url.get_backend_name() == "postgresql":
        args, env = _pg_args(url)
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "-d",
                url.database,
                *args,
                str(dump),
            ],
            env,
        )
    else:
        raise BackupError(f"no restore for {url.get_backend_name()}")


def default_name(instance: Path) -> Path:
    return instance / "backups" / f"eldercare-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.backup"
