"""The machinery every step shares: receiving an application, moving it on by a
conditional update, dating and auditing the step, withdrawing.

`advance` is the only way an application changes status: one UPDATE that must touch
exactly one row — this application, still in a status the step may follow, at the
version the clerk read. Two clerks doing the same step at once: one row count is 1, the
other 0 and a Conflict (409); a step out of order is the same Conflict. The step's row
(UNIQUE per application and step) is written in the same transaction.

Services flush, never commit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from eldercare import audit, scoping
from eldercare.database import rowcount
from eldercare.errors import Conflict, Invalid, NotFound
from eldercare.extensions import db
from eldercare.models import Person, PersonStatus, Role, User
from eldercare.people import services as people
from eldercare.timeutil import local_today

from .deadlines import due_after
from .models import OPEN, Application, ApplicationStep, Kind, Status, Step
from .words import STATUS_LABELS


def _plain(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def check_day(on: date | None, after: date | None = None, field: str = "on") -> date:
    """The day a step was done: today by default, never in the future, never before
    the step it follows. Raises Invalid naming the field."""
    today = local_today()
    on = on or today
    if on > today:
        raise Invalid(_l("日期不能晚于今天"), fields={field: _l("不能晚于今天")})
    if after is not None and on < after:
        raise Invalid(
            _l("日期不能早于上一步（%(day)s）", day=after.isoformat()),
            fields={field: _l("不能早于 %(day)s", day=after.isoformat())},
        )
    return on


def last_day(app: Application) -> date:
    """The day of the application's latest step."""
    return max((s.on for s in app.steps), default=app.received_on)


def advance(
    app: Application,
    step: Step,
    user: User | None,
    on: date,
    *,
    allowed: tuple[Status, ...],
    to: Status,
    due_next: date | None,
    note: str = "",
    values: dict | None = None,
) -> ApplicationStep:
    """Move `app` on by `step`, done on `on`: a conditional UPDATE of status and version
    that must touch exactly one row, the step's row beside it, one audit entry. The
    deadline that applied is the application's `due` at that moment; past it the step
    is late (allowed, and counted). Raises Conflict when the application is not in a
    status the step may follow, or another clerk moved it meanwhile."""
    if app.status not in allowed:
        raise Conflict(
            _l("当前状态为“%(status)s”，不能办理这一步", status=STATUS_LABELS[app.status.value]),
            code="out_of_order",
        )
    values = dict(values or {})
    due_now, before = app.due, app.status
    done = db.session.execute(
        sa.update(Application)
        .where(
            Application.id == app.id,
            Application.status.in_(allowed),
            Application.version == app.version,
        )
        .values(status=to, version=Application.version + 1, due=due_next, **values)
        .execution_options(synchronize_session=False)
    )
    if rowcount(done) != 1:
        raise Conflict(_l("该申请刚刚由他人办理过，请刷新后查看"), code="out_of_order")
    late = due_now is not None and on > due_now
    audit.record(
        f"application_{step.value}",
        "applications",
        app.id,
        {
            "status": [before.value, to.value],
            "on": on.isoformat(),
            "due": [_plain(due_now), _plain(due_next)],
            "late": late,
            **{k: _plain(v) for k, v in values.items()},
        },
    )
    row = ApplicationStep(
        application_id=app.id,
        step=step,
        on=on,
        by_id=user.id if user is not None else None,
        due=due_now,
        late=late,
        note=(note or "")[:500],
    )
    db.session.add(row)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(_l("这一步已经办理过"), code="out_of_order") from None
    db.session.expire(app)
    return row


# --- receiving --------------------------------------------------------------------------


@dataclass
class NewApplication:
    kind: str
    received_on: date | None = None
    person_id: int | None = None
    person: people.PersonInput | None = None
    note: str = ""
    year: int | None = None
    by_proxy: bool = False
    proxy_name: str = ""
    support_wanted: str | None = None
    source: str = "desk"
    proposal_id: int | None = None


def _applicant(user: User, data: NewApplication) -> Person:
    """The person applying: one in the user's scope by id, or by ID number (found, or
    registered now, in the clerk's own township)."""
    if data.person_id is not None:
        return scoping.get_person(user, data.person_id)
    if data.person is None:
        raise Invalid(_l("请指定申请人"), fields={"person_id": _l("person_id 或 person 必填其一")})
    township = user.township_code if user.role == Role.TOWNSHIP else None
    info = people.parse_id(data.person.id_number)
    found = people.find_by_id_number(info.number)
    if found is not None:
        if township and found.township_code != township:
            raise Conflict(
                _l("该身份证号已在其他乡镇（街道）登记，请向民政局核实"),
                fields={"person.id_number": _l("已在其他乡镇（街道）登记")},
                code="other_township",
            )
        return found
    if township:
        if data.person.township_code and data.person.township_code != township:
            raise Invalid(
                _l("只能登记本乡镇（街道）的申请人"),
                fields={"person.township_code": _l("须为本乡镇（街道）")},
            )
        data.person.township_code = township
    return people.create_person(data.person)


def open_application(person_id: int, kind: Kind) -> Application | None:
    return db.session.scalar(
        sa.select(Application).where(
            Application.person_id == person_id,
            Application.kind == kind,
            Application.status.in_(OPEN),
        )
    )


def homecare_enrolled(person_id: int, year: int) -> bool:
    from homecare.models import Enrolment

    return (
        db.session.scalar(
            sa.select(Enrolment.id).where(
                Enrolment.person_id == person_id,
                Enrolment.year == year,
                Enrolment.status == "active",
            )
        )
        is not None
    )


def receive(user: User, data: NewApplication) -> Application:
    """Receive an application at the applicant's township (受理). Raises Invalid (bad
    date, no township, unknown kind), NotFound (a person outside the clerk's township),
    Conflict (already supported or enrolled, an application already open)."""
    try:
        kind = Kind(data.kind)
    except ValueError:
        raise Invalid(_l("申请类型无效"), fields={"kind": _l("tekun 或 homecare")}) from None
    today = local_today()
    on = check_day(data.received_on, today - timedelta(days=366), "received_on")
    person = _applicant(user, data)
    if person.status != PersonStatus.ACTIVE:
        raise Conflict(_l("申请人已故或已迁出"), code="not_active")
    if not person.township_code:
        raise Invalid(_l("申请人未登记所在乡镇（街道）"), fields={"township_code": _l("必填")})
    if user.role == Role.TOWNSHIP and person.township_code != user.township_code:
        raise NotFound(_l("未找到该人员"))
    year = data.year or on.year
    if not on.year <= year <= on.year + 1:
        raise Invalid(_l("申请年度须为受理当年或次年"), fields={"year": _l("受理当年或次年")})
    if kind == Kind.TEKUN and person.current_support is not None:
        raise Conflict(_l("该人员已是特困供养人员"), code="already_supported")
    if kind == Kind.HOMECARE and homecare_enrolled(person.id, year):
        raise Conflict(
            _l("该人员 %(year)s 年已登记居家养老服务", year=year), code="already_enrolled"
        )
    if data.support_wanted not in (None, "dispersed", "centralized"):
        raise Invalid(_l("供养方式无效"), fields={"support": _l("dispersed 或 centralized")})
    other = open_application(person.id, kind)
    if other is not None:
        raise Conflict(_l("该人员已有在办申请 #%(id)s", id=other.id), code="already_applying")
    app = Application(
        kind=kind,
        person_id=person.id,
        township_code=person.township_code,
        village_code=person.village_code,
        status=Status.RECEIVED,
        version=1,
        year=year,
        received_on=on,
        due=due_after(kind, Step.CHECK, on),
        source=data.source,
        proposal_id=data.proposal_id,
        by_proxy=data.by_proxy,
        proxy_name=(data.proxy_name or "")[:64],
        note=(data.note or "")[:500],
        support_wanted=data.support_wanted if kind == Kind.TEKUN else None,
    )
    db.session.add(app)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(_l("该人员已有在办申请"), code="already_applying") from None
    db.session.add(
        ApplicationStep(
            application_id=app.id,
            step=Step.RECEIVE,
            on=on,
            by_id=user.id,
            due=None,
            late=False,
            note=(data.note or "")[:500],
        )
    )
    db.session.flush()
    return app


# --- withdrawing ------------------------------------------------------------------------


def withdraw(
    app: Application, user: User | None, reason: str, on: date | None = None
) -> Application:
    """The applicant withdraws (or is gone): from any open status, or an approved home
    care application not yet enrolled (its place is freed). Raises Invalid without a
    reason, Conflict when closed already."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("请填写撤回原因"), fields={"reason": _l("不能为空")})
    on = check_day(on, last_day(app))
    allowed = OPEN + (
        (Status.APPROVED,) if app.kind == Kind.HOMECARE and app.enrolment_id is None else ()
    )
    advance(
        app,
        Step.WITHDRAW,
        user,
        on,
        allowed=allowed,
        to=Status.WITHDRAWN,
        due_next=None,
        note=reason,
        values={"withdraw_reason": reason[:200]},
    )
    return app


def withdraw_for(person: Person, on: date, reason: str) -> int:
    """Receiver of person_died / person_moved: the person's open applications end,
    withdrawn with `reason`, in the same transaction. Flush only."""
    n = 0
    for app in db.session.scalars(
        sa.select(Application).where(
            Application.person_id == person.id,
            sa.or_(
                Application.status.in_(OPEN),
                sa.and_(
                    Application.status == Status.APPROVED,
                    Application.kind == Kind.HOMECARE,
                    Application.enrolment_id.is_(None),
                ),
            ),
        )
    ).all():
        day = max(min(on, local_today()), last_day(app))
        advance(
            app,
            Step.WITHDRAW,
            None,
            day,
            allowed=(app.status,),
            to=Status.WITHDRAWN,
            due_next=None,
            note=reason,
            values={"withdraw_reason": reason},
        )
        n += 1
    return n
