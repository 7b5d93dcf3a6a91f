"""Pages of lists: the same page/per_page arguments as the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .extensions import db


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _int(value: Any, default: int, lo: int, hi: int) -> int:
    try:
        return min(hi, max(lo, int(value)))
    except (TypeError, ValueError):
        return default


def page_of(stmt: sa.Select, args, *, scalars: bool = True, per_page: int = 50) -> Page:
    page = _int(args.get("page"), 1, 1, 1_000_000)
    size = _int(args.get("per_page"), per_page, 1, 500)
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    )
    q = stmt.limit(size).offset((page - 1) * size)
    items = list(db.session.scalars(q) if scalars else db.session.execute(q))
    return Page(items, total or 0, page, size)
