"""A backup restores what was there when it was taken (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def run(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "eldercare.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_backup_then_restore_brings_back_the_registry(client, admin_headers, make_person, tmp_path):
    kept = make_person(name="备份前").name
    target = tmp_path / "db.backup"
    done = run("backup", "--to", str(target))
    assert done.returncode == 0, done.stderr
    assert target.stat().st_size > 0
    assert target.with_name("db.backup.secret_key").exists() or "secret" not in done.stdout
    make_person(name="备份后")
    from eldercare.extensions import db

    db.session.remove()
    done = run("restore", str(target), "--yes")
    assert done.returncode == 0, done.stderr
    names = {p["name"] for p in client.get("/api/v1/people", headers=admin_headers).json["items"]}
    assert kept in names and "备份后" not in names
