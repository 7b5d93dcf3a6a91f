"""`eldercare demo`: the demo district, built by the core's steps and each feature's.

At scale 1 it reproduces the figures of PRODUCT.md; `--scale N` multiplies people,
beds and visits. The same seed on the same day gives the same data. Rows are written
with bulk inserts (the demo is one audited event, not 100,000 of them).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from . import audit, crypto
from .auth.services import create_user
from .bulk import big_page_cache, insert_returning_ids, insert_rows
from .database import is_postgres
from .extensions import db
from .idnumbers import make_number
from .models import Person, PersonCategory, Region, User, WubaoSupport
from .regions_data import demo_townships
from .registry import DemoStep, registry
from .timeutil import local_today

DEMO_PASSWORD = "Demo-2026-yx"  # noqa: S105  # nosec B105 # printed by `eldercare demo` on purpose

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
)
GIVEN_M = "德福国华建明永清长林志强文海军正兴贵发全富有才云山成光荣树春金玉宝忠义友顺"
GIVEN_F = "秀英桂兰素芬玉珍凤英淑华秀兰翠花春梅丽芳桂芳琼英玉兰秀珍明芳德芬淑珍会兰"


class DemoError(Exception):
    pass


@dataclass
class DemoContext:
    """What the steps share: the random source, the scale, the people each step made."""

    scale: int
    seed: int
    today: date
    rng: random.Random
    echo: Callable[[str], None]
    accounts: list[tuple[str, str, str]] = field(default_factory=list)  # username, role, scope
    townships: list = field(default_factory=list)  # regions_data.Township in the demo
    villages: dict[str, list[str]] = field(default_factory=dict)  # township code -> village codes
    wubao: dict[str, list[int]] = field(default_factory=dict)  # "centralized"/"dispersed" -> ids
    waiting_ids: list[int] = field(default_factory=list)  # dispersed, applied for a bed
    homecare_ids: list[int] = field(default_factory=list)  # elders for purchased home care
    notes: list[str] = field(default_factory=list)
    _used_numbers: set[str] = field(default_factory=set)

    def n(self, count: int) -> int:
        return count * self.scale

    def account(self, username: str, role: str, scope: str = "", **kw) -> User:
        user = create_user(
            username, DEMO_PASSWORD, role, display_name=kw.pop("display_name", ""), **kw
        )
        self.accounts.append((username, role, scope))
        return user

    def name(self, sex: str) -> str:
        given = GIVEN_M if sex == "M" else GIVEN_F
        length = 1 if self.rng.random() < 0.3 else 2
        return self.rng.choice(SURNAMES) + "".join(self.rng.choice(given) for _ in range(length))

    def id_number(self, birth: date, sex: str) -> str:
        while True:
            seq = self.rng.randrange(1, 999)
            if (seq % 2 == 1) != (sex == "M"):
                seq += 1
            number = make_number("510704", birth, seq)
            if number not in self._used_numbers:
                self._used_numbers.add(number)
                return number

    def birth(self, min_age: int, max_age: int) -> date:
        days = self.rng.randrange(min_age * 365 + 1, max_age * 365 + 300)
        return self.today - timedelta(days=days)

    def place(self) -> tuple[str, str]:
        t = self.rng.choice(self.townships)
        return t.code, self.rng.choice(self.villages[t.code])

    def add_people(self, rows: list[dict]) -> list[int]:
        """Insert people in bulk; each row needs name, birth_date and sex, the rest is
        filled in (ID number, township, village, address). Returns the new ids."""
        full = []
        for r in rows:
            township, village = r.get("township_code"), r.get("village_code")
            if not township:
                township, village = self.place()
            number = r.get("id_number") or self.id_number(r["birth_date"], r["sex"])
            full.append(
                {
                    "name": r["name"],
                    "birth_date": r["birth_date"],
                    "sex": r["sex"],
                    "id_number": number,
                    # a bulk insert: the blind indexes that Person's validator sets
                    "id_number_hash": crypto.id_number_hash(number),
                    "id_tail_hash": crypto.id_tail_hash(number),
                    "township_code": township,
                    "village_code": village,
                    "address": r.get("address", ""),
                    "phone": r.get("phone", ""),
                    "care_level": r.get("care_level"),
                    "status": r.get("status", "active"),
                    "death_date": r.get("death_date"),
                    "moved_date": None,
                    "emergency_contact": "",
                    "health_notes": "",
                    "home_lat": r.get("home_lat"),
                    "home_lng": r.get("home_lng"),
                    "created_at": audit.utcnow(),
                    "updated_at": audit.utcnow(),
                }
            )
        return insert_returning_ids(Person, full)

    def add_categories(self, pairs: list[tuple[int, str]]) -> None:
        if pairs:
            insert_rows(PersonCategory, [{"person_id": p, "category": c} for p, c in pairs])


# --- the core's steps ------------------------------------------------------------------


def _users(ctx: DemoContext) -> None:
    ctx.account("admin", "admin", "民政局", display_name="民政局 王科长")
    ctx.account("clerk1", "admin", "民政局", display_name="民政局 李干事")
    ctx.account("clerk2", "admin", "民政局", display_name="民政局 张干事")
    ctx.account("auditor", "auditor", "审计", display_name="区审计局 刘审计")


def _village_points(ctx: DemoContext) -> dict[str, tuple[float | None, float | None]]:
    rows = db.session.execute(
        sa.select(Region.code, Region.lat, Region.lng).where(Region.level == "village")
    )
    return {c: (lat, lng) for c, lat, lng in rows}


def _people(ctx: DemoContext) -> None:
    """1,670 特困 persons (1,385 elderly, 276 disabled, 9 minors; 1,298 centralised) and
    11,000 elders for purchased home care, times the scale."""
    person = _person_maker(ctx)
    cats: list[tuple[int, str]] = []
    groups = [
        ("elderly", ctx.n(1385), 60, 98),
        ("disabled", ctx.n(276), 18, 59),
        ("minor", ctx.n(9), 2, 15),
    ]
    rows: list[dict] = []
    for category, count, lo, hi in groups:
        rows.extend(person(lo, hi) | {"_cat": category} for _ in range(count))
    ctx.rng.shuffle(rows)
    ids = ctx.add_people([{k: v for k, v in r.items() if k != "_cat"} for r in rows])
    _tekun_support(ctx, rows, ids, cats)
    elders = [person(60, 99) for _ in range(ctx.n(11000))]
    elder_ids = ctx.add_people(elders)
    _elder_categories(ctx, elders, elder_ids, cats)
    ctx.add_categories(cats)
    ctx.homecare_ids = elder_ids


def _person_maker(ctx: DemoContext) -> Callable[..., dict]:
    """A function that makes one person's row, living in a demo village (near its point)."""
    rng = ctx.rng
    points = _village_points(ctx)

    def person(min_age, max_age, care=None):
        sex = "M" if rng.random() < 0.62 else "F"  # rural 特困 elders are mostly men
        township, village = ctx.place()
        lat, lng = points.get(village, (None, None))
        jitter = (rng.uniform(-0.006, 0.006), rng.uniform(-0.006, 0.006))
        return {
            "name": ctx.name(sex),
            "birth_date": ctx.birth(min_age, max_age),
            "sex": sex,
            "township_code": township,
            "village_code": village,
            "address": f"{rng.randrange(1, 12)}组{rng.randrange(1, 80)}号",
            "care_level": care or rng.choices(["self", "partial", "full"], [55, 30, 15])[0],
            "home_lat": lat + jitter[0] if lat else None,
            "home_lng": lng + jitter[1] if lng else None,
            "phone": f"13{rng.randrange(0, 10)}{rng.randrange(10**7, 10**8)}",
        }

    return person


def _tekun_support(
    ctx: DemoContext, rows: list[dict], ids: list[int], cats: list[tuple[int, str]]
) -> None:
    """Their 特困 support: 1,298 centralised, the rest dispersed, 24 of whom applied for a
    bed (the waiting list)."""
    rng = ctx.rng
    centralized_n = ctx.n(1298)
    # Minors are supported at home with relatives (centralised care is for those who cannot
    # look after themselves); full- and partial-care persons have priority for a bed.
    order = sorted(
        range(len(rows)),
        key=lambda i: (
            rows[i]["_cat"] == "minor",
            {"full": 0, "partial": 1, "self": 2}[rows[i]["care_level"]],
            rng.random(),
        ),
    )
    centralized = set(order[:centralized_n])
    supports = []
    ctx.wubao = {"centralized": [], "dispersed": []}
    for i, pid in enumerate(ids):
        kind = "centralized" if i in centralized else "dispersed"
        since = ctx.today - timedelta(days=rng.randrange(30, 3650))
        supports.append(
            {
                "person_id": pid,
                "category": rows[i]["_cat"],
                "support": kind,
                "start_date": since,
                "end_date": None,
                "end_reason": "",
                "applied_centralized_on": None,
                "review_due": date(
                    ctx.today.year + (rng.random() < 0.8), since.month, min(since.day, 28)
                ),
            }
        )
        ctx.wubao[kind].append(pid)
        cats.append((pid, "tekun"))
        if rows[i]["_cat"] == "disabled":
            cats.append((pid, "disabled"))
    waiting = [
        i
        for i, s in enumerate(supports)
        if s["support"] == "dispersed" and rows[i]["_cat"] != "minor"
    ]
    for i in rng.sample(waiting, min(len(waiting), ctx.n(24))):
        supports[i]["applied_centralized_on"] = ctx.today - timedelta(days=rng.randrange(3, 120))
        ctx.waiting_ids.append(ids[i])
    insert_rows(WubaoSupport, supports)


def _elder_categories(
    ctx: DemoContext, elders: list[dict], ids: list[int], cats: list[tuple[int, str]]
) -> None:
    """The home-care elders' categories: over 80, 低保, living alone, empty nest."""
    for pid, row in zip(ids, elders, strict=True):
        age = ctx.today.year - row["birth_date"].year
        if age >= 80:
            cats.append((pid, "age80"))
        r = ctx.rng.random()
        if r < 0.18:
            cats.append((pid, "dibao"))
        elif r < 0.40:
            cats.append((pid, "alone"))
        elif r < 0.55:
            cats.append((pid, "empty_nest"))


def _register_core_steps() -> list[DemoStep]:
    return [DemoStep(10, "accounts", _users), DemoStep(20, "people", _people)]


def load_demo(scale: int = 1, seed: int = 2026, echo: Callable[[str], None] = print) -> str:
    """Build the demo district in an empty database (refuses a database with people)."""
    if db.session.scalar(sa.select(sa.func.count(Person.id))):
        raise DemoError(
            "数据库中已有人员数据：演示数据只能装入空数据库（先删除 instance/ 中的数据库）"
        )
    if not db.session.scalar(sa.select(sa.func.count(Region.code))):
        raise DemoError("请先运行 eldercare init-db")
    today = (
        date.fromisoformat(os.environ["ELDERCARE_DEMO_TODAY"])
        if os.environ.get("ELDERCARE_DEMO_TODAY")
        else local_today()
    )
    rng = random.Random(seed)  # noqa: S311  # nosec B311 # seeded, repeatable demo data, not secrets
    ctx = DemoContext(scale=scale, seed=seed, today=today, rng=rng, echo=echo)
    codes = {t.code for t in demo_townships()}
    ctx.townships = [t for t in demo_townships()]
    for code, parent in db.session.execute(
        sa.select(Region.code, Region.parent_code).where(Region.level == "village")
    ):
        if parent in codes:
            ctx.villages.setdefault(parent, []).append(code)
    ctx.townships = [t for t in ctx.townships if ctx.villages.get(t.code)]
    steps = sorted(_register_core_steps() + registry().demo_steps, key=lambda s: s.order)
    started = time.perf_counter()
    with big_page_cache():
        for step in steps:
            t0 = time.perf_counter()
            step.run(ctx)
            db.session.flush()
            echo(f"  {step.name:<24} {time.perf_counter() - t0:6.2f} s")
        audit.record(
            "demo_loaded", "demo", None, {"scale": scale, "seed": seed, "today": today.isoformat()}
        )
        db.session.commit()
    if is_postgres():
        # Statistics for the planner now, not when autovacuum comes round: right after a
        # scale-10 load the claim review page took 1.4 s on plans made for empty tables,
        # 0.1 s once analysed (bench/README.md). SQLite keeps none unless asked (ANALYZE).
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    elapsed = time.perf_counter() - started
    lines = [
        f"demo district loaded in {elapsed:.1f} s (scale {scale}, seed {seed})",
        "",
        f"logins (password for all: {DEMO_PASSWORD}):",
    ]
    lines += [f"  {u:<14} {r:<9} {s}" for u, r, s in ctx.accounts]
    lines += ctx.notes
    lines += [
        "",
        "admin, manager and auditor accounts enrol a second factor (TOTP: any app)",
        "at their first login; ELDERCARE_TOTP=off turns that off for a laptop demo.",
    ]
    return "\n".join(lines)
