"""Demo steps 40-42: the four home-care providers with their admins and workers, the
11,000 (× scale) elders enrolled for the year with 300.00 each (3,300,000.00), and
about a year of visits up to the demo's today, with a few planted exceptions, and
proof of presence as phones give it: most scans located, a few without location (with
the worker's reason), a few uploaded days late, and some elders still without a home
point (their visits flagged `no_home_point`, their person page proposing one).

Rows go in with bulk inserts; the money goes through the ledger's bulk forms
(ledger.allocate_many, ledger.debit_many), the balance's one writer, so that
`balance == sum(ledger)` holds for every elder.
"""

from __future__ import annotations

import random
import time as clock
from datetime import UTC, date, datetime

import sqlalchemy as sa

from eldercare.bulk import insert_returning_ids, insert_rows, row_triggers_off
from eldercare.database import table_of
from eldercare.extensions import db
from eldercare.models import Person, User

from . import figure_tallies, ledger, services, tallies
from .demo_plan import (
    NO_HOME_POINT_SHARE,
    ZERO,
    full_plan,
    presence_of,
    priced,
    scan_spot,
    state,
    utc,
    visit_row,
)
from .models import Enrolment, Service, Visit, VisitService

PROVIDERS = (  # name, admin login, display name; the facilities demo uses the same names
    ("游仙区康乐居家养老服务中心", "kangle", "康乐中心 陈主任"),
    ("游仙区福寿居家养老服务中心", "fushou", "福寿中心 杨主任"),
    ("绵阳颐和居家养老服务有限公司", "yihe", "颐和公司 黄经理"),
    ("游仙区夕阳红居家养老服务站", "xiyanghong", "夕阳红站 赵站长"),
)
WORKERS_PER_PROVIDER = 15  # × scale; about three visits a day each
WORKER_NAMES = "张李王刘陈杨黄周吴徐孙马朱胡郭何高林罗郑"
#: One elder in so many lives at a township's edge and is served, with the reason stated,
#: by the provider of the township next door (issue 17.1: outside the contract townships).
OUTSIDE_EVERY = 400
OUTSIDE_REASON = "住在乡镇交界处，邻乡镇的服务组织上门更近"

#: The tables whose day tallies the bulk loads rebuild at once (homecare/tallies.py).
TALLIED = ("ledger_entries", "visits")


def _retally() -> None:
    """What the row triggers of TALLIED would have written, at once: the day tallies
    rebuilt, the figures' tallies (visits per provider and month) repaired to a recount."""
    tallies.rebuild()
    figure_tallies.recount_figures(repair=True)


def providers(ctx) -> None:
    """The four providers, the townships each serves, an admin and workers each."""
    st = state(ctx)
    services.seed_reference_data(st.year)
    codes = [t.code for t in ctx.townships]
    for i, (name, login, display) in enumerate(PROVIDERS):
        served = codes[i :: len(PROVIDERS)]
        # three-year contracts signed in turn: one runs out this year, one began this year
        start = date(st.year - 2 + i % 3, 1, 1)
        p = services.create_provider(
            name,
            served,
            start,
            date(start.year + 2, 12, 31),
            phone=f"0816-22{i + 1}{ctx.rng.randrange(1000, 9999)}",
        )
        st.providers.append(p.id)
        st.by_township.update(dict.fromkeys(served, p.id))
        ctx.account(login, "provider", name, provider_id=p.id, display_name=display)
        first = ctx.account(
            f"{login}_w1", "worker", name, provider_id=p.id, display_name=f"{WORKER_NAMES[i]}师傅"
        )
        rows = [
            {
                "username": f"{login}_w{n}",
                "display_name": f"{WORKER_NAMES[(i * 7 + n) % len(WORKER_NAMES)]}师傅{n}",
                "password_hash": first.password_hash,
                "role": "worker",
                "provider_id": p.id,
                "facility_id": None,
                "active": True,
                "session_version": 1,
                "failed_logins": 0,
                "created_at": datetime.now(UTC),
            }
            for n in range(2, ctx.n(WORKERS_PER_PROVIDER) + 1)
        ]
        ids = insert_returning_ids(User, rows) if rows else []
        st.workers[p.id] = [first.id, *ids]
    ctx.notes.append(
        f"  home-care workers: <provider>_w1 … _w{ctx.n(WORKERS_PER_PROVIDER)} "
        "(kangle_w1, fushou_w1, yihe_w1, xiyanghong_w1 listed above)"
    )


def enrolments(ctx) -> None:
    """Every home-care elder enrolled on 1 January with the provider of their township,
    with the year's subsidy allocated through the ledger (the visits step debits it)."""
    t0 = clock.perf_counter()
    st = state(ctx)
    amount = services.subsidy_for(st.year)
    # One range query (the ids came from one bulk insert) rather than 11,000 parameters.
    township = {
        pid: code
        for pid, code in db.session.execute(
            sa.select(Person.id, Person.township_code).where(
                Person.id.between(min(ctx.homecare_ids), max(ctx.homecare_ids))
            )
        )
    }
    jan1 = date(st.year, 1, 1)
    rows: list[dict] = []
    owners: list[tuple[int, int]] = []
    for pid in ctx.homecare_ids:
        fallback = st.providers[pid % len(st.providers)]
        provider = st.by_township.get(township.get(pid) or "", fallback)
        reason = ""
        if pid % OUTSIDE_EVERY == 0:  # a few near a boundary, served from next door
            provider = st.providers[(st.providers.index(provider) + 1) % len(st.providers)]
            reason = OUTSIDE_REASON
        rows.append(
            {
                "person_id": pid,
                "provider_id": provider,
                "year": st.year,
                "status": "active",
                "enrolled_on": jan1,
                "ended_on": None,
                "end_reason": "",
                "card_serial": 1,
                "balance": ZERO,
                "outside_reason": reason,
            }
        )
        owners.append((pid, provider))
    ids = insert_returning_ids(Enrolment, rows)
    st.enrolments = [(eid, pid, prov) for eid, (pid, prov) in zip(ids, owners, strict=True)]
    with row_triggers_off(TALLIED, then=_retally):
        ledger.allocate_many(
            ids, amount, utc(jan1, 0), f"{st.year} 年居家养老服务补贴", insert=insert_rows
        )
    ctx.echo(
        f"    {len(ids):,} enrolled, {amount * len(ids):,.2f} allocated "
        f"({clock.perf_counter() - t0:.1f} s)"
    )


def visits(ctx) -> None:
    """About a year of visits: each priced from the catalogue, the subsidy taken in time
    order until the elder's 300.00 is used up, the rest self-paid, the ledger debited."""
    t0 = clock.perf_counter()
    st = state(ctx)
    catalogue = {
        s.code: s for s in db.session.scalars(sa.select(Service).where(Service.year == st.year))
    }
    homes = {
        eid: (la, ln)
        for eid, la, ln in db.session.execute(
            sa.select(Enrolment.id, Person.home_lat, Person.home_lng)
            .join(Person, Person.id == Enrolment.person_id)
            .where(Enrolment.year == st.year)
        )
    }
    plan = full_plan(ctx, st, {c for c, s in catalogue.items() if s.unit.value == "hour"}, homes)
    balance = dict.fromkeys((eid for eid, _p, _v in st.enrolments), services.subsidy_for(st.year))
    # Its own random source: ctx.rng's draws, and so the later steps' data, stay as they were.
    presence = random.Random(f"presence-{ctx.seed}")  # noqa: S311  # nosec B311 # demo data
    undecided = {
        eid: pid for eid, pid, _prov in st.enrolments if presence.random() < NO_HOME_POINT_SHARE
    }
    rows, money = [], []
    for v in plan:
        home = homes.get(v.enrolment) or (None, None)
        spot = scan_spot(ctx.rng, v, home)
        flags = presence_of(presence, v, home, undecided)
        lines, amount, subsidised = priced(v, catalogue, balance)
        rows.append(visit_row(v, spot, flags, amount, subsidised))
        money.append((v.enrolment, lines, subsidised, rows[-1]["check_out_at"]))
    with row_triggers_off(TALLIED, then=_retally):
        ids = insert_returning_ids(Visit, rows)
        _services_and_debits(ids, money)
    if undecided:  # the bureau has not decided these elders' home points yet
        people = table_of(Person)
        db.session.execute(
            sa.update(people)
            .where(people.c.id == sa.bindparam("pid"))
            .values(home_lat=None, home_lng=None),
            [{"pid": pid} for pid in undecided.values()],
        )
    spent = sum((m[2] for m in money), ZERO)
    low = sum(1 for b in balance.values() if b < 30)
    ctx.echo(
        f"    {len(ids):,} visits, {spent:,.2f} of the subsidy spent, {low:,} elders "
        f"with less than 30.00 left ({clock.perf_counter() - t0:.1f} s)"
    )


def _services_and_debits(ids: list[int], money: list) -> None:
    """Each visit's services, and its subsidised part debited from the elder's balance."""
    service_rows: list[dict] = []
    debits: list = []
    for vid, (eid, lines, subsidised, check_out) in zip(ids, money, strict=True):
        service_rows.extend(
            {"visit_id": vid, "service_code": c, "quantity": q, "unit_price": p, "amount": a}
            for c, q, p, a in lines
        )
        if subsidised > 0:
            debits.append((eid, vid, subsidised, check_out))
    insert_rows(VisitService, service_rows)
    ledger.debit_many(debits, insert=insert_rows)
