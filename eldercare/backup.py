"""`eldercare backup` and `eldercare restore`: the database and the instance's secret key.

SQLite is copied with its online backup API (consistent while the app runs); PostgreSQL
with pg_dump's custom format, restored with pg_restore. The secret key goes along in a
side file: QR cards and sessions are signed with it, so a restore without it would
invalidate every printed card.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from .extensions import db


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


def backup(target: Path, instance: Path) -> Path:
    """Write a consistent copy of the database (and the secret key beside it)."""
    url = make_url(db.engine.url.render_as_string(hide_password=False))
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        src = sqlite3.connect(url.database)
        dst = sqlite3.connect(target)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
    elif url.get_backend_name() == "postgresql":
        args, env = _pg_args(url)
        cmd = ["pg_dump", "-Fc", "-f", str(target), *args, url.database]
        # PostgreSQL's own client from PATH, with our arguments: no shell, no user input.
        done = subprocess.run(  # noqa: S603  # nosec B603 # pg_dump, argument list, no shell
            cmd,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise BackupError(done.stderr.strip())
    else:
        raise BackupError(f"no backup for {url.get_backend_name()}")
    key = instance / "secret_key"
    if key.exists():
        shutil.copy2(key, target.with_name(target.name + ".secret_key"))
    return target


def restore(source: Path) -> None:
    """Replace the database's contents with a backup made by `backup`."""
    url = make_url(db.engine.url.render_as_string(hide_password=False))
    db.session.remove()
    db.engine.dispose()
    if url.get_backend_name() == "sqlite":
        src = sqlite3.connect(source)
        dst = sqlite3.connect(url.database)
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
    elif url.get_backend_name() == "postgresql":
        args, env = _pg_args(url)
        cmd = ["pg_restore", "--clean", "--if-exists", "--no-owner", "-d", url.database, *args,
               str(source)]
        # The same: pg_restore from PATH, our arguments as a list, no shell.
        done = subprocess.run(  # noqa: S603  # nosec B603 # pg_restore, argument list, no shell
            cmd,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise BackupError(done.stderr.strip()[-2000:])
    else:
        raise BackupError(f"no restore for {url.get_backend_name()}")


def default_name(instance: Path) -> Path:
    return instance / "backups" / f"eldercare-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.backup"
