"""A backup restores what was there when it was taken (SQLite and PostgreSQL), holds no
key, is readable by its owner only, and a restore says which keys it needs."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
import tarfile

from tests.conftest import ROOT, SECRET


def run(*args, **env):
    env = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    return subprocess.run(
        [sys.executable, "-m", "eldercare.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),  # an ordinary umask: files would be 0644
    )


def names(client, headers) -> set[str]:
    return {p["name"] for p in client.get("/api/v1/people", headers=headers).json["items"]}


def test_backup_then_restore_brings_back_the_registry(client, admin_headers, make_person, tmp_path):
    kept = make_person(name="备份前").name
    target = tmp_path / "db.backup"
    done = run("backup", "--to", str(target))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["db.backup"]  # nothing beside it
    make_person(name="备份后")
    from eldercare.extensions import db

    db.session.remove()
    done = run("restore", str(target), "--yes")
    assert done.returncode == 0, done.stderr
    found = names(client, admin_headers)
    assert kept in found and "备份后" not in found


def test_a_backup_holds_no_key_only_fingerprints(app, make_person, tmp_path):
    """A stolen backup must not open the ID numbers nor sign a session: neither the
    secret key nor any key derived from it is in the file, in any encoding."""
    from eldercare.crypto import audit_key, key_id, keyring

    make_person(name="无钥匙")
    target = tmp_path / "db.backup"
    assert run("backup", "--to", str(target)).returncode == 0
    keys = keyring()
    secrets = [SECRET.encode(), keys.index, audit_key(), *keys.data.values()]
    raw = target.read_bytes()
    with tarfile.open(target) as tar:
        members = {m.name: m for m in tar.getmembers()}
        contents = [tar.extractfile(m).read() for m in members.values()]
    assert set(members) in ({"backup.json", "database.sqlite"}, {"backup.json", "database.pgdump"})
    assert all(m.mode == 0o600 for m in members.values())
    for secret in secrets:
        for blob in (raw, *contents):
            assert secret not in blob
            assert base64.b64encode(secret) not in blob
            assert secret.hex().encode() not in blob
    meta = tar_meta(target)
    assert meta["keys"]["index"] == key_id(keys.index)
    assert meta["keys"]["data"] == {str(v): key_id(k) for v, k in keys.data.items()}


def tar_meta(path):
    import json

    with tarfile.open(path) as tar:
        return json.loads(tar.extractfile("backup.json").read())


def test_the_backup_is_never_readable_by_others_while_it_is_written(
    app, make_person, tmp_path, monkeypatch
):
    """Mode 0600 from the first byte: every file in the target's folder is the owner's
    only at the moment the dump is being written, and a backup written over an older,
    world-readable one ends up 0600."""
    from eldercare import backup

    make_person(name="权限")
    target = tmp_path / "db.backup"
    target.write_text("an old backup, written with a careless umask")
    target.chmod(0o644)
    seen: dict[str, int] = {}
    real_dump = backup._dump

    def watched(url, path):
        member = real_dump(url, path)
        for entry in tmp_path.iterdir():
            if entry != target:
                seen[entry.name] = stat.S_IMODE(entry.stat().st_mode)
        return member

    monkeypatch.setattr(backup, "_dump", watched)
    old = os.umask(0o022)
    try:
        backup.backup(target)
    finally:
        os.umask(old)
    assert len(seen) == 2 and set(seen.values()) == {0o600}, seen  # the dump and the tar
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["db.backup"]


def test_restore_with_other_keys_names_the_keys_and_changes_nothing(
    client, admin_headers, make_person, tmp_path
):
    make_person(name="钥匙前")
    target = tmp_path / "db.backup"
    assert run("backup", "--to", str(target)).returncode == 0
    make_person(name="钥匙后")
    from eldercare.crypto import key_id, keyring
    from eldercare.extensions import db

    db.session.remove()
    done = run("restore", str(target), "--yes", ELDERCARE_SECRET_KEY="another instance")
    assert done.returncode != 0
    keys = keyring()
    assert f"data key version 1 (fingerprint {key_id(keys.data[1])}" in done.stderr, done.stderr
    assert f"index key (fingerprint {key_id(keys.index)}" in done.stderr
    assert "Nothing was changed" in done.stderr
    assert "钥匙后" in names(client, admin_headers)

    pinned = "\n".join(run("crypto", "show-derived").stdout.splitlines())
    env = dict(line.split("=", 1) for line in pinned.splitlines())
    done = run("restore", str(target), "--yes", ELDERCARE_SECRET_KEY="another instance", **env)
    assert done.returncode == 0, done.stderr  # the keys kept apart open it
    assert "QR cards printed by that instance will not open" in done.stderr
    assert "钥匙后" not in names(client, admin_headers)


def test_a_bare_dump_from_an_older_release_is_checked_after_restoring(
    client, admin_headers, make_person, tmp_path
):
    """A backup made before fingerprints (the dump alone) has nothing to check first:
    restored under other keys, it says its values do not open and what to do."""
    make_person(name="旧备份")
    target = tmp_path / "db.backup"
    assert run("backup", "--to", str(target)).returncode == 0
    with tarfile.open(target) as tar:
        member = next(m for m in tar.getmembers() if m.name != "backup.json")
        bare = tmp_path / "old.dump"
        bare.write_bytes(tar.extractfile(member).read())
    from eldercare.extensions import db

    db.session.remove()
    done = run("restore", str(bare), "--yes", ELDERCARE_SECRET_KEY="another instance")
    assert done.returncode == 1 and "do not open with this instance's keys" in done.stderr
    assert run("restore", str(bare), "--yes").returncode == 0
    assert "旧备份" in names(client, admin_headers)
