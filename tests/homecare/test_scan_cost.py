"""What one scan costs the database (issue 15: a scan is cheap): the statements of a
check-in and of a check-out, counted from an empty session as a request starts with."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import sqlalchemy as sa

from eldercare.extensions import db
from tests import factories as f

from .conftest import HOME, iso, now

# Both databases (SQLite counts its BEGIN IMMEDIATE, PostgreSQL the audit chain's lock
# instead). Before issue 15: 36 and 19 on SQLite; then 13 and 18. Now 9 and 14:
#   check-in   the token's user, the card's enrolment, the Scan row claimed (a repeat is
#              told by the claim, not by a look-up before it), one query for the open
#              visit, the overlap and the suspect-card rows (flags.around), the visit,
#              the Scan row pointed at it, the audit chain's head and entries;
#   check-out  user, enrolment, claim, the open visit locked with whether another visit
#              overlaps it, the year's prices, the debit (one conditional UPDATE when the
#              balance covers it), the ledger entry, the services and the visit (written
#              in two steps, as the audit log has always shown them), the Scan row, audit.
CHECK_IN, CHECK_OUT = 9, 14


class Statements:
    def __init__(self) -> None:
        self.sql: list[str] = []

    def __enter__(self):
        db.session.commit()
        db.session.expunge_all()  # as a request's own session would start: empty
        sa.event.listen(db.engine, "before_cursor_execute", self._one)
        return self

    def __exit__(self, *exc):
        sa.event.remove(db.engine, "before_cursor_execute", self._one)

    def _one(self, _conn, _cursor, statement, *_a, **_kw) -> None:
        self.sql.append(" ".join(statement.split())[: int(os.environ.get("SHOW_SQL_WIDTH", 160))])


def test_a_scan_sends_few_statements(client, world):
    start = now() - timedelta(hours=2)
    qr, headers = world.qr, f.headers(world.worker)

    def scan(kind, at, **kw):
        body = {
            "qr": qr,
            "kind": kind,
            "at": iso(at),
            "client_id": str(uuid.uuid4()),
            "lat": HOME[0],
            "lng": HOME[1],
            **kw,
        }
        return client.post("/api/v1/homecare/scans", json=body, headers=headers)

    assert scan("check_in", start - timedelta(days=1)).status_code == 201  # warm
    with Statements() as cin:
        r = scan("check_in", start)
    assert r.status_code == 201, r.json
    with Statements() as cout:
        r = scan(
            "check_out", start + timedelta(minutes=40), services=[{"code": "meal", "quantity": 1}]
        )
    assert r.status_code == 201, r.json
    assert r.json["status"] == "completed" and r.json["subsidised"] == "30.00"
    if os.environ.get("SHOW_SQL"):
        for name, s in (("check-in", cin), ("check-out", cout)):
            print(f"\n--- {name}: {len(s.sql)}")
            print("\n".join(s.sql))
    assert len(cin.sql) <= CHECK_IN, cin.sql
    assert len(cout.sql) <= CHECK_OUT, cout.sql
