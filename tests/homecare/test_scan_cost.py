"""What one scan costs the database: statements per check-in and per check-out stay few
and do not grow with the data (issue 15: a scan is cheap)."""

from __future__ import annotations

import os
from datetime import timedelta

import sqlalchemy as sa

from eldercare.extensions import db

from .conftest import now, scan


class Statements:
    def __init__(self) -> None:
        self.sql: list[str] = []

    def __enter__(self):
        sa.event.listen(db.engine, "before_cursor_execute", self._one)
        return self

    def __exit__(self, *exc):
        sa.event.remove(db.engine, "before_cursor_execute", self._one)

    def _one(self, _conn, _cursor, statement, *_a, **_kw) -> None:
        self.sql.append(" ".join(statement.split())[:160])


def test_a_scan_sends_few_statements(client, world):
    start = now() - timedelta(hours=2)
    scan(client, world.worker, world.qr, "check_in", at=start - timedelta(days=1))  # warm
    with Statements() as cin:
        r = scan(client, world.worker, world.qr, "check_in", at=start)
    assert r.status_code == 201, r.json
    with Statements() as cout:
        r = scan(
            client,
            world.worker,
            world.qr,
            "check_out",
            at=start + timedelta(minutes=40),
            services=[{"code": "meal", "quantity": 1}],
        )
    assert r.status_code == 201, r.json
    if os.environ.get("SHOW_SQL"):
        for name, s in (("check-in", cin), ("check-out", cout)):
            print(f"\n--- {name}: {len(s.sql)}")
            print("\n".join(s.sql))
