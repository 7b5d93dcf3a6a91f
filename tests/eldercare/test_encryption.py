"""ID numbers and health notes are stored encrypted (eldercare/crypto.py): the tables and
the audit log hold no clear number, the database itself refuses a second person with a
number (UNIQUE on the blind index), a number still finds its person, a wrong key is a
clear error, and the migration encrypts a database that held clear numbers."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dynamic import services as dynamic
from eldercare import crypto
from eldercare.database import UTCDateTime
from eldercare.extensions import db
from eldercare.idnumbers import mask
from eldercare.models import Person
from tests import factories as f
from tests.conftest import DATABASE_URL, ROOT

NUMBER = "510704193506176511"
OTHER = "11010519491231002X"
NOTES = "糖尿病，每日胰岛素"


def post_person(client, h, **kw):
    body = {"name": "王德福", "id_number": NUMBER} | kw
    return client.post("/api/v1/people", json=body, headers=h)


def raw_people() -> list[dict]:
    """The people table as plain SQL sees it (no column types, no decryption)."""
    return [
        dict(r)
        for r in db.session.execute(
            sa.text("SELECT id, id_number, health_notes, id_number_hash, id_tail_hash FROM people")
        ).mappings()
    ]


def audit_text() -> str:
    return json.dumps(
        [r for r in db.session.execute(sa.text("SELECT changes FROM audit_log")).scalars()],
        ensure_ascii=False,
        default=str,
    )


# --- at rest ---------------------------------------------------------------------------


def test_the_table_holds_ciphertext_not_the_number_or_the_notes(client, admin_headers):
    r = post_person(client, admin_headers, id_number="510704193506176511 ", health_notes=NOTES)
    assert r.status_code == 201
    (row,) = raw_people()
    for stored in row.values():
        assert NUMBER not in str(stored) and NUMBER[-8:] not in str(stored)
        assert NOTES not in str(stored)
    assert row["id_number"].startswith("v1:") and row["health_notes"].startswith("v1:")
    assert len(row["id_number_hash"]) == 64
    # the ORM reads it back as it was; an admin sees it in full, one person at a time
    assert db.session.get(Person, row["id"]).id_number == NUMBER
    full = client.get(f"/api/v1/people/{row['id']}", headers=admin_headers).json
    assert full["id_number"] == NUMBER and full["health_notes"] == NOTES


def test_the_same_value_encrypts_differently_each_time(app):
    keys = crypto.keyring()
    assert keys.encrypt(NUMBER, "id_number") != keys.encrypt(NUMBER, "id_number")
    assert keys.blind_index(NUMBER, "id_number") == keys.blind_index(NUMBER, "id_number")


def test_a_list_comparison_keeps_its_rows_numbers_encrypted(app, admin):
    f.person("王德福", id_number=NUMBER)
    content = f"id_number,name,date\n{NUMBER},王德福,2026-01-05\n{OTHER},赵玉兰,2026-01-06\n"
    comp = dynamic.upload_comparison("death", content.encode(), filename="d.csv", user_id=admin.id)
    db.session.commit()
    assert (comp.matched, comp.unmatched) == (1, 1)  # matched through the blind index
    stored = db.session.execute(sa.text("SELECT id_number FROM comparison_rows")).scalars().all()
    assert len(stored) == 2
    assert all(s.startswith("v1:") and NUMBER not in s and OTHER not in s for s in stored)


def test_comparing_the_encrypted_column_in_sql_is_refused(app):
    with pytest.raises(TypeError, match="blind index"):
        sa.select(Person).where(Person.id_number == NUMBER)
    with pytest.raises(TypeError):
        Person.id_number.endswith("6511")


# --- uniqueness in the database ----------------------------------------------------------


def test_the_database_refuses_a_second_person_past_the_service(app, make_person):
    make_person(id_number=NUMBER)
    db.session.add(Person(name="另一人", id_number=NUMBER, birth_date=date(1935, 6, 17), sex="M"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    row = {
        "name": "又一人",
        "id_number": "v1:not-even-the-same-ciphertext",
        "id_number_hash": crypto.id_number_hash(NUMBER),
        "id_tail_hash": "x",
        "birth_date": date(1935, 6, 17),
        "sex": "M",
        "phone": "",
        "address": "",
        "status": "active",
        "emergency_contact": "",
        "health_notes": "v1:x",
        "created_at": "2026-01-01 00:00:00",
        "updated_at": "2026-01-01 00:00:00",
    }
    cols = ", ".join(row)
    with pytest.raises(IntegrityError):
        db.session.execute(
            sa.text(
                f"INSERT INTO people ({cols}) VALUES "  # noqa: S608
                f"({', '.join(':' + c for c in row)})"
            ),
            row,
        )
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1


def test_the_service_answers_409_for_a_number_registered_in_another_form(client, admin_headers):
    assert post_person(client, admin_headers, id_number=OTHER).status_code == 201
    r = post_person(client, admin_headers, name="另一人", id_number=OTHER.lower())
    assert r.status_code == 409 and r.json["error"]["code"] == "duplicate_id_number"


# --- finding people by number --------------------------------------------------------------


@pytest.mark.parametrize(
    "q", [NUMBER, "510704350617651", " 5107 0419 3506 1765 11 ", "6511", "176511", "3506176511"]
)
def test_a_number_or_its_end_finds_the_person(client, admin_headers, make_person, q):
    kept = make_person("王德福", id_number=NUMBER).id
    make_person("赵玉兰", id_number=OTHER)
    make_person("张三", birth=date(1940, 1, 1))
    items = client.get("/api/v1/people", query_string={"q": q}, headers=admin_headers).json
    assert [p["id"] for p in items["items"]] == [kept], q
    assert items["items"][0]["id_number"] == mask(NUMBER)  # lists stay masked


def test_an_end_that_matches_nobody_finds_nobody(client, admin_headers, make_person):
    make_person("王德福", id_number=NUMBER)
    for q in ("7651", "0176511", "510704193506176519"):
        r = client.get("/api/v1/people", query_string={"q": q}, headers=admin_headers)
        assert r.json["items"] == [], q


def test_the_people_page_finds_a_full_number(client, admin, make_person):
    make_person("王德福", id_number=NUMBER)
    make_person("赵玉兰", id_number=OTHER)
    f.login(client, admin)
    page = client.get("/people", query_string={"q": NUMBER}).text
    assert "王德福" in page and "赵玉兰" not in page
    # the number is only where the query itself is repeated (the search box, the export
    # links); the list shows it masked
    rest = re.sub(rf'value="{NUMBER}"|href="/people\?q={NUMBER}&amp;format=\w+"', "", page)
    assert NUMBER not in rest and mask(NUMBER) in rest


# --- keys -----------------------------------------------------------------------------------


def _b64(byte: int) -> str:
    return base64.b64encode(bytes([byte]) * 32).decode()


def test_a_wrong_key_cannot_decrypt_and_says_so(app, make_person):
    pid = make_person(id_number=NUMBER).id
    from eldercare import create_app

    other = create_app({"TESTING": True, "SECRET_KEY": "another-secret"})
    with other.app_context():
        with pytest.raises(crypto.DecryptionError, match="wrong key") as err:
            db.session.get(Person, pid)
        assert NUMBER not in str(err.value)
        db.session.remove()


def test_explicit_keys_rotate_by_version(app):
    old = crypto.keyring_from("s", f"1:{_b64(1)}", _b64(9))
    token = old.encrypt(NUMBER, "id_number")
    assert token.startswith("v1:")
    new = crypto.keyring_from("s", f"2:{_b64(2)},1:{_b64(1)}", _b64(9))
    assert new.decrypt(token, "id_number") == NUMBER  # old values still read
    assert new.encrypt(NUMBER, "id_number").startswith("v2:")  # new ones use the first key
    assert new.blind_index(NUMBER, "id_number") == old.blind_index(NUMBER, "id_number")
    with pytest.raises(crypto.DecryptionError, match="version 1"):
        crypto.keyring_from("s", f"2:{_b64(2)}", _b64(9)).decrypt(token, "id_number")
    with pytest.raises(crypto.DecryptionError):
        old.decrypt(token, "health_notes")  # a value moved to another kind of column


def test_derived_keys_are_distinct_and_follow_the_secret_key(app):
    a, b = crypto.keyring_from("one", None, None), crypto.keyring_from("two", None, None)
    assert a.derived and a.data[1] != a.index
    assert a.data[1] != b.data[1] and a.index != b.index
    assert repr(a) == "Keyring(current=1, derived=True)"  # no key in a traceback or log


@pytest.mark.parametrize(
    "data,index",
    [
        (_b64(1), None),
        (None, _b64(1)),
        ("nope", _b64(1)),
        (base64.b64encode(b"short").decode(), _b64(1)),
        (f"0:{_b64(1)}", _b64(2)),
    ],
)
def test_malformed_keys_stop_the_app(data, index):
    with pytest.raises(crypto.CryptoConfigError):
        crypto.keyring_from("s", data, index)


# --- the audit log -----------------------------------------------------------------------------


def test_the_audit_log_never_holds_the_number_or_the_notes(client, admin_headers):
    pid = post_person(client, admin_headers, health_notes=NOTES).json["id"]
    corrected = "510704193506176538"
    r = client.put(
        f"/api/v1/people/{pid}",
        headers=admin_headers,
        json={"name": "王德福", "id_number": corrected, "health_notes": NOTES + "。"},
    )
    assert r.status_code == 200, r.json
    assert client.get(f"/api/v1/people/{pid}", headers=admin_headers).status_code == 200
    text = audit_text()
    for secret in (NUMBER, corrected, NOTES, crypto.id_number_hash(NUMBER)):
        assert secret not in text
    assert mask(NUMBER) in text and mask(corrected) in text  # what changed is still seen


def test_a_roster_import_audits_masked_numbers(app, admin):
    from eldercare.people import imports, roster

    content = f"姓名,身份证号码\n王德福,{NUMBER}\n赵玉兰,{OTHER}\n".encode()
    checked = roster.check_roster(content, "roster.csv")
    report = imports.save_roster(checked)
    db.session.commit()
    assert report.created == 2
    assert NUMBER not in audit_text() and OTHER not in audit_text()
    assert mask(NUMBER) in audit_text()
    assert all(r["id_number"].startswith("v1:") for r in raw_people())
    assert {p.id_number for p in db.session.scalars(sa.select(Person))} == {NUMBER, OTHER}


# --- the migration -------------------------------------------------------------------------------


def _scratch_database(tmp_path) -> str:
    if not DATABASE_URL.startswith("postgresql"):
        return f"sqlite:///{tmp_path / 'old.db'}"
    base = sa.engine.make_url(DATABASE_URL)
    name = f"{base.database}_migration"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


_LOG_V1 = sa.table(  # audit_log as core_0005 left it: one chain, no `chain` column
    "audit_log",
    *(
        sa.column(c)
        for c in (
            "id",
            "user_id",
            "username",
            "action",
            "entity",
            "entity_id",
            "ip",
            "prev_hash",
            "hash",
        )
    ),
    sa.column("changes", sa.JSON),
    sa.column("at", UTCDateTime()),
)


def _append_v1(row: dict) -> None:
    """An entry appended as the log was written at core_0005 (one chain)."""
    from eldercare.audit import entry_digest

    prev = db.session.execute(
        sa.select(_LOG_V1.c.hash).order_by(_LOG_V1.c.id.desc()).limit(1)
    ).scalar()
    db.session.execute(
        sa.insert(_LOG_V1).values(**row, prev_hash=prev, hash=entry_digest(prev, row))
    )


def _verify_v1() -> tuple[int, int | None]:
    """verify_chain as it was on the one chain of core_0005."""
    from eldercare.audit import entry_digest

    prev, checked = None, 0
    for row in db.session.execute(sa.select(_LOG_V1).order_by(_LOG_V1.c.id)).mappings():
        if row["prev_hash"] != prev or row["hash"] != entry_digest(prev, dict(row)):
            return checked, row["id"]
        prev, checked = row["hash"], checked + 1
    return checked, None


@pytest.mark.parametrize("tampered", [False, True])
def test_upgrading_a_database_with_clear_numbers_encrypts_them(app, tmp_path, tampered):
    from flask_migrate import upgrade

    from eldercare import create_app

    url = _scratch_database(tmp_path)
    old = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with old.app_context():
        directory = old.extensions["migrate"].directory
        upgrade(directory=directory, revision="core_0005")  # before encryption
        rows = [
            {"name": f"老人{i}", "id_number": n, "notes": f"病历{i}"}
            for i, n in enumerate([NUMBER, OTHER, f.new_id_number()])
        ]
        db.session.execute(
            sa.text(
                "INSERT INTO people (name, id_number, birth_date, sex, phone, address, status, "
                "emergency_contact, health_notes, created_at, updated_at) VALUES (:name, "
                ":id_number, '1935-06-17', 'M', '', '', 'active', '', :notes, "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ),
            rows,
        )
        from eldercare import audit

        for i, r in enumerate(rows):  # as the log was written before: clear values
            _append_v1(
                audit._row(
                    "create",
                    "people",
                    str(i + 1),
                    {"name": r["name"], "id_number": r["id_number"], "health_notes": r["notes"]},
                )
            )
        _append_v1(
            audit._row(
                "update", "people", "1", {"id_number": [OTHER, NUMBER], "health_notes": ["", "x"]}
            )
        )
        if tampered:
            db.session.execute(sa.text("UPDATE audit_log SET username = 'x' WHERE id = 2"))
        db.session.commit()
        before = _verify_v1()
        assert before == ((1, 2) if tampered else (4, None))
        db.session.remove()  # its read holds SQLite's lock (BEGIN IMMEDIATE)
        upgrade(directory=directory, revision="heads")
        log = audit_text()
        assert all(r["id_number"] not in log and r["notes"] not in log for r in rows)
        assert mask(NUMBER) in log and mask(OTHER) in log
        # rehashed, with a note of the redaction; a chain broken before stays broken there
        assert audit.verify_chain() == (before if tampered else (5, None))
        note = db.session.execute(
            sa.text("SELECT action, changes FROM audit_log ORDER BY id DESC")
        ).first()
        assert note[0] == "redact" and '"entries": 4' in json.dumps(
            note[1] if isinstance(note[1], dict) else json.loads(note[1])
        )
        stored = raw_people()
        assert len(stored) == 3
        for row in stored:
            assert row["id_number"].startswith("v1:") and row["health_notes"].startswith("v1:")
        text = json.dumps(stored, ensure_ascii=False)
        assert all(r["id_number"] not in text and r["notes"] not in text for r in rows)
        people = {p.name: p for p in db.session.scalars(sa.select(Person))}
        assert people["老人0"].id_number == NUMBER and people["老人0"].health_notes == "病历0"
        assert (
            db.session.scalar(sa.select(Person.name).where(Person.id_number_is(OTHER))) == "老人1"
        )
        db.session.add(Person(name="重复", id_number=NUMBER, birth_date=date(1935, 6, 17), sex="M"))
        with pytest.raises(IntegrityError):  # the constraint moved to the blind index
            db.session.flush()
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


# --- backup and restore ------------------------------------------------------------------------


def test_a_restored_backup_still_decrypts(client, admin_headers, tmp_path):
    pid = post_person(client, admin_headers, health_notes=NOTES).json["id"]
    target = tmp_path / "db.backup"
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def cli(*args, **extra):
        return subprocess.run(
            [sys.executable, "-m", "eldercare.cli", *args],
            env=env | extra,
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = cli("backup", "--to", str(target))
    assert done.returncode == 0, done.stderr
    assert NUMBER.encode() not in target.read_bytes()
    db.session.remove()
    done = cli("restore", str(target), "--yes")
    assert done.returncode == 0, done.stderr
    full = client.get(f"/api/v1/people/{pid}", headers=admin_headers).json
    assert full["id_number"] == NUMBER and full["health_notes"] == NOTES
    # restored under another secret key (so other derived keys), it refuses before
    # changing anything and names the keys it needs (tests/eldercare/test_backup.py)
    done = cli("restore", str(target), "--yes", ELDERCARE_SECRET_KEY="another-secret")
    assert done.returncode == 1 and "keys do not open the backup" in done.stderr
    assert "data key version 1 (fingerprint" in done.stderr and NUMBER not in done.stderr
    assert "secret_key" not in done.stderr  # no key file beside the backup to point at


def test_reencrypt_moves_every_value_to_the_new_key(app, make_person):
    make_person(id_number=NUMBER, health_notes=NOTES)
    before = app.extensions[crypto.EXTENSION]
    rotated = crypto.Keyring({2: bytes(range(32)), **before.data}, 2, before.index)
    app.extensions[crypto.EXTENSION] = rotated
    try:
        assert crypto.reencrypt()["people"] == 1
        db.session.commit()
        (row,) = raw_people()
        assert row["id_number"].startswith("v2:") and row["health_notes"].startswith("v2:")
        assert crypto.reencrypt()["people"] == 0  # nothing left on the old key
        db.session.expire_all()
        assert db.session.scalar(sa.select(Person.health_notes)) == NOTES
        assert db.session.scalar(sa.select(Person.id).where(Person.id_number_is(NUMBER)))
    finally:
        app.extensions[crypto.EXTENSION] = before
    with pytest.raises(crypto.DecryptionError, match="version 2"):
        db.session.execute(sa.select(Person.id_number)).all()


@pytest.mark.race
@pytest.mark.parametrize("round_", range(2))
def test_the_same_number_registered_at_once_on_two_servers_is_one_person(live_servers, round_):
    """Eight clerks register one number at the same moment through two servers: the
    UNIQUE on the blind index lets one in and the others get 409, never 500."""
    import http.client
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlsplit

    token = f.headers(f.user("admin"))["Authorization"]
    db.session.commit()  # the test's own session must not hold SQLite's write lock
    barrier = threading.Barrier(8)

    def one(i: int) -> int:
        parts = urlsplit(live_servers[i % 2].url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        # half of them type the old 15-digit form of the same number
        body = json.dumps(
            {"name": f"王德福{i}", "id_number": NUMBER if i % 2 else "510704350617651"}
        )
        barrier.wait()
        conn.request(
            "POST",
            "/api/v1/people",
            body=body,
            headers={"Content-Type": "application/json", "Authorization": token},
        )
        status = conn.getresponse().status
        conn.close()
        return status

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(one, range(8)))
    assert statuses == [201] + [409] * 7
    db.session.remove()
    assert len(raw_people()) == 1
    parts = urlsplit(live_servers[0].url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("GET", f"/api/v1/people?q={NUMBER}", headers={"Authorization": token})
    assert json.loads(conn.getresponse().read())["total"] == 1
    conn.close()


def test_the_servers_access_log_leaves_out_query_strings_and_referrers(app, monkeypatch):
    """A search by number is a GET with ?q=…: gunicorn's default access line would log it."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from eldercare import cli

    started = []

    def execve(_path, args, _env):
        started.append(args)
        raise SystemExit(0)

    monkeypatch.setattr(os, "execve", execve)
    CliRunner().invoke(cli.cli, ["serve", "--no-scheduler"], obj=ScriptInfo(create_app=lambda: app))
    (args,) = started
    fmt = args[args.index("--access-logformat") + 1]
    assert "%(U)s" in fmt
    assert not any(k in fmt for k in ("%(r)s", "%(q)s", "%(f)s", "%({"))
