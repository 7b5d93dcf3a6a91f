"""Provider scorecards, month by month: share of visits logged by card scan (not by hand),
share of visits in a pattern across visits (impossible trips, cards scanned at one spot,
back-dated or no-location scans: homecare/patterns.py), share of claimed lines approved,
call-back confirmation rate, exceptions per hundred visits, and not-delivered call-backs.
Three grouped queries per provider-year."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.timeutil import Month, local_month, local_today

from ..models import Provider, Visit
from ..patterns import CODES as PATTERN_CODES
from .models import (
    LIVE_STATUSES,
    CallbackOutcome,
    CallbackSample,
    Claim,
    ClaimLine,
    Decision,
)


@dataclass
class MonthCard:
    month: str
    visits: int = 0
    scanned: int = 0
    patterns: int = 0  # visits carrying a pattern code
    lines: int = 0
    approved_lines: int = 0
    exception_lines: int = 0
    callbacks: int = 0
    confirmed: int = 0
    not_delivered: int = 0
    claim_status: str | None = None

    @staticmethod
    def _rate(n: int, d: int, scale: int = 1) -> Decimal | None:
        if not d:
            return None
        return (Decimal(n * scale) / d).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)

    @property
    def scan_share(self):
        return self._rate(self.scanned, self.visits)

    @property
    def pattern_share(self):
        return self._rate(self.patterns, self.visits)

    @property
    def decided(self) -> bool:
        return self.claim_status not in (None, "submitted")

    @property
    def approved_share(self):
        return self._rate(self.approved_lines, self.lines) if self.decided else None

    @property
    def confirmation_rate(self):
        return self._rate(self.confirmed, self.callbacks)

    @property
    def exceptions_per_100(self):
        if not self.visits or not self.decided:
            return None
        return (Decimal(self.exception_lines * 100) / self.visits).quantize(Decimal("0.1"))


@dataclass
class Scorecard:
    provider: Provider
    year: int
    months: list[MonthCard] = field(default_factory=list)


def scorecard(provider: Provider, year: int | None = None) -> Scorecard:
    year = year or local_today().year
    last = 12 if year < local_today().year else local_today().month
    cards = {m.text: MonthCard(m.text) for m in (Month(year, n) for n in range(1, last + 1))}
    _count_visits(cards, provider, year, last)
    _count_lines(cards, provider, year)
    _count_callbacks(cards, provider, year)
    return Scorecard(provider, year, list(cards.values()))


def _count_visits(cards: dict[str, MonthCard], provider: Provider, year: int, last: int) -> None:
    """Visits, those scanned (not logged by hand) and those in a pattern, per local month."""
    y0, y1 = Month(year, 1).start_utc, Month(year, last).end_utc
    in_month = local_month(Visit.check_in_at)
    exceptions = sa.cast(Visit.exceptions, sa.String)
    in_pattern = sa.or_(*(exceptions.contains(f'"{c}"') for c in PATTERN_CODES))
    for key, n, scanned, patterned in db.session.execute(
        sa.select(
            in_month,
            sa.func.count(Visit.id),
            sa.func.count(Visit.id).filter(sa.not_(Visit.manual)),
            sa.func.count(Visit.id).filter(in_pattern),
        )
        .where(Visit.provider_id == provider.id, Visit.check_in_at >= y0, Visit.check_in_at < y1)
        .group_by(in_month)
    ):
        if key in cards:
            cards[key].visits, cards[key].scanned = int(n), int(scanned)
            cards[key].patterns = int(patterned)


def _count_lines(cards: dict[str, MonthCard], provider: Provider, year: int) -> None:
    """Claimed lines, those approved and those with an exception, per month of the live
    claims (not drafts nor withdrawn ones); a supplementary claim (补报) adds its lines."""
    paid = ClaimLine.decision.in_([Decision.APPROVED, Decision.ADJUSTED])
    for month, status, n, ok, ex in db.session.execute(
        sa.select(
            Claim.month,
            Claim.status,
            sa.func.count(ClaimLine.id),
            sa.func.count(ClaimLine.id).filter(paid),
            sa.func.count(ClaimLine.id).filter(ClaimLine.reason_bits != 0),
        )
        .outerjoin(ClaimLine, ClaimLine.claim_id == Claim.id)
        .where(
            Claim.provider_id == provider.id,
            Claim.month.startswith(f"{year}-"),
            Claim.status.in_(LIVE_STATUSES),
        )  # not drafts nor withdrawn claims
        .group_by(Claim.month, Claim.status)
        .order_by(Claim.month, Claim.status)
    ):
        if month in cards:  # a month with a supplementary claim (补报) adds its lines
            c = cards[month]
            c.claim_status = c.claim_status or status.value
            c.lines, c.approved_lines = c.lines + n, c.approved_lines + ok
            c.exception_lines += ex


def _count_callbacks(cards: dict[str, MonthCard], provider: Provider, year: int) -> None:
    """Call-backs recorded, confirmed and not delivered, per month of their claim."""
    for month, n, conf, nd in db.session.execute(
        sa.select(
            Claim.month,
            sa.func.count(CallbackSample.id),
            sa.func.count(CallbackSample.id).filter(
                CallbackSample.outcome == CallbackOutcome.CONFIRMED
            ),
            sa.func.count(CallbackSample.id).filter(
                CallbackSample.outcome == CallbackOutcome.NOT_DELIVERED
            ),
        )
        .join(Claim, Claim.id == CallbackSample.claim_id)
        .where(
            CallbackSample.provider_id == provider.id,
            CallbackSample.outcome.is_not(None),
            Claim.month.startswith(f"{year}-"),
        )
        .group_by(Claim.month)
    ):
        if month in cards:
            cards[month].callbacks, cards[month].confirmed, cards[month].not_delivered = (
                n,
                conf,
                nd,
            )


def scorecard_json(
    provider: Provider, year: int | None = None, card: Scorecard | None = None
) -> dict:
    card = card or scorecard(provider, year)

    def rate(v):
        return None if v is None else str(v)

    return {
        "provider_id": provider.id,
        "provider": provider.name,
        "year": card.year,
        "months": [
            {
                "month": m.month,
                "visits": m.visits,
                "scan_share": rate(m.scan_share),
                "pattern_share": rate(m.pattern_share),
                "lines": m.lines,
                "approved_share": rate(m.approved_share),
                "callbacks": m.callbacks,
                "confirmation_rate": rate(m.confirmation_rate),
                "not_delivered": m.not_delivered,
                "exceptions_per_100_visits": rate(m.exceptions_per_100),
                "claim_status": m.claim_status,
            }
            for m in card.months
        ],
    }
