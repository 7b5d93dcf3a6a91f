"""JSON shapes of dynamic management (API.md "Comparison with other departments")."""

from __future__ import annotations

from eldercare.idnumbers import mask

from .models import Comparison, ComparisonRow, Proposal, Review, Termination
from .services import effects_of
from .wubao import ASSESSMENT_ITEMS


def comparison_json(c: Comparison) -> dict:
    return {
        "id": c.id,
        "kind": c.kind.value,
        "source": c.source,
        "filename": c.filename,
        "uploaded_at": c.uploaded_at,
        "rows": c.rows,
        "matched": c.matched,
        "unmatched": c.unmatched,
        "ambiguous": c.ambiguous,
        "proposals": c.proposal_count,
    }


def row_json(r: ComparisonRow) -> dict:
    """A row of another department's list: the ID number masked for everyone."""
    return {
        "row": r.row,
        "name": r.name,
        "id_number": mask(r.id_number),
        "date": r.date,
        "monthly_amount": None if r.monthly_amount is None else f"{r.monthly_amount:.2f}",
        "result": r.result.value,
        "reason": r.reason,
        "person_id": r.person_id,
    }


def proposal_json(p: Proposal) -> dict:
    return {
        "id": p.id,
        "person_id": p.person_id,
        "kind": p.kind.value,
        "date": p.date,
        "effects": effects_of(p),
        "status": p.status.value,
        "comparison_id": p.comparison_id,
        "source_kind": p.comparison.kind.value,
        "name": p.person.name,
        "monthly_amount": None if p.monthly_amount is None else f"{p.monthly_amount:.2f}",
        "decided_at": p.decided_at,
        "reason": p.reason or None,
    }


def review_json(r: Review) -> dict:
    return {
        "id": r.id,
        "person_id": r.person_id,
        "support_id": r.support_id,
        "trigger": r.trigger.value,
        "status": r.status.value,
        "due": r.due,
        "opened_on": r.opened_on,
        "done_on": r.done_on,
        "assessment": {k: getattr(r, k) for k in ASSESSMENT_ITEMS},
        "care_level": r.care_level.value if r.care_level else None,
        "outcome": r.outcome.value if r.outcome else None,
        "termination_reason": r.termination_reason.value if r.termination_reason else None,
        "next_due": r.support.review_due if r.support.end_date is None else None,
        "notes": r.notes,
    }


def termination_json(t: Termination) -> dict:
    """For the notice and its API: no ID number."""
    return {
        "id": t.id,
        "person_id": t.person_id,
        "name": t.person.name,
        "reason": t.reason.value,
        "effective_on": t.effective_on,
        "payment_end": t.payment_end,
        "decided_on": t.decided_on,
        "notice_until": t.notice_until,
        "township_code": t.township_code,
        "village_code": t.village_code,
        "source": t.source,
    }
