"""特困 support: termination (认定办法 art. 24) with payment stopping from the following
month and the 7-day public notice, and the review with the six-item self-care
assessment. Functions flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare import selfcare
from eldercare.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.models import Category, Person, PersonStatus, WubaoSupport
from eldercare.people import services as people
from eldercare.templating import LABELS
from eldercare.timeutil import Month, local_today

from .models import (
    Review,
    ReviewOutcome,
    ReviewStatus,
    ReviewTrigger,
    Termination,
    TerminationReason,
)

NOTICE_DAYS = 7
# the six items and their care level are the core's (eldercare/selfcare.py), shared with
# intake's township check
ASSESSMENT_ITEMS = selfcare.ITEMS
# The art. 24 reasons in words (translated): one list, kept with the other labels.
REASON_LABELS = LABELS["support_end"]
# Reasons a clerk may choose by hand; a death goes through record_death (features end
# stays and enrolments), a move through record_move.
MANUAL_REASONS = ("work_ability", "imprisoned", "income_assets", "supporter_able", "voluntary")


def month_end(day: date) -> date:
    return Month.of(day).last


def payment_end(effective_on: date) -> date:
    """Payments stop from the month after the termination: the last day paid is the end
    of its month (认定办法: 自次月起停发)."""
    return month_end(effective_on)


def next_review_due(on: date) -> date:
    return date(on.year + 1, on.month, min(on.day, 28))


def _record(
    person: Person,
    support: WubaoSupport,
    reason: TerminationReason,
    on: date,
    source: str,
    notes: str = "",
    proposal_id: int | None = None,
    review_id: int | None = None,
) -> Termination:
    decided = max(local_today(), on)
    t = Termination(
        person_id=person.id,
        support_id=support.id,
        reason=reason,
        effective_on=on,
        payment_end=payment_end(on),
        decided_on=decided,
        notice_until=decided + timedelta(days=NOTICE_DAYS - 1),
        township_code=person.township_code,
        village_code=person.village_code,
        source=source,
        notes=notes[:200],
        proposal_id=proposal_id,
        review_id=review_id,
    )
    db.session.add(t)
    return t


def termination_of(support_id: int) -> Termination | None:
    return db.session.scalar(sa.select(Termination).where(Termination.support_id == support_id))


def on_person_left(person: Person, on: date, reason: str) -> Termination | None:
    """Receiver side of person_died / person_moved: the core ended the support that day;
    record its termination (payment end, notice). Flush only."""
    support = db.session.scalar(
        sa.select(WubaoSupport)
        .where(
            WubaoSupport.person_id == person.id,
            WubaoSupport.end_reason == reason,
            WubaoSupport.end_date.is_not(None),
        )
        .order_by(WubaoSupport.end_date.desc(), WubaoSupport.id.desc())
        .limit(1)
    )
    if support is None or termination_of(support.id) is not None:
        return None
    t = _record(person, support, TerminationReason(reason), support.end_date or on, reason)
    _close_open_reviews(support)
    db.session.flush()
    return t


def _on_death(person: Person, on: date, **_kw) -> None:
    on_person_left(person, on, "death")


def _on_move(person: Person, on: date, **_kw) -> None:
    on_person_left(person, on, "moved")


def _close_open_reviews(support: WubaoSupport) -> None:
    for r in db.session.scalars(
        sa.select(Review).where(Review.support_id == support.id, Review.status == ReviewStatus.OPEN)
    ):
        r.status, r.done_on = ReviewStatus.DONE, support.end_date
        r.outcome = ReviewOutcome.TERMINATE
        r.notes = (r.notes + " 供养已终止").strip()


def terminate(
    person: Person,
    reason: str,
    on: date,
    *,
    source: str = "manual",
    notes: str = "",
    review_id: int | None = None,
    proposal_id: int | None = None,
) -> Termination:
    """End a person's open 特困 support for an art. 24 reason other than death (which
    is recorded with people.services.record_death). Payment stops from the following
    month; the termination goes on the township's 7-day notice. Raises Invalid for an
    unknown reason or a date in the future, Conflict when there is no open support."""
    if reason not in MANUAL_REASONS:
        raise Invalid(_l("终止原因无效"), fields={"reason": _l("请选择认定办法第二十四条所列原因")})
    if on > local_today():
        raise Invalid(_l("终止日期不能晚于今天"), fields={"date": _l("不能晚于今天")})
    support = person.current_support
    if support is None or person.status != PersonStatus.ACTIVE:
        raise Conflict(_l("此人没有正在享受的特困供养"), code="no_open_support")
    if on < support.start_date:
        raise Invalid(_l("终止日期早于供养开始日期"), fields={"date": _l("早于供养开始日期")})
    people.end_wubao(person, on, reason)
    for pc in list(person.categories):
        if pc.category == Category.TEKUN:
            person.categories.remove(pc)
    t = _record(
        person,
        support,
        TerminationReason(reason),
        on,
        source,
        notes,
        proposal_id=proposal_id,
        review_id=review_id,
    )
    if review_id is None:
        _close_open_reviews(support)
    db.session.flush()
    return t


# --- reviews --------------------------------------------------------------------------


def open_review(
    support: WubaoSupport, trigger: str, *, proposal_id: int | None = None, notes: str = ""
) -> Review:
    """Open a special review (专项复核) of a support, e.g. for income above the line.
    Raises Conflict when the support has one open already."""
    if support.end_date is not None:
        raise Conflict(_l("该特困供养已终止"), code="no_open_support")
    existing = db.session.scalar(
        sa.select(Review).where(Review.support_id == support.id, Review.status == ReviewStatus.OPEN)
    )
    if existing is not None:
        raise Conflict(_l("此人已有一项未完成的复核"), code="review_open")
    review = Review(
        person_id=support.person_id,
        support_id=support.id,
        trigger=ReviewTrigger(trigger),
        status=ReviewStatus.OPEN,
        due=local_today(),
        opened_on=local_today(),
        proposal_id=proposal_id,
        notes=notes[:500],
    )
    db.session.add(review)
    db.session.flush()
    return review


@dataclass
class ReviewInput:
    on: date
    assessment: dict[str, bool]
    outcome: str  # continue | terminate
    reason: str | None = None  # art. 24 reason when terminating
    notes: str = ""


def record_review(person: Person, data: ReviewInput, user_id: int | None = None) -> Review:
    """Record a review of a 特困 person: the assessment sets the care level; `continue`
    sets the next annual due date a year on, `terminate` ends the support (art. 24).
    An open special review is completed, otherwise an annual one is recorded.
    Raises Invalid (assessment, reason, date), Conflict (no open support)."""
    level = selfcare.care_level_of(data.assessment)
    if data.outcome not in ("continue", "terminate"):
        raise Invalid(_l("复核结论无效"), fields={"outcome": _l("继续供养或终止供养")})
    if data.outcome == "terminate" and data.reason not in MANUAL_REASONS:
        raise Invalid(_l("终止须说明原因"), fields={"reason": _l("请选择终止原因")})
    if data.on > local_today():
        raise Invalid(_l("复核日期不能晚于今天"), fields={"date": _l("不能晚于今天")})
    support = person.current_support
    if support is None or person.status != PersonStatus.ACTIVE:
        raise Conflict(_l("此人没有正在享受的特困供养"), code="no_open_support")
    review = db.session.scalar(
        sa.select(Review).where(Review.support_id == support.id, Review.status == ReviewStatus.OPEN)
    )
    if review is None:
        review = Review(
            person_id=person.id,
            support_id=support.id,
            trigger=ReviewTrigger.ANNUAL,
            due=support.review_due,
            opened_on=data.on,
        )
        db.session.add(review)
    for k in ASSESSMENT_ITEMS:
        setattr(review, k, bool(data.assessment[k]))
    review.care_level = level
    review.outcome = ReviewOutcome(data.outcome)
    review.termination_reason = (
        TerminationReason(data.reason) if data.reason and data.outcome == "terminate" else None
    )
    review.notes = (data.notes or review.notes or "")[:500]
    review.reviewed_by = user_id
    review.status, review.done_on = ReviewStatus.DONE, data.on
    person.care_level = level
    db.session.flush()
    if data.outcome == "terminate":
        terminate(
            person,
            data.reason or "",
            data.on,
            source="review",
            notes=data.notes,
            review_id=review.id,
        )
    else:
        support.review_due = next_review_due(data.on)
    db.session.flush()
    return review


def reviews_stmt(
    kind: str, today: date, township: str | None = None, soon_days: int = 30
) -> sa.Select:
    """(support, person) of open 特困 supports whose review is overdue (`overdue`) or due
    within `soon_days` (`due`), or that have an open special review (`special`)."""
    stmt = (
        sa.select(WubaoSupport, Person)
        .join(Person, Person.id == WubaoSupport.person_id)
        .where(WubaoSupport.end_date.is_(None), Person.status == PersonStatus.ACTIVE)
    )
    if kind == "overdue":  # a support without a due date has never been reviewed
        stmt = stmt.where(
            sa.or_(WubaoSupport.review_due < today, WubaoSupport.review_due.is_(None))
        )
    elif kind == "special":
        stmt = stmt.where(
            sa.exists().where(
                Review.support_id == WubaoSupport.id, Review.status == ReviewStatus.OPEN
            )
        )
    else:
        stmt = stmt.where(
            WubaoSupport.review_due >= today,
            WubaoSupport.review_due <= today + timedelta(days=soon_days),
        )
    if township:
        stmt = stmt.where(Person.township_code == township)
    return stmt.order_by(
        WubaoSupport.review_due.is_(None).desc(), WubaoSupport.review_due, Person.id
    )


def review_counts(today: date, soon_days: int = 30) -> dict[str | None, dict[str, int]]:
    """Per township: reviews overdue (or never dated) and due within `soon_days`."""
    overdue = sa.func.sum(
        sa.case(
            (sa.or_(WubaoSupport.review_due < today, WubaoSupport.review_due.is_(None)), 1), else_=0
        )
    )
    due = sa.func.sum(
        sa.case(
            (
                sa.and_(
                    WubaoSupport.review_due >= today,
                    WubaoSupport.review_due <= today + timedelta(days=soon_days),
                ),
                1,
            ),
            else_=0,
        )
    )
    rows = db.session.execute(
        sa.select(Person.township_code, overdue, due)
        .join(Person, Person.id == WubaoSupport.person_id)
        .where(WubaoSupport.end_date.is_(None), Person.status == PersonStatus.ACTIVE)
        .group_by(Person.township_code)
    )
    return {code: {"overdue": int(o or 0), "due": int(d or 0)} for code, o, d in rows}


def overdue_alerts(day: date) -> list[dict]:
    """Alert source for the core `alerts` job: reviews overdue, one alert per township,
    and one for the reviews due within 30 days."""
    from eldercare.models import Region

    names = dict(
        db.session.execute(
            sa.select(Region.code, Region.name).where(Region.level == "township")
        ).all()
    )
    out = []
    counts = review_counts(day)
    due = sum(c["due"] for c in counts.values())
    if due:
        out.append(
            {
                "kind": "review_due",
                "role": "admin",
                "message": _l("%(n)s 名特困人员年度复核将在30天内到期", n=due),
                "link": "/reviews?kind=due",
                "count": due,
            }
        )
    for code, c in sorted(counts.items(), key=lambda kv: kv[0] or ""):
        if c["overdue"]:
            message = (
                _l("%(where)s：%(n)s 名特困人员年度复核已逾期", where=names[code], n=c["overdue"])
                if code in names
                else _l("未填乡镇：%(n)s 名特困人员年度复核已逾期", n=c["overdue"])
            )
            out.append(
                {
                    "kind": "review_overdue",
                    "role": "admin",
                    "message": message,
                    "link": f"/reviews?kind=overdue&township={code or ''}",
                    "count": c["overdue"],
                }
            )
    return out
