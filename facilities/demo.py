"""Demo step 30: the district's facilities, beds and a year of stays behind today.

Today's state reproduces PRODUCT.md: 23 care homes with 1,720 beds (about 55 % nursing
type), every centrally supported 特困 person (1,298) in an open care-home stay, 20
day-care centres and 4 home-care organisations with 1,042 beds between them, and the
two private institutions. Behind it, a year of admissions, transfers (within and
between homes), leaves, discharges, deaths and moves that never overlap in a bed.
Everything is written with bulk inserts; `--scale N` multiplies beds and people. The
year behind today is demo_history.py's.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from eldercare.auth.services import hash_password
from eldercare.bulk import insert_returning_ids, insert_rows
from eldercare.demo import DEMO_PASSWORD
from eldercare.extensions import db
from eldercare.models import Person, User, WubaoSupport
from eldercare.regions_data import distance_km

from . import demo_daycare
from .demo_history import at, history
from .models import Bed, CensusConfirmation, Facility, Room, Stay

HOMECARE_ORGS = (
    "游仙区康乐居家养老服务中心",
    "游仙区福寿居家养老服务中心",
    "绵阳颐和居家养老服务有限公司",
    "游仙区夕阳红居家养老服务站",
)
PRIVATE = (("万鸿颐养院", 120, "510704003"), ("益康养老中心", 80, "510704004"))
PINYIN = {
    "涪江": "fujiang",
    "富乐": "fule",
    "游仙": "youxian",
    "春雷": "chunlei",
    "松林": "songlin",
    "华丰": "huafeng",
    "石马": "shima",
    "新桥": "xinqiao",
    "魏城": "weicheng",
    "沉抗": "chenkang",
    "忠兴": "zhongxing",
    "柏林": "bolin",
    "徐家": "xujia",
    "石板": "shiban",
    "刘家": "liujia",
    "玉河": "yuhe",
    "松垭": "songya",
    "白蝉": "baichan",
    "观太": "guantai",
    "云凤": "yunfeng",
    "太平": "taiping",
    "街子": "jiezi",
    "东林": "donglin",
    "梓棉": "zimian",
    "东宣": "dongxuan",
}
CENTRE_HOMES = {"石马", "新桥", "忠兴", "沉抗"}  # larger homes: 中心敬老院
NO_HOME = {"涪江", "富乐"}  # the two central streets send their 特困 persons elsewhere
SINCE = date(2000, 1, 1)


def _split(total: int, weights: list[float]) -> list[int]:
    """Whole numbers proportional to `weights` that add up to exactly `total`."""
    w = sum(weights)
    raw = [total * x / w for x in weights]
    out = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True)[
        : total - sum(out)
    ]:
        out[i] += 1
    return out


@dataclass
class Homes:
    """The facilities as written: care homes with their townships, and the other kinds."""

    homes: list[tuple[int, Any]]  # (facility id, regions_data.Township) of care homes
    day_care: list[tuple[int, Any]]  # (facility id, township) of day-care centres
    orgs: list[int]
    private: list[int]


@dataclass
class BedPlan:
    """Rooms and beds before they are written; `beds` rows are (facility id, index in
    `rooms`, bed code, sex), `occupant` the resident planned for a bed (by index)."""

    rng: random.Random
    rooms: list[dict] = field(default_factory=list)
    beds: list[tuple[int, int, str, str]] = field(default_factory=list)
    occupant: dict[int, Any] = field(default_factory=dict)

    def add_rooms(self, fid: int, sexes: list[tuple[str, int]], floor0: int = 1) -> list[int]:
        """Rooms of two to four beds for `count` beds of each sex; the new beds' indexes."""
        index = []
        n = 0
        for sex, count in sexes:
            while count > 0:
                size = min(count, self.rng.choice((2, 3, 3, 4)))
                n += 1
                code = f"{floor0 + (n - 1) // 20}{(n - 1) % 20 + 1:02d}"
                self.rooms.append({"facility_id": fid, "code": code, "sex": sex})
                for k in range(size):
                    self.beds.append((fid, len(self.rooms) - 1, f"{code}-{k + 1}", sex))
                    index.append(len(self.beds) - 1)
                count -= size
        return index


def build(ctx) -> None:
    """Facilities, beds, stays, leaves, attendance, census and manager accounts."""
    home_towns = [t for t in ctx.townships if t.stem not in NO_HOME][:23]
    residents = db.session.execute(
        sa.select(
            Person.id, Person.sex, Person.township_code, Person.care_level, WubaoSupport.start_date
        )
        .join(WubaoSupport, WubaoSupport.person_id == Person.id)
        .where(Person.id.in_(ctx.wubao["centralized"]), WubaoSupport.end_date.is_(None))
    ).all()
    made = _facilities(ctx, home_towns)
    by_home, sizes = _residents_by_home(ctx, made.homes, residents)
    plan = BedPlan(ctx.rng)
    _care_home_beds(plan, made.homes, sizes, by_home)
    care_beds = len(plan.beds)
    _other_beds(ctx, plan, made)
    room_ids = insert_returning_ids(Room, plan.rooms)
    kinds = _bed_kinds(ctx, plan, made.homes, sizes, care_beds)
    bed_ids = insert_returning_ids(
        Bed,
        [
            {
                "facility_id": fid,
                "room_id": room_ids[ri],
                "code": code,
                "kind": kinds[i],
                "out_of_service": False,
                "out_of_service_reason": "",
                "created_on": SINCE,
                "version": 1,
            }
            for i, (fid, ri, code, _sex) in enumerate(plan.beds)
        ],
    )
    db.session.execute(
        sa.update(Facility)
        .values(
            capacity=sa.select(sa.func.count(Bed.id))
            .where(Bed.facility_id == Facility.id)
            .scalar_subquery()
        )
        .execution_options(synchronize_session=False)
    )
    history(ctx, plan.beds, bed_ids, plan.occupant, care_beds, made.homes)
    _private_and_orgs(ctx, plan.beds, bed_ids, set(made.private), set(made.orgs))
    password_hash = hash_password(DEMO_PASSWORD)  # one hash for all: scrypt is slow
    _managers(ctx, made.homes, made.private, password_hash)
    demo_daycare.build(ctx, made.day_care, password_hash, PINYIN)
    _month_end_snapshots(ctx)
    ctx.notes.append(
        f"facilities: {len(made.homes)} care homes with {care_beds:,} beds, "
        f"{len(made.day_care)} day-care centres, {len(made.orgs)} home-care "
        f"organisations, {len(made.private)} private institutions"
    )
    if care_beds != ctx.n(1720):  # the figure PRODUCT.md promises
        raise AssertionError(f"care-home beds {care_beds} != {ctx.n(1720)}")


def _facilities(ctx, home_towns: list) -> Homes:
    """A care home in 23 townships, 20 day-care centres, the home-care organisations and
    the private institutions."""
    rng = ctx.rng
    towns = {t.code: t for t in ctx.townships}
    rows = []
    for t in home_towns:
        suffix = "中心敬老院" if t.stem in CENTRE_HOMES else "敬老院"
        rows.append(
            {
                "name": f"{t.name}{suffix}",
                "kind": "care_home",
                "township_code": t.code,
                "address": f"{t.name}{t.stem}路{rng.randrange(1, 99)}号",
                "capacity": 0,
                "opened_on": SINCE,
            }
        )
    day_towns = rng.sample(ctx.townships, min(20, len(ctx.townships)))
    for t in day_towns:
        rows.append(
            {
                "name": f"{t.name}老年人日间照料中心",
                "kind": "day_care",
                "township_code": t.code,
                "address": f"{t.name}社区服务中心",
                "capacity": 0,
                "opened_on": date(2015, 6, 1),
            }
        )
    for i, name in enumerate(HOMECARE_ORGS):
        t = ctx.townships[i % len(ctx.townships)]
        rows.append(
            {
                "name": name,
                "kind": "homecare_org",
                "township_code": t.code,
                "address": f"{t.name}",
                "capacity": 0,
                "opened_on": date(2016, 1, 1),
            }
        )
    for name, _beds, code in PRIVATE:
        rows.append(
            {
                "name": name,
                "kind": "private",
                "township_code": code,
                "address": f"{towns[code].name if code in towns else ''}",
                "capacity": 0,
                "opened_on": date(2012, 3, 1),
            }
        )
    ids = insert_returning_ids(Facility, rows)
    care_n, day_n = len(home_towns), len(day_towns)
    return Homes(
        homes=list(zip(ids[:care_n], home_towns, strict=True)),
        day_care=list(zip(ids[care_n : care_n + day_n], day_towns, strict=True)),
        orgs=ids[care_n + day_n : care_n + day_n + len(HOMECARE_ORGS)],
        private=ids[-len(PRIVATE) :],
    )


def _residents_by_home(ctx, homes, residents) -> tuple[dict[int, list], list[int]]:
    """Who lives in which home (their own township's, else the nearest) and each home's
    number of beds (1,720 in all, a couple more than its residents)."""
    rng = ctx.rng
    towns = {t.code: t for t in ctx.townships}
    home_towns = [t for _fid, t in homes]

    def nearest(code):
        t = towns.get(code) or home_towns[0]
        return min(homes, key=lambda h: distance_km(t.lat, t.lng, h[1].lat, h[1].lng))[0]

    own = {t.code: fid for fid, t in homes}
    by_home: dict[int, list] = defaultdict(list)
    for r in residents:
        by_home[own.get(r.township_code) or nearest(r.township_code)].append(r)
    weights = [max(1, len(by_home[fid])) * rng.uniform(1.0, 1.25) for fid, _t in homes]
    sizes = _split(ctx.n(1720), weights)
    for (fid, _t), size in zip(homes, sizes, strict=True):  # more residents than beds: move
        while len(by_home[fid]) > size - 2:
            spare = max(homes, key=lambda h: sizes[homes.index(h)] - len(by_home[h[0]]))[0]
            by_home[spare].append(by_home[fid].pop())
    return by_home, sizes


def _care_home_beds(plan: BedPlan, homes, sizes: list[int], by_home: dict[int, list]) -> None:
    """Each home's rooms, men's and women's, with its residents in beds of their sex."""
    for (fid, _t), size in zip(homes, sizes, strict=True):
        people = by_home[fid]
        men = [r for r in people if r.sex == "M"]
        women = [r for r in people if r.sex == "F"]
        free = size - len(people)
        m_free = round(free * 0.6)
        idx = plan.add_rooms(fid, [("M", len(men) + m_free), ("F", len(women) + free - m_free)])
        m_beds = [i for i in idx if plan.beds[i][3] == "M"]
        f_beds = [i for i in idx if plan.beds[i][3] == "F"]
        plan.rng.shuffle(m_beds)
        plan.rng.shuffle(f_beds)
        for r, i in zip(men, m_beds, strict=False):
            plan.occupant[i] = r
        for r, i in zip(women, f_beds, strict=False):
            plan.occupant[i] = r


def _other_beds(ctx, plan: BedPlan, made: Homes) -> None:
    """Day care, the organisations (1,042 beds between them) and the private homes."""
    rng = ctx.rng
    day_sizes = [ctx.n(rng.randrange(20, 37)) for _ in made.day_care]
    org_sizes = _split(ctx.n(1042) - sum(day_sizes), [1.5, 1.3, 1.1, 0.9])
    other = [(fid, size) for (fid, _t), size in zip(made.day_care, day_sizes, strict=True)]
    other += list(zip(made.orgs, org_sizes, strict=True))
    other += [(fid, ctx.n(b)) for fid, (_n, b, _c) in zip(made.private, PRIVATE, strict=True)]
    for fid, size in other:
        half = size // 2
        plan.add_rooms(fid, [("M", half), ("F", size - half)])


def _bed_kinds(ctx, plan: BedPlan, homes, sizes: list[int], care_beds: int) -> list[str]:
    """Nursing beds: ~55 % of each home's, those of full-care, then partial-care residents
    first; ~30 % elsewhere."""
    rng = ctx.rng
    kinds = ["ordinary"] * len(plan.beds)
    care_rank = {"full": 0, "partial": 1, "self": 2}
    occupant = plan.occupant
    for fid, size in zip((h[0] for h in homes), sizes, strict=True):
        idx = [i for i in range(care_beds) if plan.beds[i][0] == fid]
        idx.sort(
            key=lambda i: (
                care_rank[occupant[i].care_level.value if occupant[i].care_level else "self"]
                if i in occupant
                else 3,
                rng.random(),
            )
        )
        for i in idx[: round(size * rng.uniform(0.52, 0.58))]:
            kinds[i] = "nursing"
    for i in range(care_beds, len(plan.beds)):
        kinds[i] = "nursing" if rng.random() < 0.3 else "ordinary"
    return kinds


def _month_end_snapshots(ctx) -> None:
    """What the occupancy-snapshot job would have written on the last twelve month-ends,
    so the trend chart reads stored figures."""
    from .jobs import occupancy_snapshot

    db.session.flush()
    first = ctx.today.replace(day=1)
    for _ in range(12):
        month_end = first - timedelta(days=1)
        occupancy_snapshot(month_end.isoformat())
        first = month_end.replace(day=1)


def _private_and_orgs(ctx, bed_plan, bed_ids, private_ids, org_ids) -> None:
    """Self-paying elders in private institutions and organisations' beds, with
    discharges during the year."""
    rng, today = ctx.rng, ctx.today
    rows, plan = [], []
    for i, (fid, _ri, _code, sex) in enumerate(bed_plan):
        share = 0.7 if fid in private_ids else 0.35 if fid in org_ids else 0
        if not share:
            continue
        r = rng.random()
        if r < share:
            plan.append((i, sex, None))
        elif r < share + 0.08:
            plan.append((i, sex, today - timedelta(days=rng.randrange(5, 360))))
    for _i, sex, _d in plan:
        rows.append(
            {
                "name": ctx.name(sex),
                "birth_date": ctx.birth(65, 97),
                "sex": sex,
                "care_level": rng.choice(("self", "partial", "partial", "full")),
            }
        )
    ids = ctx.add_people(rows)
    stays = []
    for pid, (i, _sex, ended) in zip(ids, plan, strict=True):
        if ended is None:
            start = today - timedelta(days=rng.randrange(5, 1500))
        else:
            start = ended - timedelta(days=rng.randrange(20, 600))
        stays.append(
            {
                "person_id": pid,
                "bed_id": bed_ids[i],
                "facility_id": bed_plan[i][0],
                "start_date": start,
                "end_date": ended,
                "end_reason": "discharged" if ended else None,
                "previous_stay_id": None,
            }
        )
    insert_returning_ids(Stay, stays)


def _managers(ctx, homes, private_ids, password_hash: str) -> None:
    """One manager per care home (mgr_<township>) and per private institution, with a
    month of daily census confirmations. One password hash for all demo accounts
    keeps the step fast (scrypt is slow on purpose)."""
    rng, today = ctx.rng, ctx.today
    accounts = [
        (f"mgr_{PINYIN.get(t.stem, t.code)}", fid, f"{t.name}敬老院 院长") for fid, t in homes
    ]
    accounts += [
        ("mgr_wanhong", private_ids[0], "万鸿颐养院 管理员"),
        ("mgr_yikang", private_ids[1], "益康养老中心 管理员"),
    ]
    user_ids = insert_returning_ids(
        User,
        [
            {
                "username": u,
                "display_name": name,
                "password_hash": password_hash,
                "role": "manager",
                "facility_id": fid,
                "active": True,
                "session_version": 1,
                "failed_logins": 0,
            }
            for u, fid, name in accounts
        ],
    )
    names = dict(db.session.execute(sa.select(Facility.id, Facility.name)).all())
    for u, fid, _n in accounts:
        ctx.accounts.append((u, "manager", names[fid]))
    census = []
    for uid, (_u, fid, _n) in zip(user_ids[: len(homes)], accounts, strict=False):
        for back in range(30, 0, -1):
            if rng.random() < 0.9:
                day = today - timedelta(days=back)
                census.append(
                    {
                        "facility_id": fid,
                        "day": day,
                        "user_id": uid,
                        "at": at(day, 8, rng.randrange(0, 59)),
                        "residents": 0,
                    }
                )
    insert_rows(CensusConfirmation, census)
