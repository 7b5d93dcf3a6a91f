"""What a scan leaves in the audit log (issue 15: a scan made cheaper writes the same
entries): the new visit, its services, the debit and the visit's changes in the order and
shape they always had, also when a flag is found after the visit is written (an overlap
at check-in, a suspect card) or on another visit (worker_overlap at a check-out)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.models.audit import AuditEntry
from tests import factories as f

from .conftest import HOME, elder, enrol, iso, now

MEAL = [{"code": "meal", "quantity": 1}]


class Log:
    """The audit entries written since the last call, as (action, entity, id, changes)."""

    def __init__(self) -> None:
        self.top = db.session.scalar(sa.select(sa.func.max(AuditEntry.id))) or 0

    def new(self) -> list[tuple[str, str, str | None, dict]]:
        rows = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.id > self.top).order_by(AuditEntry.id)
        ).all()
        self.top = max([self.top, *(e.id for e in rows)])
        return [(e.action, e.entity, e.entity_id, e.changes) for e in rows]


def _scanner(client, world):
    headers = f.headers(world.worker)

    def scan(enrolment, kind, at, **kw):
        from homecare import cards

        body = {
            "qr": cards.url(enrolment),
            "kind": kind,
            "at": iso(at),
            "client_id": str(uuid.uuid4()),
            "lat": HOME[0],
            "lng": HOME[1],
            **kw,
        }
        r = client.post("/api/v1/homecare/scans", json=body, headers=headers)
        assert r.status_code == 201, r.json
        return r.json

    return scan


def test_a_check_in_and_its_check_out_are_logged_as_before(client, world):
    scan, log, start = _scanner(client, world), Log(), now() - timedelta(hours=2)
    visit = scan(world.enrolment, "check_in", start)
    [(action, entity, _id, created)] = log.new()
    assert (action, entity) == ("create", "visits")
    assert created["id"] == visit["id"] and created["status"] == "open"
    assert created["exceptions"] == [] and created["distance_m"] == 0
    scan(world.enrolment, "check_out", start + timedelta(minutes=40), services=MEAL)
    entries = log.new()
    assert [(a, e) for a, e, _i, _c in entries] == [
        ("create", "visit_services"),
        ("create", "ledger_entries"),
        ("update", "visits"),
        ("update", "visits"),
    ]
    assert entries[1][3]["amount"] == "-30.00" and entries[1][3]["kind"] == "visit_debit"
    assert sorted(entries[2][3]) == ["amount", "check_out_at", "self_paid"]
    assert entries[3][3] == {
        "status": ["open", "completed"],
        "subsidised": ["0.00", "30.00"],
        "self_paid": ["30.00", "0.00"],
    }


def test_flags_found_after_the_visit_is_written_are_its_change(client, world):
    """Three elders' cards from one spot within minutes: the second overlaps the first,
    the third overlaps and is suspect; each flag is a change of the visit just created,
    one entry each."""
    scan, start = _scanner(client, world), now() - timedelta(hours=3)
    others = [enrol(elder(n), world.provider) for n in ("张桂兰", "刘淑珍")]
    scan(world.enrolment, "check_in", start)
    log = Log()
    scan(others[0], "check_in", start + timedelta(minutes=2))
    (_a, _e, _i, created), (action, entity, _id, changes) = log.new()
    assert created["exceptions"] == [] and (action, entity) == ("update", "visits")
    assert changes == {"exceptions": [[], ["worker_overlap"]]}
    scan(others[1], "check_in", start + timedelta(minutes=4))
    assert [c for _a, _e, _i, c in log.new()][1:] == [
        {"exceptions": [[], ["worker_overlap"]]},
        {"exceptions": [["worker_overlap"], ["worker_overlap", "suspect_card"]]},
    ]


def test_a_check_out_flags_a_visit_begun_while_it_was_open(client, world):
    """A check-in sent late (the phone was offline): the visit the worker began at
    another home meanwhile, already completed, is flagged by this one's check-out."""
    scan, start = _scanner(client, world), now() - timedelta(hours=3)
    other = enrol(elder("张桂兰"), world.provider)
    begun = scan(other, "check_in", start + timedelta(minutes=5))
    scan(other, "check_out", start + timedelta(minutes=30), services=MEAL)
    scan(world.enrolment, "check_in", start)
    log = Log()
    scan(world.enrolment, "check_out", start + timedelta(minutes=40), services=MEAL)
    entries = log.new()
    assert (
        "update",
        "visits",
        str(begun["id"]),
        {"status": ["completed", "flagged"], "exceptions": [[], ["worker_overlap"]]},
    ) in entries, entries
