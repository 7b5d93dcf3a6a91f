"""A bed breakdown's parts and the nursing-bed share, shared by the overview, the pages
and /public (issue 17.2 and 17.3).

Every breakdown gives every part, so that total = occupied + held + reserved + available
+ out_of_service (queries.Occupancy.as_dict). The nursing-bed share of care homes is read
against the national target: nursing-type beds at least 55% of institutional beds
(国发〔2021〕35号, DOMAIN.md).
"""

from __future__ import annotations

from decimal import Decimal

from eldercare.stats import ratio

from .queries import Occupancy

NURSING_TARGET = "0.550"
PARTS = ("occupied", "held", "reserved", "available", "out_of_service")


def nursing_share(occ: Occupancy) -> str:
    """Nursing-type beds per bed, three decimals ("0.000" without beds)."""
    return ratio(occ.nursing, occ.beds)


def meets_target(occ: Occupancy) -> bool:
    return occ.beds > 0 and Decimal(nursing_share(occ)) >= Decimal(NURSING_TARGET)


def nursing(occ: Occupancy) -> dict:
    """The nursing figures a breakdown of care homes carries."""
    return {
        "nursing_share": nursing_share(occ),
        "nursing_target": NURSING_TARGET,
        "nursing_target_met": meets_target(occ),
    }
