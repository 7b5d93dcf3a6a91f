from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model


class Region(Model):
    """A division: the district, a township/street (乡镇街道) or a village/residents'
    committee (村/社区), with the dates it was valid, since divisions change."""

    __tablename__ = "regions"
    __audit__ = False  # reference data, loaded by init-db

    code: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    level: Mapped[str] = mapped_column(sa.String(10), comment="district, township or village")
    kind: Mapped[str] = mapped_column(sa.String(12), default="", comment="street, town, 村, 社区")
    parent_code: Mapped[str | None] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    successor_code: Mapped[str | None] = mapped_column(
        sa.String(12), comment="the unit that took over after a reform"
    )
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lng: Mapped[float | None] = mapped_column(sa.Float)

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )
