"""Demo step 30: the district's facilities, beds and a year of stays behind today.

Today's state reproduces PRODUCT.md: 23 care homes with 1,720 beds (about 55 % nursing
type), every centrally supported 特困 person (1,298) in an open care-home stay, 20
day-care centres and 4 home-care organisations with 1,042 beds between them, and the
two private institutions. Behind it, a year of admissions, transfers (within and
between homes), leaves, discharges, deaths and moves that never overlap in a bed.
Everything is written with bulk inserts; `--scale N` multiplies beds and people.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from eldercare.auth.services import hash_password
from eldercare.demo import DEMO_PASSWORD, insert_returning_ids
from eldercare.extensions import db
from eldercare.models import Person, User, WubaoSupport
from eldercare.regions_data import distance_km
from eldercare.timeutil import LOCAL

from .models import (
    Attendance,
    Bed,
    BedOutage,
    CensusConfirmation,
    Facility,
    Leave,
    Room,
    Stay,
    TransferRequest,
)

HOMECARE_ORGS = ("游仙区康乐居家养老服务中心", "游仙区福寿居家养老服务中心",
                 "绵阳颐和居家养老服务有限公司", "游仙区夕阳红居家养老服务站")
PRIVATE = (("万鸿颐养院", 120, "510704003"), ("益康养老中心", 80, "510704004"))
PINYIN = {"涪江": "fujiang", "富乐": "fule", "游仙": "youxian", "春雷": "chunlei",
          "松林": "songlin", "华丰": "huafeng", "石马": "shima", "新桥": "xinqiao",
          "魏城": "weicheng", "沉抗": "chenkang", "忠兴": "zhongxing", "柏林": "bolin",
          "徐家": "xujia", "石板": "shiban", "刘家": "liujia", "玉河": "yuhe", "松垭": "songya",
          "白蝉": "baichan", "观太": "guantai", "云凤": "yunfeng", "太平": "taiping",
          "街子": "jiezi", "东林": "donglin", "梓棉": "zimian", "东宣": "dongxuan"}
CENTRE_HOMES = {"石马", "新桥", "忠兴", "沉抗"}  # larger homes: 中心敬老院
NO_HOME = {"涪江", "富乐"}  # the two central streets send their 特困 persons elsewhere
SINCE = date(2000, 1, 1)


def _split(total: int, weights: list[float]) -> list[int]:
    """Whole numbers proportional to `weights` that add up to exactly `total`."""
    w = sum(weights)
    raw = [total * x / w for x in weights]
    out = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True)[
            :total - sum(out)]:
        out[i] += 1
    return out


def build(ctx) -> None:
    """Facilities, beds, stays, leaves, attendance, census and manager accounts."""
    rng = ctx.rng
    towns = {t.code: t for t in ctx.townships}
    home_towns = [t for t in ctx.townships if t.stem not in NO_HOME][:23]

    residents = db.session.execute(
        sa.select(Person.id, Person.sex, Person.township_code, Person.care_level,
                  WubaoSupport.start_date)
        .join(WubaoSupport, WubaoSupport.person_id == Person.id)
        .where(Person.id.in_(ctx.wubao["centralized"]), WubaoSupport.end_date.is_(None))
    ).all()

    # -- facilities ---------------------------------------------------------------------
    fac_rows = []
    for t in home_towns:
        suffix = "中心敬老院" if t.stem in CENTRE_HOMES else "敬老院"
        fac_rows.append({"name": f"{t.name}{suffix}", "kind": "care_home",
                         "township_code": t.code,
                         "address": f"{t.name}{t.stem}路{rng.randrange(1, 99)}号",
                         "capacity": 0, "opened_on": SINCE})
    care_n = len(fac_rows)
    day_towns = rng.sample(ctx.townships, min(20, len(ctx.townships)))
    for t in day_towns:
        fac_rows.append({"name": f"{t.name}老年人日间照料中心", "kind": "day_care",
                         "township_code": t.code, "address": f"{t.name}社区服务中心",
                         "capacity": 0, "opened_on": date(2015, 6, 1)})
    for i, name in enumerate(HOMECARE_ORGS):
        t = ctx.townships[i % len(ctx.townships)]
        fac_rows.append({"name": name, "kind": "homecare_org", "township_code": t.code,
                         "address": f"{t.name}", "capacity": 0, "opened_on": date(2016, 1, 1)})
    for name, _beds, code in PRIVATE:
        fac_rows.append({"name": name, "kind": "private", "township_code": code,
                         "address": f"{towns[code].name if code in towns else ''}",
                         "capacity": 0, "opened_on": date(2012, 3, 1)})
    fac_ids = insert_returning_ids(Facility, fac_rows)
    homes = list(zip(fac_ids[:care_n], home_towns, strict=True))

    # -- who lives in which home: own township, else the nearest ---------------------
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

    # -- rooms and beds ---------------------------------------------------------------
    room_rows, bed_plan = [], []  # bed_plan: (facility_id, room index, code, sex)
    occupant: dict[int, object] = {}  # index in bed_plan -> resident row

    def rooms_for(fid: int, sexes: list[tuple[str, int]], floor0: int = 1):
        index = []
        n = 0
        for sex, count in sexes:
            while count > 0:
                size = min(count, rng.choice((2, 3, 3, 4)))
                n += 1
                code = f"{floor0 + (n - 1) // 20}{(n - 1) % 20 + 1:02d}"
                room_rows.append({"facility_id": fid, "code": code, "sex": sex})
                for k in range(size):
                    bed_plan.append((fid, len(room_rows) - 1, f"{code}-{k + 1}", sex))
                    index.append(len(bed_plan) - 1)
                count -= size
        return index

    for (fid, _t), size in zip(homes, sizes, strict=True):
        people = by_home[fid]
        men = [r for r in people if r.sex == "M"]
        women = [r for r in people if r.sex == "F"]
        free = size - len(people)
        m_free = round(free * 0.6)
        idx = rooms_for(fid, [("M", len(men) + m_free), ("F", len(women) + free - m_free)])
        m_beds = [i for i in idx if bed_plan[i][3] == "M"]
        f_beds = [i for i in idx if bed_plan[i][3] == "F"]
        rng.shuffle(m_beds)
        rng.shuffle(f_beds)
        for r, i in zip(men, m_beds, strict=False):
            occupant[i] = r
        for r, i in zip(women, f_beds, strict=False):
            occupant[i] = r
    care_beds = len(bed_plan)
    other_beds = []  # (facility id, beds) for day care, organisations, private
    day_ids = fac_ids[care_n:care_n + len(day_towns)]
    org_ids = fac_ids[care_n + len(day_towns):care_n + len(day_towns) + len(HOMECARE_ORGS)]
    private_ids = fac_ids[-len(PRIVATE):]
    day_sizes = [ctx.n(rng.randrange(20, 37)) for _ in day_ids]
    org_sizes = _split(ctx.n(1042) - sum(day_sizes), [1.5, 1.3, 1.1, 0.9])
    other_beds += list(zip(day_ids, day_sizes, strict=True))
    other_beds += list(zip(org_ids, org_sizes, strict=True))
    other_beds += [(fid, ctx.n(b)) for fid, (_n, b, _c) in zip(private_ids, PRIVATE, strict=True)]
    for fid, size in other_beds:
        half = size // 2
        rooms_for(fid, [("M", half), ("F", size - half)])

    room_ids = insert_returning_ids(Room, room_rows)
    # nursing beds: those of full-care, then partial-care residents first, ~55 % per home
    kinds = ["ordinary"] * len(bed_plan)
    care_rank = {"full": 0, "partial": 1, "self": 2}
    for fid, size in zip((h[0] for h in homes), sizes, strict=True):
        idx = [i for i in range(care_beds) if bed_plan[i][0] == fid]
        idx.sort(key=lambda i: (care_rank[occupant[i].care_level.value
                                          if occupant[i].care_level else "self"]
                                if i in occupant else 3, rng.random()))
        for i in idx[:round(size * rng.uniform(0.52, 0.58))]:
            kinds[i] = "nursing"
    for i in range(care_beds, len(bed_plan)):
        kinds[i] = "nursing" if rng.random() < 0.3 else "ordinary"
    bed_ids = insert_returning_ids(Bed, [{"facility_id": fid, "room_id": room_ids[ri], "code": code,
                             "kind": kinds[i], "out_of_service": False,
                             "out_of_service_reason": "", "created_on": SINCE, "version": 1}
                            for i, (fid, ri, code, _sex) in enumerate(bed_plan)])

    db.session.execute(sa.update(Facility).values(capacity=sa.select(sa.func.count(Bed.id)).where(
        Bed.facility_id == Facility.id).scalar_subquery()).execution_options(
        synchronize_session=False))
    _history(ctx, bed_plan, bed_ids, occupant, care_beds, homes)
    _private_and_orgs(ctx, bed_plan, bed_ids, set(private_ids), set(org_ids))
    _attendance(ctx, list(zip(day_ids, [t.code for t in day_towns], strict=True)))
    _managers(ctx, homes, private_ids)
    _month_end_snapshots(ctx)
    ctx.notes.append(f"facilities: {care_n} care homes with {care_beds:,} beds, "
                     f"{len(day_ids)} day-care centres, {len(org_ids)} home-care organisations, "
                     f"{len(private_ids)} private institutions")
    if care_beds != ctx.n(1720):  # the figure PRODUCT.md promises
        raise AssertionError(f"care-home beds {care_beds} != {ctx.n(1720)}")


def _history(ctx, bed_plan, bed_ids, occupant, care_beds, homes) -> None:
    """Open stays for every resident, and a year of what came before them."""
    rng, today = ctx.rng, ctx.today
    year_ago = today - timedelta(days=365)
    used = set(occupant)  # bed indexes that carry history already
    vacant = [i for i in range(care_beds) if i not in occupant]
    rng.shuffle(vacant)
    vacant_by = defaultdict(list)  # (facility, sex) -> vacant bed indexes
    for i in vacant:
        vacant_by[(bed_plan[i][0], bed_plan[i][3])].append(i)

    def take_vacant(fid, sex, other_home=False):
        keys = [k for k in vacant_by if k[1] == sex and (k[0] != fid if other_home
                                                         else k[0] == fid)]
        rng.shuffle(keys)
        for k in keys:
            while vacant_by[k]:
                i = vacant_by[k].pop()
                if i not in used:
                    used.add(i)
                    return i
        return None

    stays, previous = [], []  # previous: past stays of residents who were transferred
    transfers = []  # (resident stay index, previous stay index, between homes)
    start_of = {}
    residents = sorted(occupant.items())
    long_stayers = [(i, r) for i, r in residents if r.start_date < year_ago - timedelta(days=35)]
    rng.shuffle(long_stayers)
    moved_in = {}
    for n, (i, _r) in enumerate(long_stayers[:ctx.n(34)]):
        between = n < ctx.n(6)
        j = take_vacant(bed_plan[i][0], bed_plan[i][3], other_home=between)
        if j is None:
            continue
        t = today - timedelta(days=rng.randrange(20, 340))
        moved_in[i] = (j, t, between)
    for i, r in residents:
        start = moved_in[i][1] if i in moved_in else r.start_date
        start_of[i] = start
        stays.append({"person_id": r.id, "bed_id": bed_ids[i], "facility_id": bed_plan[i][0],
                      "start_date": start, "end_date": None, "end_reason": None})
        if i in moved_in:
            j, t, between = moved_in[i]
            previous.append({"person_id": r.id, "bed_id": bed_ids[j],
                             "facility_id": bed_plan[j][0], "start_date": r.start_date,
                             "end_date": t, "end_reason": "transferred"})
            transfers.append((len(stays) - 1, len(previous) - 1, between))
    prev_ids = insert_returning_ids(Stay, previous)
    for s_i, p_i, _b in transfers:
        stays[s_i]["previous_stay_id"] = prev_ids[p_i]
    for s in stays:
        s.setdefault("previous_stay_id", None)
    stay_ids = insert_returning_ids(Stay, stays)
    db.session.execute(sa.insert(TransferRequest), [
        {"stay_id": prev_ids[p_i], "to_bed_id": stays[s_i]["bed_id"],
         "on_date": stays[s_i]["start_date"], "reason": "离家人近", "status": "approved",
         "requested_at": _at(stays[s_i]["start_date"] - timedelta(days=10), 9),
         "decided_at": _at(stays[s_i]["start_date"] - timedelta(days=5), 15),
         "decision_note": "同意", "new_stay_id": stay_ids[s_i]}
        for s_i, p_i, between in transfers if between])

    # deaths and moves: in the bed a recent admission took over, or in a bed now vacant
    ended = []  # (bed index, end date, reason)
    recent = [i for i, _r in residents if start_of[i] > year_ago + timedelta(days=45)
              and i not in moved_in]
    rng.shuffle(recent)
    deaths, moves = ctx.n(92), ctx.n(8)
    for i in recent[:int(deaths * 0.6)]:
        ended.append((i, start_of[i] - timedelta(days=rng.randrange(2, 40)), "deceased"))
    attempts = 0
    while len(ended) < deaths + moves and attempts < 10 * (deaths + moves):
        attempts += 1
        fid, _ri, _c, sex = bed_plan[rng.randrange(care_beds)]
        j = take_vacant(fid, sex)
        if j is None:
            continue
        reason = "deceased" if len(ended) < deaths else "moved"
        ended.append((j, today - timedelta(days=rng.randrange(3, 360)), reason))
    gone = []
    for j, d, reason in ended:
        sex = bed_plan[j][3]
        township = next(t.code for fid, t in homes if fid == bed_plan[j][0])
        gone.append({"name": ctx.name(sex), "birth_date": ctx.birth(68, 99), "sex": sex,
                     "township_code": township, "village_code": rng.choice(ctx.villages[township])
                     if township in ctx.villages else None,
                     "care_level": rng.choice(("full", "full", "partial", "self")),
                     "status": "deceased" if reason == "deceased" else "moved",
                     "death_date": d if reason == "deceased" else None})
    gone_ids = ctx.add_people(gone)
    moved_rows = [{"b_id": pid, "b_md": d} for pid, (_j, d, reason) in
                  zip(gone_ids, ended, strict=True) if reason == "moved"]
    if moved_rows:
        table = Person.__table__
        db.session.execute(table.update().where(table.c.id == sa.bindparam("b_id"))
                           .values(moved_date=sa.bindparam("b_md")), moved_rows)
    past, supports = [], []
    for pid, (j, d, reason) in zip(gone_ids, ended, strict=True):
        start = d - timedelta(days=rng.randrange(150, 2500))
        past.append({"person_id": pid, "bed_id": bed_ids[j], "facility_id": bed_plan[j][0],
                     "start_date": start, "end_date": d, "end_reason": reason,
                     "previous_stay_id": None})
        supports.append({"person_id": pid, "category": "elderly", "support": "centralized",
                         "start_date": start, "end_date": d,
                         "end_reason": "death" if reason == "deceased" else "moved",
                         "applied_centralized_on": None, "review_due": None})
    insert_returning_ids(Stay, past)
    db.session.execute(sa.insert(WubaoSupport), supports)
    ctx.add_categories([(pid, "tekun") for pid in gone_ids])

    # leaves: a year of them behind, some residents away today (a few overdue)
    leaves = []
    order = list(range(len(stays)))
    rng.shuffle(order)
    away = order[:ctx.n(26)]
    for k in away:
        start = max(stays[k]["start_date"], today - timedelta(days=rng.randrange(1, 25)))
        expected = start + timedelta(days=rng.randrange(3, 30))
        leaves.append({"stay_id": stay_ids[k], "kind": rng.choice(("hospital", "hospital",
                                                                      "home_visit")),
                       "start_date": start, "expected_return": expected, "returned_on": None,
                       "note": ""})
    for k in order[ctx.n(26):ctx.n(26) + ctx.n(260)]:
        lo = max(stays[k]["start_date"], year_ago)
        span = (today - timedelta(days=30) - lo).days
        if span < 5:
            continue
        start = lo + timedelta(days=rng.randrange(span))
        length = rng.randrange(2, 21)
        leaves.append({"stay_id": stay_ids[k], "kind": rng.choice(("hospital", "home_visit",
                                                                      "other")),
                       "start_date": start, "expected_return": start + timedelta(days=length),
                       "returned_on": start + timedelta(days=length + rng.choice((0, 0, 1, 3))),
                       "note": ""})
    db.session.execute(sa.insert(Leave), leaves)

    # a few beds under repair, a few held for applicants on the waiting list
    outages = []
    for _ in range(ctx.n(8)):
        fid, _ri, _c, sex = bed_plan[rng.randrange(care_beds)]
        j = take_vacant(fid, sex)
        if j is not None:
            outages.append((j, today - timedelta(days=rng.randrange(3, 90))))
    if outages:
        db.session.execute(sa.insert(BedOutage), [
            {"bed_id": bed_ids[j], "start_date": d, "end_date": None, "reason": "维修"}
            for j, d in outages])
        db.session.execute(sa.update(Bed).where(Bed.id.in_([bed_ids[j] for j, _d in outages]))
                           .values(out_of_service=True, out_of_service_reason="维修")
                           .execution_options(synchronize_session=False))
    for pid in ctx.waiting_ids[:ctx.n(3)]:
        sex = db.session.scalar(sa.select(Person.sex).where(Person.id == pid))
        fid = bed_plan[rng.randrange(care_beds)][0]
        j = take_vacant(fid, sex.value)
        if j is not None:
            db.session.execute(sa.update(Bed).where(Bed.id == bed_ids[j])
                               .values(reserved_for_id=pid)
                               .execution_options(synchronize_session=False))


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
        rows.append({"name": ctx.name(sex), "birth_date": ctx.birth(65, 97), "sex": sex,
                     "care_level": rng.choice(("self", "partial", "partial", "full"))})
    ids = ctx.add_people(rows)
    stays = []
    for pid, (i, _sex, ended) in zip(ids, plan, strict=True):
        if ended is None:
            start = today - timedelta(days=rng.randrange(5, 1500))
        else:
            start = ended - timedelta(days=rng.randrange(20, 600))
        stays.append({"person_id": pid, "bed_id": bed_ids[i], "facility_id": bed_plan[i][0],
                      "start_date": start, "end_date": ended,
                      "end_reason": "discharged" if ended else None, "previous_stay_id": None})
    insert_returning_ids(Stay, stays)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL)


def _attendance(ctx, centres: list[tuple[int, str]]) -> None:
    """Four weeks of the day-care register: regulars from the centre's township."""
    rng, today = ctx.rng, ctx.today
    pool = defaultdict(list)
    if ctx.homecare_ids:
        for pid, code in db.session.execute(
                sa.select(Person.id, Person.township_code)
                .where(Person.id.in_(ctx.homecare_ids[:ctx.n(4000)]))):
            pool[code].append(pid)
    rows = []
    for fid, code in centres:
        regulars = rng.sample(pool[code], min(len(pool[code]), ctx.n(rng.randrange(12, 26))))
        for back in range(28, -1, -1):
            day = today - timedelta(days=back)
            if day.weekday() >= 5:
                continue
            for pid in regulars:
                if rng.random() > 0.7:
                    continue
                arrived = _at(day, 8) + timedelta(minutes=rng.randrange(20, 100))
                left = None if back == 0 else _at(day, 16, rng.randrange(0, 59))
                rows.append({"person_id": pid, "facility_id": fid, "day": day,
                             "arrived_at": arrived, "left_at": left, "recorded_by": None})
    if rows:
        db.session.execute(sa.insert(Attendance), rows)


def _managers(ctx, homes, private_ids) -> None:
    """One manager per care home (mgr_<township>) and per private institution, with a
    month of daily census confirmations. One password hash for all demo accounts
    keeps the step fast (scrypt is slow on purpose)."""
    rng, today = ctx.rng, ctx.today
    password_hash = hash_password(DEMO_PASSWORD)
    accounts = [(f"mgr_{PINYIN.get(t.stem, t.code)}", fid, f"{t.name}敬老院 院长")
                for fid, t in homes]
    accounts += [("mgr_wanhong", private_ids[0], "万鸿颐养院 管理员"),
                 ("mgr_yikang", private_ids[1], "益康养老中心 管理员")]
    user_ids = insert_returning_ids(User, [
        {"username": u, "display_name": name, "password_hash": password_hash,
         "role": "manager", "facility_id": fid, "active": True, "session_version": 1,
         "failed_logins": 0} for u, fid, name in accounts])
    names = dict(db.session.execute(sa.select(Facility.id, Facility.name)).all())
    for u, fid, _n in accounts:
        ctx.accounts.append((u, "manager", names[fid]))
    census = []
    for uid, (_u, fid, _n) in zip(user_ids[:len(homes)], accounts, strict=False):
        for back in range(30, 0, -1):
            if rng.random() < 0.9:
                day = today - timedelta(days=back)
                census.append({"facility_id": fid, "day": day, "user_id": uid,
                               "at": _at(day, 8, rng.randrange(0, 59)), "residents": 0})
    db.session.execute(sa.insert(CensusConfirmation), census)
