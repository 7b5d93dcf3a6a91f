"""Visits: check-in and check-out scans, manual visits, and the exceptions they raise.

A scan is idempotent on (user, client_id): the Scan row is written in the same
transaction as its effect, so a repeat finds it and changes nothing (ENGINEERING.md).
Exceptions are recorded on the visit as they happen; only a forged or revoked card
(InvalidCard), another provider's elder (403) and malformed input are refused.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value

from eldercare import faults
from eldercare.database import is_postgres, table_of, to_money, utcnow
from eldercare.errors import Conflict, Forbidden, Invalid
from eldercare.extensions import db
from eldercare.models import Role, User
from eldercare.timeutil import to_local

from . import cards, flags, lean, ledger
from .models import (
    Enrolment,
    Scan,
    ScanKind,
    Service,
    Unit,
    Visit,
    VisitService,
    VisitStatus,
)

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


def request_hash(body: dict) -> str:
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()


# --- idempotency ------------------------------------------------------------------------


def replay(user: User, client_id: str, body_hash: str) -> Visit | None:
    """The visit of an earlier scan with this client_id, or None for a new one.
    Raises Conflict when the same client_id came with another body."""
    scan = db.session.scalar(
        sa.select(Scan).where(Scan.user_id == user.id, Scan.client_id == client_id)
    )
    if scan is None:
        return None
    if scan.request_hash != body_hash:
        raise Conflict(_l("该 client_id 已用于另一次扫码"), code="client_id_reused")
    return db.session.get(Visit, scan.visit_id)


def once(
    user: User, client_id: str | None, raw: dict, work: Callable[[], Visit]
) -> tuple[Visit, bool]:
    """The one rule for a repeated scan or hand-logged visit, whichever page or endpoint
    it came from: the visit of an earlier request of `user` with this client_id and
    False; else `work()` (scan or manual_visit) and True. The Scan row is claimed first,
    before anything is read or written (`INSERT … ON CONFLICT DO NOTHING`, one statement
    where a look-up and an insert were two): a new client_id gets its row and the work
    runs; a known one, or a twin sent at the same moment that got there first (on
    PostgreSQL the claim waits for the twin's commit), leaves it without a row, and the
    earlier visit is answered. Without a client_id, work() simply runs. Raises Conflict
    (client_id_reused: the same client_id with another body) and what work() raises,
    after which the caller rolls back (the claim with the rest). Flushes, never commits."""
    if not client_id:
        return work(), True
    body_hash = request_hash(raw)
    try:
        scan_id = _claim(user, client_id, body_hash, _kind_of(raw))
    except _Twin:
        earlier = replay(user, client_id, body_hash)
        if earlier is None:  # the row without its visit: not one of ours
            raise Conflict(_l("该 client_id 已用于另一次扫码"), code="client_id_reused") from None
        return earlier, False
    claims = db.session.info.setdefault(_CLAIMED, {})
    claims[(user.id, client_id)] = scan_id
    try:
        return work(), True
    finally:
        claims.pop((user.id, client_id), None)


class _Twin(Exception):
    """The Scan row of this (user, client_id) is there already: a twin request's."""


#: session.info key: {(user id, client_id): Scan row id} that `once` claimed for the work
_CLAIMED = "homecare_scan_claims"


def _kind_of(raw: dict) -> ScanKind:
    """A scan's body names its kind; a hand-logged visit's does not."""
    kind = raw.get("kind")
    return ScanKind(kind) if kind in ("check_in", "check_out") else ScanKind.MANUAL


def _claim(user: User, client_id: str, body_hash: str, kind: ScanKind) -> int:
    """The Scan row, first thing in a scan's work (UNIQUE(user_id, client_id) decides a
    concurrent twin here, without an error that would need a savepoint); its id. Under
    `once`, the row it claimed already."""
    claimed = db.session.info.get(_CLAIMED, {}).pop((user.id, client_id), None)
    if claimed is not None:
        return claimed
    conn = db.session.connection()
    insert = (postgresql if is_postgres(conn) else sqlite).insert
    scans = table_of(Scan)
    scan_id = conn.execute(
        insert(scans)
        .values(
            user_id=user.id,
            client_id=client_id,
            request_hash=body_hash,
            kind=kind,
            received_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "client_id"])
        .returning(scans.c.id)
    ).scalar()
    if scan_id is None:
        raise _Twin
    return scan_id


def _made(scan_id: int, visit: Visit) -> None:
    """The Scan row points at the visit it made."""
    scans = table_of(Scan)
    db.session.execute(sa.update(scans).where(scans.c.id == scan_id).values(visit_id=visit.id))


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
        scan_row = _claim(user, data.client_id, body_hash, ScanKind.CHECK_IN)
        visit = check_in(user, enrolment, data.at, lat, lng)
        _presence(visit, data, received, reason)
    else:
        if data.services is None:
            raise Invalid(_l("结束服务须选择服务项目"), fields={"services": _l("必填")})
        scan_row = _claim(user, data.client_id, body_hash, ScanKind.CHECK_OUT)
        visit, overlapped = _open_visit(user, enrolment, data.at)
        _presence(visit, data, received, reason)  # before check_out decides the status
        check_out(visit, data.at, data.services, lat, lng, overlapped=overlapped)
    db.session.flush()
    _made(scan_row, visit)
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


_LATER = sa.orm.aliased(Visit, name="later")  # made once: an alias is costly to build


def _open_visit(user: User, enrolment: Enrolment, at: datetime) -> tuple[Visit, bool]:
    """The visit a check-out closes, locked (PostgreSQL) so that the stale-visit job
    cannot close it under the check-out, nor the check-out reopen one the job closed;
    and whether this worker began other elders' visits while it was open (flags.later),
    asked in the same statement."""
    row = db.session.execute(
        sa.select(Visit, sa.exists().where(*flags.later(_LATER, Visit, at)))
        .where(
            Visit.worker_id == user.id,
            Visit.enrolment_id == enrolment.id,
            Visit.status == VisitStatus.OPEN,
        )
        .order_by(Visit.check_in_at.desc())
        .limit(1)
        .with_for_update(of=Visit)
        .options(*lean.VISIT)
    ).first()
    if row is None:
        raise Conflict(_l("没有进行中的服务：请先扫码开始服务"), code="no_open_visit")
    visit, overlapped = row
    # none while open (only check-out sets them): known without asking (lean.VISIT)
    set_committed_value(visit, "services", [])
    if at < visit.check_in_at:
        raise Invalid(_l("结束时间早于开始时间"), fields={"at": _l("早于开始时间")})
    return visit, bool(overlapped)


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
    placed = lat is not None and lng is not None
    near = flags.around(user.id, enrolment.id, at, located=placed, open_check=not manual)
    if near.open:
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
    # Found before the visit was written (one statement), flagged after it, each as its
    # own change, as when each was its own query: the audit log shows them as before.
    if near.overlap:
        visit.flag("worker_overlap")
        db.session.flush()
    if near.suspect(lat, lng):
        visit.flag("suspect_card")
        db.session.flush()
    return visit


def _price_list(year: int) -> list[Service]:
    """services.catalogue(services.price_year(year)) in one statement."""
    applies = sa.select(sa.func.max(Service.year)).where(Service.year <= year).scalar_subquery()
    return list(
        db.session.scalars(
            sa.select(Service)
            .where(Service.year == sa.func.coalesce(applies, year))
            .order_by(Service.id)
        )
    )


def price_services(year: int, picked: list[tuple[str, Decimal]]) -> list[VisitService]:
    """Visit services priced from the year's catalogue. Raises Invalid for an unknown code,
    a quantity out of range or a fraction of a session or meal."""
    # Codes ignore case (the bureau's `JJ-01` is the phone's `jj-01`); a line keeps the
    # catalogue's spelling, which claims and statements match it by.
    by_code = {s.code.lower(): s for s in _price_list(year)}
    lines: dict[str, VisitService] = {}
    for picked_code, qty in picked:
        item = by_code.get(str(picked_code).lower())
        code = item.code if item is not None else picked_code
        if item is None:
            raise Invalid(
                _l("未知的服务项目：%(code)s", code=code),
                fields={"services": _l("未知的服务项目 %(code)s", code=code)},
            )
        try:
            qty = Decimal(str(qty))
        except ArithmeticError:
            qty = Decimal("NaN")
        # NaN and Infinity first: comparing a NaN raises instead of answering (a 500).
        if not qty.is_finite() or qty <= 0 or qty > 24 or qty != qty.quantize(Decimal("0.01")):
            raise Invalid(
                _l("服务数量有误"),
                fields={"services": _l("%(code)s 的数量须在 0 到 24 之间", code=code)},
            )
        if item.unit != Unit.HOUR and qty != qty.to_integral_value():
            raise Invalid(
                _l("按次计的服务须为整数"), fields={"services": _l("%(code)s 须为整数", code=code)}
            )
        qty = qty.quantize(Decimal("0.01"))
        if code in lines:
            lines[code].quantity += qty
            lines[code].amount = to_money(lines[code].quantity * item.price)
        else:
            lines[code] = VisitService(
                service_code=code,
                quantity=qty,
                unit_price=item.price,
                amount=to_money(qty * item.price),
            )
            lines[code].unit = item.unit  # type: ignore[attr-defined]  # not stored: for the time check below
    return list(lines.values())


def check_out(
    visit: Visit,
    at: datetime,
    picked: list[tuple[str, Decimal]],
    lat: float | None = None,
    lng: float | None = None,
    *,
    overlapped: bool = True,
) -> Visit:
    """Close `visit` at `at` with the services picked: price them, debit the subsidised
    part (never more than the balance; none for a deceased or unenrolled elder), the rest
    self-paid. Flags: too_short, quantity_exceeds_time, far_from_home, no_home_point,
    future_time, deceased, not_enrolled, and worker_overlap on this worker's later visits
    (looked for unless the caller knows there are none: `overlapped=False`)."""
    if not picked:
        raise Invalid(_l("请至少选择一项服务"), fields={"services": _l("至少一项")})
    with db.session.no_autoflush:  # the visit's changes go out together, not per query
        _close(visit, at, picked, lat, lng, overlapped)
    db.session.flush()
    return visit


def _close(
    visit: Visit,
    at: datetime,
    picked: list[tuple[str, Decimal]],
    lat: float | None,
    lng: float | None,
    overlapped: bool,
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
    if overlapped:
        for other in db.session.scalars(sa.select(Visit).where(*flags.later(Visit, visit, at))):
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
        scan_row = _claim(user, client_id, request_hash(raw or {}), ScanKind.MANUAL)
    visit = check_in(user, enrolment, check_in_at, manual=True)
    visit.manual_reason, visit.manual_note = reason, note.strip()
    visit.flag("manual")
    if utcnow() - check_in_at > flags.LATE_UPLOAD:  # logged days afterwards, as a late scan
        visit.flag("late_upload")
    check_out(visit, check_out_at, picked)
    db.session.flush()
    if scan_row is not None:
        _made(scan_row, visit)
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
