"""A visit's services priced from the year's price list (the list in force that year):
codes ignore case, quantities within 0-24, sessions and meals whole."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.database import to_money
from eldercare.errors import Invalid
from eldercare.extensions import db

from .models import Service, Unit, VisitService


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
