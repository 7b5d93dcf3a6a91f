"""Home-care applications (GB/T 43153-2023: intake → assessment → agreement → service):
eligibility by the year's rules and the needs assessment at the township's check, a
service plan priced against the year's catalogue and subsidy (the self-paid remainder
shown), the bureau's decision — a place, or the waiting list when the year's places
are full — and the agreement with a provider serving the township, which enrols the
elder (homecare.services.enrol: the year's subsidy on a new ledger).

Functions flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from eldercare.database import to_money
from eldercare.errors import Conflict, Invalid
from eldercare.models import User
from homecare import services as homecare

from . import rules
from .deadlines import due_after
from .models import Application, Kind, Status, Step
from .steps import advance, check_day, last_day
from .tekun import CheckInput, Decision, assessment_values
from .words import PLACES_FULL


def check(app: Application, user: User, data: CheckInput) -> Application:
    """Eligibility and needs assessment (资格审核、需求评估): the six items, the home
    (living alone), the services wanted; the rules of the year that match are kept
    with the application, and the need score with its reasons."""
    on = check_day(data.on, last_day(app))
    values = assessment_values(data)
    catalogue = {s.code.lower() for s in homecare.catalogue(app.year)}
    wanted = [c.strip().lower() for c in data.services or [] if c and c.strip()]
    unknown = [c for c in wanted if c not in catalogue]
    if unknown:
        raise Invalid(
            _l("未知的服务项目：%(codes)s", codes=", ".join(unknown)),
            fields={"services": _l("未知代码：%(codes)s", codes=", ".join(unknown))},
        )
    matched = rules.matches(app.person, app.year, on, values["care_level"].value, data.lives_alone)
    score, reasons = rules.need(app.person, on, data.assessment, data.lives_alone, app.year)
    values |= {
        "lives_alone": data.lives_alone,
        "services_wanted": list(dict.fromkeys(wanted)),
        "eligible": bool(matched),
        "matched_rules": [m.as_dict() for m in matched],
        "need_score": score,
        "need_reasons": reasons,
    }
    advance(
        app,
        Step.CHECK,
        user,
        on,
        allowed=(Status.RECEIVED,),
        to=Status.CHECKED,
        due_next=due_after(Kind.HOMECARE, Step.PLAN, on),
        note=data.note,
        values=values,
    )
    return app


@dataclass
class PlanLine:
    code: str
    per_month: Decimal  # hours, sessions or meals a month


def months_left(year: int, start: date) -> int:
    """Months of the year the plan runs: from the month it starts to December."""
    if start.year < year:
        return 12
    return max(1, 12 - start.month + 1)


def price(year: int, lines: list[PlanLine], start: date) -> dict:
    """A plan priced against `year`'s catalogue: each line's amount for the months left,
    the total, what the year's subsidy covers and the self-paid remainder. Raises
    Invalid naming the line."""
    if not lines:
        raise Invalid(_l("服务计划至少要有一项服务"), fields={"lines": _l("不能为空")})
    catalogue = {s.code.lower(): s for s in homecare.catalogue(year)}
    months = months_left(year, start)
    out, total, seen = [], Decimal("0.00"), set()
    for i, line in enumerate(lines):
        code = (line.code or "").strip().lower()
        service = catalogue.get(code)
        if service is None:
            raise Invalid(
                _l("第 %(n)s 项：未知的服务项目 %(code)s", n=i + 1, code=line.code),
                fields={f"lines.{i}.code": _l("未知代码")},
            )
        if code in seen:
            raise Invalid(
                _l("第 %(n)s 项：服务项目重复", n=i + 1), fields={f"lines.{i}.code": _l("重复")}
            )
        seen.add(code)
        try:
            per_month = Decimal(str(line.per_month)).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            per_month = Decimal(-1)
        if not Decimal("0") < per_month <= Decimal("200"):
            raise Invalid(
                _l("第 %(n)s 项：每月次数须在 0 到 200 之间", n=i + 1),
                fields={f"lines.{i}.per_month": _l("0 到 200")},
            )
        amount = to_money(service.price * per_month * months)
        total += amount
        out.append(
            {
                "code": service.code,
                "name": service.name,
                "unit": service.unit.value,
                "price": f"{service.price:.2f}",
                "per_month": f"{per_month:.2f}",
                "months": months,
                "amount": f"{amount:.2f}",
            }
        )
    subsidy = homecare.subsidy_for(year)
    covered = min(total, subsidy)
    return {
        "lines": out,
        "months": months,
        "total": to_money(total),
        "subsidy": to_money(covered),
        "self_paid": to_money(total - covered),
        "year_subsidy": subsidy,
    }


def plan(
    app: Application, user: User, lines: list[PlanLine], on: date | None = None
) -> Application:
    """The service plan (服务计划): services and how often, priced. Once per application.
    Raises Invalid (a line), Conflict (not checked yet, planned already)."""
    if app.kind != Kind.HOMECARE:
        raise Conflict(_l("特困申请没有服务计划"), code="out_of_order")
    if app.plan_total is not None:
        raise Conflict(_l("服务计划已制定"), code="out_of_order")
    on = check_day(on, last_day(app))
    priced = price(app.year, lines, on)
    advance(
        app,
        Step.PLAN,
        user,
        on,
        allowed=(Status.CHECKED,),
        to=Status.CHECKED,
        due_next=due_after(Kind.HOMECARE, Step.DECIDE, on),
        values={
            "plan_lines": priced["lines"],
            "plan_total": priced["total"],
            "plan_subsidy": priced["subsidy"],
            "plan_self_paid": priced["self_paid"],
        },
    )
    return app


def decide(app: Application, user: User, d: Decision) -> Application:
    """The bureau's decision. A refusal needs reasons. An approval needs the rules met
    and a plan; it takes a place of the year when one is free (the year's row locked
    first, so two decisions cannot take the last one), else the applicant waits, ranked
    by need. From the waiting list, an approval is the place given (step `place`)."""
    on = check_day(d.on, last_day(app))
    if not d.approved:
        reasons = (d.reasons or "").strip()
        if not reasons:
            raise Invalid(_l("不予确认须书面说明理由"), fields={"reasons": _l("不能为空")})
        advance(
            app,
            Step.DECIDE,
            user,
            on,
            allowed=(Status.CHECKED,),
            to=Status.REFUSED,
            due_next=None,
            note=reasons,
            values={"decided_on": on, "approved": False, "reasons": reasons[:500]},
        )
        return app
    if app.status not in (Status.CHECKED, Status.WAITING):
        raise Conflict(_l("当前状态不能办理这一步"), code="out_of_order")
    if app.status == Status.CHECKED and not app.eligible:
        raise Conflict(_l("不符合本年度居家养老服务条件，只能不予确认"), code="not_eligible")
    if app.status == Status.CHECKED and app.plan_total is None:
        raise Conflict(_l("尚未制定服务计划"), code="out_of_order")
    year = rules.lock_year(app.year)
    full = rules.places_taken(app.year) >= year.places
    from_waiting = app.status == Status.WAITING
    if from_waiting and full:
        raise Conflict(
            _l("%(year)s 年名额已满（%(places)s），仍须轮候", year=app.year, places=year.places),
            code="places_full",
        )
    if full:
        advance(
            app,
            Step.DECIDE,
            user,
            on,
            allowed=(Status.CHECKED,),
            to=Status.WAITING,
            due_next=None,
            note=PLACES_FULL % {"places": year.places},
            values={
                "decided_on": on,
                "approved": True,
                "waiting_since": on,
                "reasons": (d.reasons or "")[:500],
            },
        )
        return app
    advance(
        app,
        Step.PLACE if from_waiting else Step.DECIDE,
        user,
        on,
        allowed=(Status.WAITING,) if from_waiting else (Status.CHECKED,),
        to=Status.APPROVED,
        due_next=due_after(Kind.HOMECARE, Step.ENROL, on),
        note=(d.reasons or "").strip(),
        values={"decided_on": on, "approved": True, "reasons": (d.reasons or "")[:500]},
    )
    return app


def enrol(app: Application, user: User, provider_id: int, on: date | None = None) -> Application:
    """The agreement (服务协议) with a provider serving the applicant's township, and the
    enrolment it makes for the application's year. Raises Invalid (a provider elsewhere
    or out of contract, a day outside the year), Conflict (not approved, enrolled
    already)."""
    if app.kind != Kind.HOMECARE:
        raise Conflict(_l("特困申请不登记服务组织"), code="out_of_order")
    on = check_day(on, last_day(app), "agreed_on")
    if on.year != app.year:
        raise Invalid(
            _l("协议日期须在 %(year)s 年内", year=app.year),
            fields={"agreed_on": _l("%(year)s 年内", year=app.year)},
        )
    provider = homecare.get_provider(provider_id)
    if app.township_code not in provider.township_codes:
        raise Invalid(
            _l("该服务组织不服务申请人所在乡镇（街道）"),
            fields={"provider_id": _l("不服务该乡镇（街道）")},
        )
    if (provider.contract_from and on < provider.contract_from) or (
        provider.contract_to and on > provider.contract_to
    ):
        raise Invalid(
            _l("协议日期不在该服务组织的合同期内"), fields={"agreed_on": _l("不在合同期内")}
        )
    if app.enrolment_id is not None:
        raise Conflict(_l("已登记服务组织"), code="out_of_order")
    advance(
        app,
        Step.ENROL,
        user,
        on,
        allowed=(Status.APPROVED,),
        to=Status.APPROVED,
        due_next=None,
        values={"provider_id": provider.id, "agreed_on": on},
    )
    enrolment = homecare.enrol(app.person, provider, app.year, on)
    app.enrolment_id = enrolment.id
    return app
