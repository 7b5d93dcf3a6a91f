"""Home care rules: providers, the year's subsidy and price list, enrolments and their
ledger. Services take plain arguments, raise eldercare.errors, flush and never commit.

The balance is written only by homecare/ledger.py (allocate, debit, credit, expire):
conditional relative UPDATEs checked by their row counts, each with its ledger entry in
the same transaction; the CHECK (balance >= 0) is the last line behind them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.accounts.services import NewAccount, create_account
from eldercare.database import (
    from_fen,
    insert_or_raise,
    stored,
    table_of,
    to_money,
    utcnow,
    violated_constraint,
)
from eldercare.errors import Conflict, Invalid, NotFound
from eldercare.extensions import db
from eldercare.models import Person, PersonStatus, Role, User
from eldercare.timeutil import LOCAL, local_midnight_utc, local_today

from .ledger import allocate
from .models import (
    Enrolment,
    EnrolmentStatus,
    EntryKind,
    LedgerEntry,
    Provider,
    Service,
    SubsidyYear,
    Unit,
    Visit,
)
from .providers import create_provider  # noqa: F401  (the interface other packages call)

DEFAULT_SUBSIDY = Decimal("300.00")

#: The default price list. Mianyang's own prices are not public: these are the
#: placeholder prices of comparable programmes from shared/DOMAIN.md ("Purchased home
#: care": meal help 30 a time, bathing 50, cleaning 40, hospital escort 60, personal care
#: 50 an hour, basic care 30-50 an hour), with the seven service types of GB/T 43153-2023.
#: The bureau replaces them each year through the API or the catalogue page.
DEFAULT_CATALOGUE: tuple[tuple[str, str, Unit, str], ...] = (
    ("meal", "助餐（送餐上门）", Unit.MEAL, "30.00"),
    ("bath", "助浴", Unit.SESSION, "50.00"),
    ("clean", "保洁（居室清洁）", Unit.HOUR, "40.00"),
    ("escort", "陪同就医", Unit.HOUR, "60.00"),
    ("care", "生活照料", Unit.HOUR, "50.00"),
    ("haircut", "理发", Unit.SESSION, "20.00"),
    ("company", "精神慰藉（陪伴聊天）", Unit.HOUR, "30.00"),
    ("errand", "委托代办", Unit.SESSION, "35.00"),
)


# --- reference data -------------------------------------------------------------------


def seed_reference_data(year: int | None = None) -> None:
    """init-db's seed: the current year's 300.00 subsidy and default catalogue, each added
    only where missing (idempotent; a price the bureau changed is left alone)."""
    year = year or local_today().year
    if db.session.scalar(sa.select(SubsidyYear.id).where(SubsidyYear.year == year)) is None:
        db.session.add(SubsidyYear(year=year, amount=DEFAULT_SUBSIDY))
    have = {
        c.lower() for c in db.session.scalars(sa.select(Service.code).where(Service.year == year))
    }
    for code, name, unit, price in DEFAULT_CATALOGUE:
        if code not in have:
            db.session.add(
                Service(year=year, code=code, name=name, unit=unit, price=Decimal(price))
            )
    db.session.flush()


def subsidy_for(year: int) -> Decimal:
    amount = db.session.scalar(sa.select(SubsidyYear.amount).where(SubsidyYear.year == year))
    return amount if amount is not None else DEFAULT_SUBSIDY


def set_subsidy(year: int, amount: Decimal) -> SubsidyYear:
    """Set the year's subsidy (for enrolments made from now on). Raises Invalid."""
    if to_money(amount) <= 0:
        raise Invalid(_l("补贴标准须大于 0"), fields={"amount": _l("须大于 0")})
    row = db.session.scalar(sa.select(SubsidyYear).where(SubsidyYear.year == year))
    if row is None:
        row = SubsidyYear(year=year)
        db.session.add(row)
    row.amount = to_money(amount)
    db.session.flush()
    return row


def catalogue(year: int) -> list[Service]:
    return list(
        db.session.scalars(sa.select(Service).where(Service.year == year).order_by(Service.id))
    )


def price_year(year: int) -> int:
    """The year whose price list applies to `year`'s visits and claims: the year's own,
    else the latest before it."""
    have = db.session.scalar(sa.select(sa.func.max(Service.year)).where(Service.year <= year))
    return have or year


def service_names() -> dict[str, str]:
    """Each service code with its name (the newest year's, should a name change): claim
    lines and statements carry codes, people read names."""
    rows = db.session.execute(sa.select(Service.code, Service.name).order_by(Service.year))
    return {code: name for code, name in rows}


def find_service(year: int, code: str) -> Service | None:
    """The item of `year`'s price list with `code`, ignoring case (`jj-01` is `JJ-01`)."""
    return db.session.scalar(
        sa.select(Service).where(Service.year == year, sa.func.lower(Service.code) == code.lower())
    )


def add_service(year: int, code: str, name: str, unit: str, price: Decimal) -> Service:
    """Add an item to a year's price list. Raises Invalid (price), Conflict (the code is
    taken that year, in any case: the unique index on lower(code) holds it at once too)."""
    if to_money(price) <= 0:
        raise Invalid(_l("价格须大于 0"), fields={"price": _l("须大于 0")})
    taken = Conflict(
        _l("%(year)s 年已有服务项目 %(code)s", year=year, code=code),
        fields={"code": _l("已存在")},
        code="code_taken",
    )
    if find_service(year, code) is not None:
        raise taken
    service = Service(year=year, code=code, name=name, unit=Unit(unit), price=to_money(price))
    insert_or_raise(
        service,
        lambda exc: (
            taken
            if violated_constraint(exc, table_of(Service)) == "uq_services_year_code_ci"
            else None
        ),
    )
    return service


# --- providers and workers ------------------------------------------------------------


def get_provider(provider_id: int) -> Provider:
    provider = db.session.get(Provider, provider_id)
    if provider is None:
        raise NotFound(_l("未找到该服务组织"))
    return provider


def create_worker(
    actor: User, provider: Provider, username: str, display_name: str = ""
) -> NewAccount:
    """A worker account of `provider` with a one-time password for the worker (so that
    whoever made it cannot log in as the worker later). The bureau or the provider's own
    admin may (eldercare.accounts.services: one rule for every account). Raises Forbidden,
    Conflict (username taken). Flushes, never commits."""
    return create_account(
        actor, username, Role.WORKER, provider_id=provider.id, display_name=display_name
    )


def workers_select(provider_id: int) -> sa.Select:
    """A provider's workers, by username."""
    return (
        sa.select(User)
        .where(User.provider_id == provider_id, User.role == Role.WORKER)
        .order_by(User.username)
    )


def workers(provider_id: int) -> list[User]:
    return list(db.session.scalars(workers_select(provider_id)))


# --- enrolments and the ledger ----------------------------------------------------------


def enrol(person: Person, provider: Provider, year: int, on: date | None = None) -> Enrolment:
    """Enrol `person` with `provider` for `year` and allocate the year's subsidy into a new
    ledger. Raises Conflict for a deceased or moved person or a second enrolment that year
    (also under concurrency: UNIQUE(person_id, year) holds it)."""
    if person.status == PersonStatus.DECEASED:
        raise Conflict(_l("该人员已故，不能登记居家养老服务"), code="deceased")
    if person.status == PersonStatus.MOVED:
        raise Conflict(_l("该人员已迁出"), code="moved")
    if db.session.scalar(
        sa.select(Enrolment.id).where(Enrolment.person_id == person.id, Enrolment.year == year)
    ):
        raise Conflict(
            _l("该人员 %(year)s 年已登记居家养老服务", year=year), code="already_enrolled"
        )
    today = local_today()
    on = on or (today if today.year == year else date(year, 1, 1))
    amount = subsidy_for(year)
    enrolment = Enrolment(
        person_id=person.id,
        provider_id=provider.id,
        year=year,
        status=EnrolmentStatus.ACTIVE,
        enrolled_on=on,
        card_serial=1,
        balance=Decimal("0.00"),
    )
    db.session.add(enrolment)
    db.session.flush()
    # A back-dated enrolment has its subsidy from the day it counts from, so that the
    # overview of a past date and the order of the ledger read right.
    at = utcnow() if on >= today else local_midnight_utc(on)
    allocate(enrolment.id, amount, at, f"{year} 年居家养老服务补贴")
    db.session.refresh(enrolment, ["balance"])
    return enrolment


#: What an enrolment was granted: its allocation, and the balance moved in or out by a
#: change of provider (so that a moved balance counts once, with the enrolment holding it).
GRANTED = (EntryKind.ALLOCATION, EntryKind.TRANSFER_IN, EntryKind.TRANSFER_OUT)


@dataclass
class Ledger:
    allocated: Decimal
    spent: Decimal
    balance: Decimal
    entries: list[LedgerEntry]


def ledger(enrolment: Enrolment) -> Ledger:
    entries = list(
        db.session.scalars(
            sa.select(LedgerEntry)
            .where(LedgerEntry.enrolment_id == enrolment.id)
            .order_by(LedgerEntry.at, LedgerEntry.id)
        )
    )
    allocated = sum((e.amount for e in entries if e.kind in GRANTED), Decimal("0.00"))
    spent = -sum(
        (e.amount for e in entries if e.kind in (EntryKind.VISIT_DEBIT, EntryKind.REVERSAL)),
        Decimal("0.00"),
    )
    db.session.refresh(enrolment, ["balance"])
    return Ledger(allocated, spent, enrolment.balance, entries)


def ledger_sums() -> tuple[sa.ColumnElement, sa.ColumnElement]:
    """Two SQL sums over ledger entries, in whole fen: allocated (net of balances moved
    by a change of provider: GRANTED), and spent (the visits' debits less their
    reversals, as a negative number). `from_fen` reads them. The district's day tallies
    (tallies.ALLOCATED) leave the moves out: a move's two entries, the same day and
    year, add up to nothing there."""
    from .tallies import SPENT

    amount, kind = stored(LedgerEntry.amount), LedgerEntry.kind
    return (
        sa.func.sum(sa.case((kind.in_(GRANTED), amount), else_=0)),
        sa.func.sum(sa.case((kind.in_(SPENT), amount), else_=0)),
    )


def ledger_summaries(ids: list[int]) -> dict[int, tuple[Decimal, Decimal]]:
    """(allocated, spent) per enrolment id, in one query, for lists."""
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(LedgerEntry.enrolment_id, *ledger_sums())
        .where(LedgerEntry.enrolment_id.in_(ids))
        .group_by(LedgerEntry.enrolment_id)
    )
    return {eid: (from_fen(a), -from_fen(s)) for eid, a, s in rows}


def end_enrolment(enrolment: Enrolment, on: date, reason: str) -> None:
    """End an active enrolment from `on` (the card stops working for new visits)."""
    if enrolment.status == EnrolmentStatus.ACTIVE:
        enrolment.status = EnrolmentStatus.ENDED
        enrolment.ended_on = on
        enrolment.end_reason = reason
        db.session.flush()


def on_person_died(person: Person, on: date, **_kw) -> None:
    """person_died: end the person's enrolments from that date and flag the visits after
    it `deceased` (they stay on record for the claims to reject)."""
    end_utc = datetime.combine(on, time.max, tzinfo=LOCAL)
    for enrolment in db.session.scalars(
        sa.select(Enrolment).where(
            Enrolment.person_id == person.id, Enrolment.status == EnrolmentStatus.ACTIVE
        )
    ):
        end_enrolment(enrolment, on, "deceased")
    visits = db.session.scalars(
        sa.select(Visit)
        .join(Enrolment)
        .where(Enrolment.person_id == person.id, Visit.check_in_at > end_utc)
    )
    for visit in visits:
        visit.flag("deceased")
    db.session.flush()


def on_person_moved(person: Person, on: date, **_kw) -> None:
    for enrolment in db.session.scalars(
        sa.select(Enrolment).where(
            Enrolment.person_id == person.id, Enrolment.status == EnrolmentStatus.ACTIVE
        )
    ):
        end_enrolment(enrolment, on, "moved")
