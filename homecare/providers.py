"""Providers and their contracts (issue 17.1): the townships each serves and the contract's
dates, added and changed by the bureau; and the rule that a provider serves only its
contract townships, so that an enrolment outside them needs a stated reason.

Flushes, never commits; every change is an ORM change, audited by eldercare/audit.py
(the provider's row, and each contract township added or taken away).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.models import Person, Region

from .models import Provider, ProviderTownship

MAX_TOWNSHIPS = 40
OUTSIDE_REASON_MAX = 200


@dataclass
class ProviderInput:
    """What the bureau types for a provider; None in an update leaves that part alone."""

    name: str | None = None
    townships: list[str] | None = None
    contract_from: date | None = None
    contract_to: date | None = None
    phone: str | None = None


def _checked_townships(codes: list[str]) -> list[str]:
    """The codes once each, in order; Invalid naming `townships` for an unknown one."""
    codes = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    if len(codes) > MAX_TOWNSHIPS:
        raise Invalid(
            _l("服务乡镇过多"), fields={"townships": _l("最多 %(n)s 个", n=MAX_TOWNSHIPS)}
        )
    known = set(
        db.session.scalars(
            sa.select(Region.code).where(Region.level == "township", Region.code.in_(codes or [""]))
        )
    )
    unknown = [c for c in codes if c not in known]
    if unknown:
        listed = ", ".join(unknown)
        raise Invalid(
            _l("未知的乡镇（街道）代码：%(codes)s", codes=listed),
            fields={"townships": _l("未知代码：%(codes)s", codes=listed)},
        )
    return codes


def _check_dates(contract_from: date | None, contract_to: date | None) -> None:
    if contract_from and contract_to and contract_to < contract_from:
        raise Invalid(_l("合同结束日期早于开始日期"), fields={"contract_to": _l("早于开始日期")})


def _check_name(name: str, provider_id: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise Invalid(_l("请填写服务组织名称"), fields={"name": _l("必填")})
    taken = sa.select(Provider.id).where(Provider.name == name)
    if provider_id is not None:
        taken = taken.where(Provider.id != provider_id)
    if db.session.scalar(taken):
        raise Conflict(_l("已有同名服务组织"), fields={"name": _l("已存在")})
    return name


def create_provider(
    name: str,
    townships: list[str],
    contract_from: date | None = None,
    contract_to: date | None = None,
    phone: str = "",
) -> Provider:
    """A provider with the townships its contract covers. Raises Invalid for an unknown
    township code or dates out of order, Conflict for a name taken (UNIQUE(name) holds
    it under concurrency too)."""
    codes = _checked_townships(townships or [])
    _check_dates(contract_from, contract_to)
    provider = Provider(
        name=_check_name(name),
        contract_from=contract_from,
        contract_to=contract_to,
        phone=(phone or "").strip(),
    )
    provider.townships = [ProviderTownship(township_code=c) for c in codes]
    db.session.add(provider)
    db.session.flush()
    return provider


def update_provider(
    provider: Provider, changes: ProviderInput, fields_set: set[str] | None = None
) -> Provider:
    """Change what `changes` carries (the fields in `fields_set`, or every one not None).
    Townships taken away leave the enrolments already made there as they are: the rule
    applies to new enrolments. Raises Invalid, Conflict as create_provider does."""
    given = (
        fields_set
        if fields_set is not None
        else {k for k, v in vars(changes).items() if v is not None}
    )
    if "name" in given:
        provider.name = _check_name(changes.name or "", provider.id)
    contract_from = changes.contract_from if "contract_from" in given else provider.contract_from
    contract_to = changes.contract_to if "contract_to" in given else provider.contract_to
    _check_dates(contract_from, contract_to)
    provider.contract_from, provider.contract_to = contract_from, contract_to
    if "phone" in given:
        provider.phone = (changes.phone or "").strip()
    if "townships" in given:
        codes = _checked_townships(changes.townships or [])
        keep = [t for t in provider.townships if t.township_code in codes]
        have = {t.township_code for t in keep}
        for gone in [t for t in provider.townships if t.township_code not in codes]:
            db.session.delete(gone)  # deleted by name, so that the audit sees it go
        provider.townships = keep + [
            ProviderTownship(township_code=c) for c in codes if c not in have
        ]
    db.session.flush()
    return provider


def serves(provider: Provider, township_code: str | None) -> bool:
    """Whether `township_code` is one of the provider's contract townships."""
    return township_code is not None and township_code in provider.township_codes


def outside_reason_for(provider: Provider, person: Person, reason: str | None) -> str:
    """The reason to store with an enrolment of `person` with `provider`: "" inside the
    contract townships; the stated reason outside them. Raises Invalid naming
    `outside_reason` when the elder's township is outside and no reason is given."""
    if serves(provider, person.township_code):
        return ""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(
            _l(
                "%(name)s 的合同服务乡镇不含该老人所在乡镇，须说明跨乡镇服务的理由",
                name=provider.name,
            ),
            fields={"outside_reason": _l("老人所在乡镇不在该组织的合同服务范围内，请填写理由")},
            code="outside_townships",
        )
    if len(reason) > OUTSIDE_REASON_MAX:
        raise Invalid(
            _l("理由过长"), fields={"outside_reason": _l("最多 %(n)s 个字", n=OUTSIDE_REASON_MAX)}
        )
    return reason
