"""Demo step 70: a year of applications in every step and outcome, and township clerks.

- 特困: applications received over the last year at the townships' desks. Those decided
  before this month belong to persons among the district's 1,670 (their support starts
  the month after the decision), so PRODUCT.md's figures still hold; the others are new:
  refused with reasons, withdrawn, approved this month (support from next month), or
  still open at a step — a few under notice today (/public/notices), some past their
  deadline. Some steps were done late.
- Home care: the 11,000 places are taken (every elder enrolled on 1 January), so this
  year's eligible applicants wait on the list ranked by need; the ineligible are refused;
  others are open or withdrawn. Some enrolled elders show the application that brought
  them in (received late last year, the agreement on 1 January).
- Township clerks for three townships (石马镇, 魏城镇, 富乐街道).

Rows are bulk inserted like the rest of the demo (one audited event), by the rules the
services follow: deadlines, late steps, the next month's support, eligibility and need.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from eldercare.bulk import insert_returning_ids, insert_rows
from eldercare.extensions import db
from eldercare.models import Person, PersonCategory, User, WubaoSupport
from eldercare.selfcare import care_level_of
from homecare.models import Enrolment

from . import rules
from .care import PlanLine, price
from .deadlines import due_after, first_of_next_month
from .deadlines import notice_until as until_of
from .demo_drafts import Draft, assess, new_people, walk, withdraw
from .models import Application, ApplicationStep, Kind, Status, Step

CLERKS = (
    ("shima", "510704101", "石马镇 民政办 陈干事"),
    ("weicheng", "510704104", "魏城镇 民政办 刘干事"),
    ("fule", "510704003", "富乐街道 社会事务办 杨干事"),
)
REFUSALS = (
    "有法定赡养人且具备赡养能力",
    "家庭人均收入高于当地低保标准",
    "具有劳动能力",
    "名下有两套住房，财产状况不符合条件",
)
CHECK_NOTE = "入户调查：无劳动能力，无生活来源，无法定赡养人或其无赡养能力"


def _tekun_drafts(ctx, towns: list[str]) -> list[Draft]:
    rng, today = ctx.rng, ctx.today
    drafts = []
    for i, pid in enumerate(new_people(ctx, ctx.n(140), 60, 92, towns)):
        # the first few were checked quickly and are under notice today (公示)
        back = rng.randrange(9, 14) if i < 6 else rng.randrange(1, 365)
        d = Draft(Kind.TEKUN, pid, today - timedelta(days=back), today.year)
        d.wanted = "centralized" if rng.random() < 0.3 else "dispersed"
        a = assess(rng, 0.6)
        d.values |= {**a, "care_level": care_level_of(a).value}
        if i < 6:
            check_due = due_after(Kind.TEKUN, Step.CHECK, d.received)
            d.did(Step.CHECK, d.received + timedelta(days=1), check_due)
            start = today - timedelta(days=rng.randrange(0, 6))
            d.did(Step.NOTICE, start, due_after(Kind.TEKUN, Step.NOTICE, d.last()))
            d.values |= {"notice_from": start, "notice_until": until_of(start)}
            d.status, d.due = Status.NOTICED, due_after(Kind.TEKUN, Step.DECIDE, until_of(start))
        else:
            walk(ctx, d, (Step.CHECK, Step.NOTICE, Step.DECIDE), rng.random() < 0.08)
        if d.steps:
            d.values["check_note"] = CHECK_NOTE
        drafts.append(d)
    _decide_tekun(ctx, drafts)
    return drafts


def _decide_tekun(ctx, drafts: list[Draft]) -> None:
    """Outcomes: refused with reasons, withdrawn, approved. An approval before this month
    is one of the district's existing 特困 persons (support from the month after); one
    this month is a new person whose support starts next month."""
    rng, month_start = ctx.rng, ctx.today.replace(day=1)
    supports = list(
        db.session.scalars(
            sa.select(WubaoSupport)
            .join(Person, Person.id == WubaoSupport.person_id)
            .where(
                WubaoSupport.end_date.is_(None),
                WubaoSupport.support == "dispersed",
                WubaoSupport.category == "elderly",
                WubaoSupport.applied_centralized_on.is_(None),
                Person.status == "active",
            )
            .order_by(WubaoSupport.id)
        )
    )
    pool = iter(rng.sample(supports, k=min(len(supports), ctx.n(120))))
    new_supports = []
    for d in drafts:
        decided = d.values.get("decided_on")
        r = rng.random()
        if decided is None:
            if d.steps and r < 0.06:
                withdraw(ctx, d)
            continue
        if r < 0.2:
            d.status = Status.REFUSED
            d.values |= {"approved": False, "reasons": rng.choice(REFUSALS)}
            continue
        if r < 0.26:
            withdraw(ctx, d)
            continue
        since = first_of_next_month(decided)
        support = next(pool, None) if decided < month_start else None
        if decided < month_start and support is None:
            d.status = Status.REFUSED
            d.values |= {"approved": False, "reasons": rng.choice(REFUSALS)}
            continue
        d.status = Status.APPROVED
        d.values |= {
            "approved": True,
            "category": "elderly",
            "support_from": since,
            "support": d.wanted,
        }
        if support is not None:
            d.person_id, d.wanted = support.person_id, "dispersed"
            d.values["support"] = "dispersed"
            support.start_date = since
            support.review_due = date(since.year + 1, since.month, 1)
            d.values["support_id"] = support.id
        else:
            new_supports.append(d)
    ids = insert_returning_ids(
        WubaoSupport,
        [
            {
                "person_id": d.person_id,
                "category": "elderly",
                "support": "dispersed",
                "start_date": d.values["support_from"],
                "end_date": None,
                "end_reason": "",
                "applied_centralized_on": d.values["decided_on"]
                if d.wanted == "centralized"
                else None,
                "review_due": d.values["support_from"].replace(
                    year=d.values["support_from"].year + 1
                ),
            }
            for d in new_supports
        ],
    )
    for d, sid in zip(new_supports, ids, strict=True):
        d.values["support_id"] = sid
    insert_rows(
        PersonCategory, [{"person_id": d.person_id, "category": "tekun"} for d in new_supports]
    )


# --- home care ---------------------------------------------------------------------------


def _assessed(ctx, d: Draft, person: Person) -> bool:
    """The check's findings on the person: the six items, the year's rules, the need; a
    plan where one was made. Returns whether a rule matched."""
    rng = ctx.rng
    a = assess(rng, 0.6)
    alone = rng.random() < 0.25
    level = care_level_of(a)
    on = next(o for step, o, _d, _l in d.steps if step == Step.CHECK)
    matched = rules.matches(person, d.year, on, level.value, alone)
    score, reasons = rules.need(person, on, a, alone, d.year)
    d.values |= {
        **a,
        "care_level": level.value,
        "lives_alone": alone,
        "eligible": bool(matched),
        "matched_rules": [m.as_dict() for m in matched],
        "need_score": score,
        "need_reasons": reasons,
        "services_wanted": ["meal", "clean"],
    }
    planned = [on for step, on, _d, _l in d.steps if step == Step.PLAN]
    if planned:
        priced = price(
            d.year,
            [
                PlanLine("meal", Decimal(rng.randrange(2, 9))),
                PlanLine("clean", Decimal(rng.randrange(1, 3))),
            ],
            planned[0],
        )
        d.values |= {
            "plan_lines": priced["lines"],
            "plan_total": priced["total"],
            "plan_subsidy": priced["subsidy"],
            "plan_self_paid": priced["self_paid"],
        }
    return bool(matched)


def _homecare_drafts(ctx, towns: list[str]) -> list[Draft]:
    rng, today, year = ctx.rng, ctx.today, ctx.today.year
    jan1 = date(year, 1, 1)
    fresh = new_people(ctx, ctx.n(160), 60, 97, towns)
    people = {p.id: p for p in db.session.scalars(sa.select(Person).where(Person.id.in_(fresh)))}
    drafts = []
    path = (Step.CHECK, Step.PLAN, Step.DECIDE)
    for pid in fresh:
        d = Draft(
            Kind.HOMECARE,
            pid,
            today - timedelta(days=rng.randrange(0, (today - jan1).days + 1)),
            year,
        )
        walk(ctx, d, path, rng.random() < 0.1)
        if d.steps:
            eligible = _assessed(ctx, d, people[pid])
            decided = d.values.get("decided_on")
            if decided and eligible:  # the places are full: on the waiting list
                d.status = Status.WAITING
                d.values |= {"approved": True, "waiting_since": decided}
                if rng.random() < 0.05:
                    withdraw(ctx, d, undecide=False)
            elif decided:
                d.status = Status.REFUSED
                d.values |= {"approved": False, "reasons": "不符合本年度任何一条资格条件"}
            elif rng.random() < 0.06:
                withdraw(ctx, d)
        drafts.append(d)
    return drafts + _enrolled_drafts(ctx, year, jan1)


def _enrolled_drafts(ctx, year: int, jan1: date) -> list[Draft]:
    """Enrolled elders' own applications: received last autumn, a place decided in the
    year before, the agreement on 1 January."""
    rng = ctx.rng
    rows = db.session.execute(
        sa.select(Enrolment.id, Enrolment.person_id, Enrolment.provider_id)
        .where(Enrolment.year == year)
        .order_by(Enrolment.id)
        .limit(ctx.n(400))
    ).all()
    people = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Person).where(Person.id.in_([r.person_id for r in rows]))
        )
    }
    drafts = []
    for eid, pid, provider in rng.sample(rows, min(len(rows), ctx.n(60))):
        d = Draft(Kind.HOMECARE, pid, date(year - 1, 10, 8) + timedelta(rng.randrange(0, 40)), year)
        walk(ctx, d, (Step.CHECK, Step.PLAN, Step.DECIDE), False)
        decided = d.values.get("decided_on")
        if decided is None or decided >= jan1 or not _assessed(ctx, d, people[pid]):
            continue
        d.did(Step.ENROL, jan1, due_after(Kind.HOMECARE, Step.ENROL, decided))
        d.status, d.due = Status.APPROVED, None
        d.values |= {
            "approved": True,
            "provider_id": provider,
            "enrolment_id": eid,
            "agreed_on": jan1,
        }
        drafts.append(d)
    return drafts


# --- the step ------------------------------------------------------------------------------


def _insert(drafts: list[Draft]) -> None:
    people = {
        pid: (town, village)
        for pid, town, village in db.session.execute(
            sa.select(Person.id, Person.township_code, Person.village_code).where(
                Person.id.in_({d.person_id for d in drafts})
            )
        )
    }
    base: dict[str, object] = {
        "proposal_id": None,
        "by_proxy": False,
        "proxy_name": "",
        "note": "",
        "source": "desk",
        "check_note": "",
        "services_wanted": [],
        "matched_rules": [],
        "need_reasons": [],
        "plan_lines": [],
        "reasons": "",
        "withdraw_reason": "",
    }
    open_ = (Status.RECEIVED, Status.CHECKED, Status.NOTICED)
    ids = insert_returning_ids(
        Application,
        [
            base
            | {
                "kind": d.kind.value,
                "person_id": d.person_id,
                "township_code": people[d.person_id][0],
                "village_code": people[d.person_id][1],
                "status": d.status.value,
                "version": 1 + len(d.steps),
                "year": d.year,
                "received_on": d.received,
                "due": d.due if d.status in open_ else None,
                "support_wanted": d.wanted,
            }
            | d.values
            for d in drafts
        ],
    )
    insert_rows(
        ApplicationStep,
        [
            {
                "application_id": aid,
                "step": s.value,
                "on": on,
                "due": due,
                "late": late,
                "note": "",
                "by_id": None,
            }
            for aid, d in zip(ids, drafts, strict=True)
            for s, on, due, late in [(Step.RECEIVE, d.received, None, False), *d.steps]
        ],
    )


def build(ctx) -> None:
    clerks = {
        code: ctx.account(
            username, "township", name.split()[0], township_code=code, display_name=name
        )
        for username, code, name in CLERKS
    }
    year = ctx.today.year
    rules.seed(year)
    rules.places_row(year).places = ctx.n(11000)
    towns = [t.code for t in ctx.townships]
    drafts = _tekun_drafts(ctx, towns) + _homecare_drafts(ctx, towns)
    db.session.flush()
    _insert(drafts)
    # the three townships' clerks did their desk's steps; the bureau everything else
    for code, clerk in clerks.items():
        db.session.execute(
            sa.update(ApplicationStep)
            .where(
                ApplicationStep.application_id.in_(
                    sa.select(Application.id).where(Application.township_code == code)
                ),
                ApplicationStep.step.in_(["receive", "check", "notice", "plan", "withdraw"]),
            )
            .values(by_id=clerk.id)
        )
    admin = db.session.scalar(sa.select(User.id).where(User.username == "admin"))
    db.session.execute(
        sa.update(ApplicationStep).where(ApplicationStep.by_id.is_(None)).values(by_id=admin)
    )
