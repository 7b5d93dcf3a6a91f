"""Visits: check-in and check-out scans, manual visits, and the exceptions they raise.

A scan is idempotent on (user, client_id) (idempotency.py: the Scan row is written in the
same transaction as its effect, so a repeat finds it and changes nothing); its services are
priced by visit_prices.py.
Exceptions are recorded on the visit as they happen; only a forged or revoked card
(InvalidCard), another provider's elder (403) and malformed input are refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare import faults
from eldercare.database import to_money, utcnow
from eldercare.errors import Conflict, Forbidden, Invalid
from eldercare.extensions import db
from eldercare.models import Role, User
from eldercare.timeutil import to_local

from . import cards, flags, lean, ledger
from .idempotency import claim_scan, link_scan, request_hash
from .models import (
    Enrolment,
    ScanKind,
    Unit,
    Visit,
    VisitStatus,
)
from .visit_prices import price_services

#: Separation of duties (issue 14): a provider account manages, a worker account scans;
#: the scan pages, the scan API and the menu let workers only.
SCANNERS = (Role.WORKER,)
#: Why a scan came without the phone's position; the worker's page asks before it sends.
NO_LOCATION_REASONS = {
    "denied": "定位被拒绝",
    "no_signal": "无信号",
    "no_gps": "手机无定位",
    "other": "其他",
}

MANUAL_REASONS = {
    "card_lost": "服务卡遗失",
    "card_damaged": "服务卡损坏",
    "camera_failed": "手机无法扫码",
    "no_phone": "未带手机",
    "other": "其他",
}


@dataclass
class ScanInput:
    qr: str
    kind: str  # check_in | check_out
    at: datetime
    client_id: str
    lat: float | None = None
    lng: float | None = None
    services: list[tuple[str, Decimal]] | None = None
    raw: dict = field(default_factory=dict)  # the request body, for the idempotency hash
    no_location_reason: str | None = None  # NO_LOCATION_REASONS, when lat/lng are missing
    enrolment: Enrolment | None = None  # the card, when the caller resolved it already

    @property
    def located(self) -> bool:
        return (
            self.lat is not None
            and self.lng is not None
            and math.isfinite(self.lat)
            and math.isfinite(self.lng)
        )


# --- the scan ----------------------------------------------------------------------------


def _check_scope(user: User, enrolment: Enrolment) -> None:
    if enrolment.provider_id != user.provider_id:
        raise Forbidden(_l("该老人由其他服务组织服务"), code="other_provider")


def scan(user: User, data: ScanInput) -> Visit:
    """Record a check-in or check-out scan by `user` (a worker: provider accounts manage
    and do not scan, which the pages and the API refuse by role).

    Raises InvalidCard (422), Forbidden (another provider's elder), Invalid (bad
    services, times or reason code), Conflict (no open visit to check out, a visit
    already open). Changes: a new or completed visit, its services, a debit from the
    elder's ledger, the Scan idempotency row. Flags besides check_in's and check_out's:
    no_location (with its reason), late_upload."""
    received = utcnow()
    enrolment = data.enrolment or cards.resolve(data.qr)
    _check_scope(user, enrolment)
    reason = data.no_location_reason or ""
    if reason and reason not in NO_LOCATION_REASONS:
        raise Invalid(_l("未知的未定位原因"), fields={"no_location_reason": _l("未知的原因代码")})
    lat, lng = (data.lat, data.lng) if data.located else (None, None)
    body_hash = request_hash(data.raw)
    if data.kind == "check_in":
        scan_row = claim_scan(user, data.client_id, body_hash, ScanKind.CHECK_IN)
        visit = check_in(user, enrolment, data.at, lat, lng)
        _presence(visit, data, received, reason)
    else:
        if data.services is None:
            raise Invalid(_l("结束服务须选择服务项目"), fields={"services": _l("必填")})
        scan_row = claim_scan(user, data.client_id, body_hash, ScanKind.CHECK_OUT)
        visit = _open_visit(user, enrolment, data.at)
        _presence(visit, data, received, reason)  # before check_out decides the status
        check_out(visit, data.at, data.services, lat, lng)
    db.session.flush()
    link_scan(scan_row, visit)
    return visit


def _presence(visit: Visit, data: ScanInput, received: datetime, reason: str) -> None:
    """Where and when the phone was: no_location (the first reason given is kept) and
    late_upload (the scan's own time, kept by the offline queue, against arrival)."""
    if not data.located:
        visit.flag("no_location")
        if reason and not visit.no_location_reason:
            visit.no_location_reason = reason
    if received - data.at > flags.LATE_UPLOAD:
        visit.flag("late_upload")


def _open_visit(user: User, enrolment: Enrolment, at: datetime) -> Visit:
    """The visit a check-out closes, locked (PostgreSQL) so that the stale-visit job
    cannot close it under the check-out, nor the check-out reopen one the job closed."""
    visit = db.session.scalar(
        sa.select(Visit)
        .where(
            Visit.worker_id == user.id,
            Visit.enrolment_id == enrolment.id,
            Visit.status == VisitStatus.OPEN,
        )
        .order_by(Visit.check_in_at.desc())
        .limit(1)
        .with_for_update(of=Visit)
        .options(*lean.VISIT)
    )
    if visit is None:
        raise Conflict(_l("没有进行中的服务：请先扫码开始服务"), code="no_open_visit")
    if at < visit.check_in_at:
        raise Invalid(_l("结束时间早于开始时间"), fields={"at": _l("早于开始时间")})
    return visit


def check_in(
    user: User,
    enrolment: Enrolment,
    at: datetime,
    lat: float | None = None,
    lng: float | None = None,
    *,
    manual: bool = False,
) -> Visit:
    """Open a visit at `at`. Raises Conflict if this worker already has this elder's
    visit open. Flags: future_time, deceased, not_enrolled, far_from_home,
    no_home_point, worker_overlap, suspect_card."""
    if not manual and db.session.scalar(
        sa.select(Visit.id).where(
            Visit.worker_id == user.id,
            Visit.enrolment_id == enrolment.id,
            Visit.status == VisitStatus.OPEN,
            Visit.check_in_at > at - flags.OPEN_VISIT_WINDOW,
        )
    ):
        raise Conflict("该老人的服务已在进行中，请结束服务", code="visit_open")
    visit = Visit(
        enrolment=enrolment,
        enrolment_id=enrolment.id,
        provider_id=enrolment.provider_id,
        worker_id=user.id,
        check_in_at=at,
        status=VisitStatus.OPEN,
        amount=Decimal("0.00"),
        subsidised=Decimal("0.00"),
        self_paid=Decimal("0.00"),
        lat=lat,
        lng=lng,
        manual=manual,
        exceptions=[],
        services=[],
    )  # none yet: nothing to load
    db.session.add(visit)
    if at > utcnow() + flags.CLOCK_TOLERANCE:
        visit.flag("future_time")
    for code in flags.status_exceptions(enrolment, at):
        visit.flag(code)
    flags.place(visit, lat, lng)
    db.session.flush()
    if flags.overlapping_before(visit):
        visit.flag("worker_overlap")
    if lat is not None and lng is not None and flags.suspect(visit):
        visit.flag("suspect_card")
    db.session.flush()
    return visit


def check_out(
    visit: Visit,
    at: datetime,
    picked: list[tuple[str, Decimal]],
    lat: float | None = None,
    lng: float | None = None,
) -> Visit:
    """Close `visit` at `at` with the services picked: price them, debit the subsidised
    part (never more than the balance; none for a deceased or unenrolled elder), the rest
    self-paid. Flags: too_short, quantity_exceeds_time, far_from_home, no_home_point,
    future_time, deceased, not_enrolled, and worker_overlap on this worker's later visits."""
    if not picked:
        raise Invalid(_l("请至少选择一项服务"), fields={"services": _l("至少一项")})
    with db.session.no_autoflush:  # the visit's changes go out together, not per query
        _close(visit, at, picked, lat, lng)
    db.session.flush()
    return visit


def _close(
    visit: Visit,
    at: datetime,
    picked: list[tuple[str, Decimal]],
    lat: float | None,
    lng: float | None,
) -> None:
    enrolment = visit.enrolment
    visit.check_out_at = at
    visit.services = price_services(to_local(visit.check_in_at).year, picked)
    if at > utcnow() + flags.CLOCK_TOLERANCE:
        visit.flag("future_time")
    for code in flags.status_exceptions(enrolment, at):
        visit.flag(code)
    flags.place(visit, lat, lng)
    on_site = at - visit.check_in_at
    if on_site < flags.MIN_VISIT:
        visit.flag("too_short")
    hours = sum(
        (s.quantity for s in visit.services if getattr(s, "unit", None) == Unit.HOUR), Decimal(0)
    )
    if hours * 60 > Decimal(on_site.total_seconds()) / 60 + flags.HOURS_TOLERANCE_MIN:
        visit.flag("quantity_exceeds_time")
    later = db.session.scalars(
        sa.select(Visit).where(
            Visit.worker_id == visit.worker_id,
            Visit.id != visit.id,
            Visit.enrolment_id != visit.enrolment_id,
            Visit.check_in_at > visit.check_in_at,
            Visit.check_in_at < at,
        )
    )
    for other in later:
        other.flag("worker_overlap")
    amount = to_money(sum((s.amount for s in visit.services), Decimal(0)))
    visit.amount, visit.subsidised, visit.self_paid = amount, Decimal("0.00"), amount
    subsidised = Decimal("0.00")
    if not {"deceased", "not_enrolled"} & set(visit.exceptions or []):
        subsidised = ledger.debit(enrolment.id, visit.id, amount, at)
    faults.pause("scan-debited")  # tests only: the ledger debited, not yet committed
    visit.subsidised = subsidised
    visit.self_paid = amount - subsidised
    visit.status = VisitStatus.FLAGGED if visit.exceptions else VisitStatus.COMPLETED


def manual_visit(
    user: User,
    enrolment: Enrolment,
    check_in_at: datetime,
    check_out_at: datetime,
    picked: list[tuple[str, Decimal]],
    reason: str,
    note: str,
    client_id: str | None = None,
    raw: dict | None = None,
) -> Visit:
    """A visit logged by hand when the card is lost or damaged: marked `manual` with its
    reason code and note (and `late_upload` when logged more than 72 hours after it
    began), otherwise the same rules as scans. Raises Forbidden, Invalid."""
    _check_scope(user, enrolment)
    if reason not in MANUAL_REASONS:
        raise Invalid(_l("请选择补录原因"), fields={"reason": _l("未知的原因代码")})
    if not note.strip():
        raise Invalid(_l("请填写补录说明"), fields={"note": _l("必填")})
    if check_out_at < check_in_at:
        raise Invalid(_l("结束时间早于开始时间"), fields={"check_out_at": _l("早于开始时间")})
    scan_row: int | None = None
    if client_id:
        scan_row = claim_scan(user, client_id, request_hash(raw or {}), ScanKind.MANUAL)
    visit = check_in(user, enrolment, check_in_at, manual=True)
    visit.manual_reason, visit.manual_note = reason, note.strip()
    visit.flag("manual")
    if utcnow() - check_in_at > flags.LATE_UPLOAD:  # logged days afterwards, as a late scan
        visit.flag("late_upload")
    check_out(visit, check_out_at, picked)
    db.session.flush()
    if scan_row is not None:
        link_scan(scan_row, visit)
    return visit


def open_visit_of(user: User, enrolment: Enrolment) -> Visit | None:
    """The visit this worker has open at this elder's home now (for /v/<token>)."""
    return db.session.scalar(
        sa.select(Visit)
        .where(
            Visit.worker_id == user.id,
            Visit.enrolment_id == enrolment.id,
            Visit.status == VisitStatus.OPEN,
            Visit.check_in_at > utcnow() - flags.OPEN_VISIT_WINDOW,
        )
        .order_by(Visit.check_in_at.desc())
        .limit(1)
    )


# --- the hourly job -----------------------------------------------------------------------


def close_stale_visits(now: datetime | None = None) -> int:
    """Visits open longer than flags.OPEN_VISIT_WINDOW are closed, flagged `no_check_out`
    (nothing is debited: no services were recorded). Idempotent."""
    now = now or utcnow()
    # A visit being checked out right now is locked by its check-out: skip it (it will
    # not be open when the check-out commits). Without the lock the job's update would
    # overwrite the check-out and flag a finished visit no_check_out.
    stale = list(
        db.session.scalars(
            sa.select(Visit)
            .where(
                Visit.status == VisitStatus.OPEN, Visit.check_in_at < now - flags.OPEN_VISIT_WINDOW
            )
            .with_for_update(skip_locked=True, of=Visit)
        )
    )
    for visit in stale:
        visit.status = VisitStatus.FLAGGED
        visit.flag("no_check_out")
    db.session.flush()
    return len(stale)


def close_stale_visits_job(period: str | None = None) -> dict:
    """The `close-stale-visits` job: one run closes whatever is stale at that moment."""
    return {"closed": close_stale_visits()}
