"""Home-care records as JSON (money as "300.00" strings, times with their offset)."""

from __future__ import annotations

from decimal import Decimal

from eldercare.idnumbers import mask

from . import cards
from .models import Enrolment, LedgerEntry, Provider, Service, Visit
from .services import Ledger


def provider_json(p: Provider) -> dict:
    return {
        "id": p.id,
        "name": p.name,
        "townships": p.township_codes,
        "contract_from": p.contract_from,
        "contract_to": p.contract_to,
        "phone": p.phone,
    }


def service_json(s: Service) -> dict:
    return {
        "id": s.id,
        "code": s.code,
        "name": s.name,
        "unit": s.unit.value,
        "price": s.price,
        "year": s.year,
    }


def ledger_totals(allocated: Decimal, spent: Decimal, balance: Decimal) -> dict:
    return {"allocated": allocated, "spent": spent, "balance": balance}


def enrolment_json(e: Enrolment, totals: tuple[Decimal, Decimal] | None = None) -> dict:
    allocated, spent = totals or (Decimal("0.00"), Decimal("0.00"))
    person = e.person
    return {
        "id": e.id,
        "person_id": e.person_id,
        "provider_id": e.provider_id,
        "year": e.year,
        "status": e.status.value,
        "enrolled_on": e.enrolled_on,
        "ended_on": e.ended_on,
        "end_reason": e.end_reason or None,
        "end_note": e.end_note or None,
        "transferred_from_id": e.transferred_from_id,
        "outside_reason": e.outside_reason or None,
        "frozen": e.end_reason == "withdrawn" and e.balance > 0,
        "card_serial": e.card_serial,
        "card_number": cards.short_number(e),
        "person": {
            "name": person.name,
            "id_number": mask(person.id_number),
            "township_code": person.township_code,
            "status": person.status.value,
        },
        "ledger": ledger_totals(allocated, spent, e.balance),
    }


def entry_json(x: LedgerEntry) -> dict:
    return {
        "id": x.id,
        "kind": x.kind.value,
        "amount": x.amount,
        "visit_id": x.visit_id,
        "at": x.at,
        "note": x.note,
    }


def ledger_json(e: Enrolment, led: Ledger) -> dict:
    return {
        "enrolment_id": e.id,
        **ledger_totals(led.allocated, led.spent, led.balance),
        "entries": [entry_json(x) for x in led.entries],
    }


def visit_json(v: Visit) -> dict:
    return {
        "id": v.id,
        "enrolment_id": v.enrolment_id,
        "provider_id": v.provider_id,
        "worker_id": v.worker_id,
        "status": v.status.value,
        "check_in_at": v.check_in_at,
        "check_out_at": v.check_out_at,
        "amount": v.amount,
        "subsidised": v.subsidised,
        "self_paid": v.self_paid,
        "exceptions": list(v.exceptions or []),
        "services": [
            {
                "code": s.service_code,
                "quantity": s.quantity,
                "unit_price": s.unit_price,
                "amount": s.amount,
            }
            for s in v.services
        ],
        "manual": v.manual,
        "manual_reason": v.manual_reason or None,
        "distance_m": v.distance_m,
        "no_location_reason": v.no_location_reason or None,
    }
