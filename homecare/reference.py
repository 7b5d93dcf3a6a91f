"""The bureau's reference data for home care (issue 17.1), the part that pages and the API
share beyond what services.py already has: editing an item of a year's price list,
starting a year's list from the year before, the subsidy of every year, and enrolment
that keeps a provider to its contract townships (providers.py has the rule).

Service codes are letters, digits, `-` and `_` (the bureau's catalogue writes `JJ-01`),
matched ignoring case everywhere: the price lookups at check-out (visits.py), claim files
(claims/files.py), reconciliation (claims/reconcile.py), and UNIQUE(year, lower(code)).

Flushes, never commits; every change is an ORM change, audited by eldercare/audit.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.errors import Conflict, Invalid, NotFound
from eldercare.extensions import db
from eldercare.models import Person

from . import services
from .models import Enrolment, Provider, Service, SubsidyYear, Unit
from .providers import outside_reason_for

CODE_PATTERN = r"^[A-Za-z0-9_-]+$"
CODE_MAX = 20
_CODE = re.compile(CODE_PATTERN)


def check_code(code: str) -> str:
    """The code as typed, trimmed; Invalid naming `code` unless letters, digits, - and _."""
    code = (code or "").strip()
    if not code or len(code) > CODE_MAX or not _CODE.match(code):
        raise Invalid(
            _l("服务项目代码只能用字母、数字、横线和下划线"),
            fields={"code": _l("只能用字母、数字、- 和 _，最多 %(n)s 位", n=CODE_MAX)},
        )
    return code


def add_service(year: int, code: str, name: str, unit: str, price: Decimal) -> Service:
    """services.add_service with the code and name checked first (pages type them)."""
    name = (name or "").strip()
    if not name:
        raise Invalid(_l("请填写服务项目名称"), fields={"name": _l("必填")})
    return services.add_service(year, check_code(code), name, unit, price)


def get_service(service_id: int) -> Service:
    service = db.session.get(Service, service_id)
    if service is None:
        raise NotFound(_l("未找到该服务项目"))
    return service


@dataclass
class ServiceChange:
    """What may change on an item: its name, unit and price (not its code, which visits
    and claims already carry; a new code is a new item)."""

    name: str | None = None
    unit: str | None = None
    price: Decimal | None = None


def update_service(service: Service, change: ServiceChange) -> Service:
    """Change an item of a year's price list. The new price applies to the visits checked
    out from now on (each visit keeps the price it was charged). Raises Invalid."""
    if change.name is not None:
        if not change.name.strip():
            raise Invalid(_l("请填写服务项目名称"), fields={"name": _l("必填")})
        service.name = change.name.strip()
    if change.unit is not None:
        service.unit = Unit(change.unit)
    if change.price is not None:
        if change.price <= 0:
            raise Invalid(_l("价格须大于 0"), fields={"price": _l("须大于 0")})
        service.price = change.price
    db.session.flush()
    return service


def copy_catalogue(year: int, from_year: int) -> list[Service]:
    """Start `year`'s price list from `from_year`'s. Raises Conflict when `year` already
    has a list (its items are changed one by one), Invalid when `from_year` has none."""
    if services.catalogue(year):
        raise Conflict(_l("%(year)s 年已有价目表", year=year), code="catalogue_exists")
    old = services.catalogue(from_year)
    if not old:
        raise Invalid(
            _l("%(year)s 年没有价目表", year=from_year),
            fields={"from_year": _l("该年度没有价目表")},
        )
    for s in old:
        db.session.add(Service(year=year, code=s.code, name=s.name, unit=s.unit, price=s.price))
    db.session.flush()
    return services.catalogue(year)


def catalogue_years() -> list[int]:
    """The years that have a price list or a subsidy set, newest first."""
    years = set(db.session.scalars(sa.select(Service.year).distinct()))
    years |= set(db.session.scalars(sa.select(SubsidyYear.year)))
    return sorted(years, reverse=True)


def subsidies() -> list[SubsidyYear]:
    """Every year's subsidy per elder, newest first."""
    return list(db.session.scalars(sa.select(SubsidyYear).order_by(SubsidyYear.year.desc())))


def enrol(
    person: Person, provider: Provider, year: int, outside_reason: str | None = None, **kw
) -> Enrolment:
    """services.enrol, kept to the provider's contract townships: an elder whose township
    is outside them is enrolled only with a stated reason, stored on the enrolment.
    Raises Invalid (`outside_reason`) before anything is written, and what enrol raises."""
    reason = outside_reason_for(provider, person, outside_reason)
    enrolment = services.enrol(person, provider, year, **kw)
    if reason:
        enrolment.outside_reason = reason
        db.session.flush()
    return enrolment


def contract_state(provider: Provider, on: date) -> str:
    """`active`, `not_started`, `ended` or `open` (no dates) for the lists."""
    if provider.contract_from is None and provider.contract_to is None:
        return "open"
    if provider.contract_from and on < provider.contract_from:
        return "not_started"
    if provider.contract_to and on > provider.contract_to:
        return "ended"
    return "active"
