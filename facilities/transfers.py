"""Transfers between homes: the sending manager asks, the bureau decides once
(a conditional update), and an approval moves the resident in the same transaction."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare import audit
from eldercare.database import insert_or_raise, rowcount
from eldercare.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.models import User

from .guards import check_day, check_own_facility, require_open
from .models import Bed, Stay, TransferRequest, TransferStatus
from .stays import transfer


def request_transfer(
    stay: Stay, bed: Bed, on: date, user: User | None = None, reason: str = ""
) -> TransferRequest:
    """The sending manager asks to move a resident to another home's bed; the bureau
    decides. Raises Invalid (same home: transfer directly), Conflict (one pending)."""
    check_own_facility(user, stay.facility_id)
    require_open(stay)
    if bed.facility_id == stay.facility_id:
        raise Invalid(_l("同一机构内请直接转床"), fields={"bed_id": _l("请选择其他机构的床位")})
    check_day(on, "date", stay.start_date)
    req = TransferRequest(
        stay_id=stay.id,
        to_bed_id=bed.id,
        on_date=on,
        reason=reason or "",
        requested_by=user.id if user else None,
    )
    insert_or_raise(req, Conflict(_l("已有待审批的转院申请"), code="transfer_pending"))
    return req


def _decide(req: TransferRequest, status: TransferStatus, user: User | None, note: str) -> None:
    from eldercare.database import utcnow

    result = db.session.execute(
        sa.update(TransferRequest)
        .where(TransferRequest.id == req.id, TransferRequest.status == TransferStatus.PENDING)
        .values(
            status=status,
            decided_by=user.id if user else None,
            decided_at=utcnow(),
            decision_note=(note or "")[:200],
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise Conflict(_l("该申请已处理"), code="already_decided")
    audit.record(f"transfer_{status.value}", "transfer_requests", req.id, {"note": note or ""})


def approve_transfer(req: TransferRequest, user: User | None = None, note: str = "") -> Stay:
    """The bureau approves: the request is decided once (conditional update) and the
    transfer happens in the same transaction; if it cannot, nothing is decided."""
    _decide(req, TransferStatus.APPROVED, user, note)
    stay = db.session.get_one(Stay, req.stay_id)
    new = transfer(stay, db.session.get_one(Bed, req.to_bed_id), req.on_date, None)
    db.session.refresh(req)
    req.new_stay_id = new.id
    db.session.flush()
    return new


def reject_transfer(req: TransferRequest, user: User | None = None, note: str = "") -> None:
    """The bureau rejects the request (once)."""
    _decide(req, TransferStatus.REJECTED, user, note)
    db.session.refresh(req)
