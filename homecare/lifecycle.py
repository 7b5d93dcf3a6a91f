"""An enrolment's life after it is typed in (issue 17.4, API.md "Lifecycles"): the day it
counts from (`enrolled_on`, for paperwork that arrives late), a withdrawal (退出), and a
change of provider mid-year (变更服务组织). Services: plain arguments, domain errors,
flush, never commit.

Days: an enrolment covers its visits from `enrolled_on` up to the day before
`ended_on`; "ended from D" means D is the first day not covered (flags.status_exceptions
and claims reconciliation read it so). A change of provider on D ends the old enrolment
from D and starts the new one on D: each visit belongs to exactly one of them.

What must never happen is held by the database: the end is a conditional UPDATE (still
active?) checked by its row count, so two withdrawals or transfers of one enrolment at
once end it once; the new enrolment's `transferred_from_id` is unique and at most one
enrolment per elder and year is active (a partial unique index); the balance moves
through ledger.move, whose entries are unique per enrolment.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare import audit
from eldercare.database import rowcount, utcnow
from eldercare.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.models import User
from eldercare.timeutil import local_midnight_utc, local_today

from . import ledger
from .models import Enrolment, EnrolmentStatus, Provider, Visit, VisitStatus

WITHDRAWN = "withdrawn"
TRANSFERRED = "transferred"
END_REASONS = {
    WITHDRAWN: _l("退出"),
    TRANSFERRED: _l("变更服务组织"),
    "deceased": _l("已故"),
    "moved": _l("迁出"),
    "year_end": _l("年度结束"),
}

_END = sa.text(
    "UPDATE enrolments SET status = 'ended', ended_on = :on, end_reason = :reason, "
    "end_note = :note WHERE id = :id AND status = 'active'"
)


def enrolled_on(year: int, on: date | None, today: date | None = None) -> date:
    """The day an enrolment of `year` counts from: `on` as given, else today (1 January
    for a past year, or for a year to come). Raises Invalid for a day outside the year
    or in the future."""
    today = today or local_today()
    if on is None:
        return today if today.year == year else date(year, 1, 1)
    if on.year != year:
        raise Invalid(
            _l("登记日期须在 %(year)s 年内", year=year),
            fields={"enrolled_on": _l("须在 %(year)s 年内", year=year)},
        )
    if on > today:
        raise Invalid(_l("登记日期不能晚于今天"), fields={"enrolled_on": _l("不能晚于今天")})
    return on


def _end_day(enrolment: Enrolment, on: date, field: str = "date") -> date:
    """`on` checked as the day an enrolment ends from: within its year, not before it
    began, not in the future. Raises Invalid, or Conflict when it has ended already."""
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise Conflict(_l("该服务登记已终止"), code="already_ended")
    if on.year != enrolment.year:
        raise Invalid(
            _l("日期须在 %(year)s 年内", year=enrolment.year),
            fields={field: _l("须在 %(year)s 年内", year=enrolment.year)},
        )
    if on > local_today():
        raise Invalid(_l("日期不能晚于今天"), fields={field: _l("不能晚于今天")})
    if on < enrolment.enrolled_on:
        raise Invalid(
            _l("日期不能早于登记日期 %(d)s", d=enrolment.enrolled_on.isoformat()),
            fields={field: _l("不能早于登记日期")},
        )
    return on


def _end(enrolment: Enrolment, on: date, reason: str, note: str) -> None:
    """End `enrolment` from `on`, once: a conditional UPDATE that a concurrent end (or
    death, or year end) makes touch no row. Raises Conflict (already_ended)."""
    # The audit chain's lock first, as every audited write takes it, before the row:
    # the order a check-out takes them in (audit.lock_chain).
    audit.lock_chain()
    done = db.session.execute(
        _END, {"id": enrolment.id, "on": on, "reason": reason, "note": note[:200]}
    )
    if rowcount(done) != 1:
        raise Conflict(_l("该服务登记已终止"), code="already_ended")
    db.session.refresh(enrolment)


def _give_back_from(enrolment: Enrolment, on: date) -> int:
    """Visits of `enrolment` from `on` (typed in before the end was) draw nothing: each
    is flagged not_enrolled (claims reject it) and what it drew goes back to the ledger
    (ledger.credit: a reversal entry; the visit keeps what it drew on record, as a
    call-back's `not_delivered` leaves it). Returns how many visits were given back."""
    given = 0
    for visit in db.session.scalars(
        sa.select(Visit)
        .where(Visit.enrolment_id == enrolment.id, Visit.check_in_at >= local_midnight_utc(on))
        .order_by(Visit.id)
    ):
        visit.flag("not_enrolled")
        if visit.subsidised > 0:
            ledger.credit(
                enrolment.id, visit.id, visit.subsidised, "服务日期在退出或变更之后，退回补贴"
            )
            given += 1
    db.session.flush()
    return given


def withdraw(user: User, enrolment: Enrolment, on: date, reason: str) -> Enrolment:
    """The elder leaves home care from `on` (退出): the enrolment ends from that day, its
    card works for no later visit, and what is left of the balance stays in the ledger,
    frozen (shown as such; never drawn again). Visits from `on` already logged are
    flagged not_enrolled and their subsidy given back to the ledger.

    Raises Invalid (no reason, a day outside the year, before the enrolment, in the
    future), Conflict (ended already, also by a concurrent request). Changes: the
    enrolment's status, ended_on, end_reason, end_note; those visits and the ledger;
    audited."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("请填写退出原因"), fields={"reason": _l("必填")})
    _end_day(enrolment, on)
    _end(enrolment, on, WITHDRAWN, reason)
    given = _give_back_from(enrolment, on)
    db.session.refresh(enrolment, ["balance"])
    audit.record(
        "enrolment_withdrawn",
        "enrolments",
        enrolment.id,
        {
            "date": on.isoformat(),
            "reason": reason[:200],
            "by": user.username,
            "balance_kept": f"{enrolment.balance:.2f}",
            "visits_given_back": given,
        },
    )
    return enrolment


def transfer(user: User, enrolment: Enrolment, provider: Provider, on: date) -> Enrolment:
    """The elder changes provider from `on` (变更服务组织): the old enrolment ends from
    that day and its card stops working; a new enrolment with `provider` starts on it,
    with a new card, and the whole balance moves to it through the ledger, in this one
    transaction. Visits of the old enrolment from `on` are given back first.

    Raises Invalid (the same provider, a day outside the year, before the enrolment, in
    the future), Conflict (ended already, also by a concurrent transfer: one wins; a
    visit still open). Returns the new enrolment. Changes: both enrolments, their ledgers;
    audited."""
    if provider.id == enrolment.provider_id:
        raise Invalid(
            _l("新的服务组织与原服务组织相同"), fields={"provider_id": _l("须为另一家服务组织")}
        )
    _end_day(enrolment, on)
    if db.session.scalar(
        sa.select(Visit.id).where(
            Visit.enrolment_id == enrolment.id, Visit.status == VisitStatus.OPEN
        )
    ):
        raise Conflict(_l("该老人有进行中的服务，请服务结束后再变更服务组织"), code="visit_open")
    _end(enrolment, on, TRANSFERRED, "")
    given = _give_back_from(enrolment, on)
    new = Enrolment(
        person_id=enrolment.person_id,
        provider_id=provider.id,
        year=enrolment.year,
        status=EnrolmentStatus.ACTIVE,
        enrolled_on=on,
        card_serial=1,
        balance=Decimal("0.00"),
        transferred_from_id=enrolment.id,
    )
    db.session.add(new)
    db.session.flush()
    # Moved now (after any visit given back just above), whatever day it counts from.
    moved = ledger.move(
        enrolment.id, new.id, utcnow(), f"{enrolment.year} 年补贴余额随变更服务组织转移"
    )
    db.session.refresh(new, ["balance"])
    db.session.refresh(enrolment, ["balance"])
    audit.record(
        "enrolment_transferred",
        "enrolments",
        enrolment.id,
        {
            "date": on.isoformat(),
            "to_enrolment": new.id,
            "by": user.username,
            "from_provider": enrolment.provider_id,
            "to_provider": provider.id,
            "moved": f"{moved:.2f}",
            "visits_given_back": given,
        },
    )
    return new


def frozen(enrolment: Enrolment) -> bool:
    """A withdrawn enrolment's balance: kept in the ledger, never drawn again."""
    return enrolment.end_reason == WITHDRAWN and enrolment.balance > 0
