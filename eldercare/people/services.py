"""Rules of the people registry. Functions flush, never commit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import audit, crypto, idnumbers
from ..errors import Conflict, Invalid
from ..extensions import db
from ..models import (
    CareLevel,
    Category,
    Person,
    PersonCategory,
    PersonStatus,
    Region,
    Sex,
    Support,
    WubaoCategory,
    WubaoSupport,
)
from ..signals import person_died, person_moved


@dataclass
class PersonInput:
    name: str
    id_number: str
    phone: str = ""
    township_code: str | None = None
    village_code: str | None = None
    address: str = ""
    care_level: str | None = None
    emergency_contact: str = ""
    health_notes: str = ""
    categories: tuple[str, ...] = ()
    home_lat: float | None = None
    home_lng: float | None = None
    # False: the input says nothing of the home point, which stays as it is (a PUT
    # without it must not wipe a point the bureau accepted from the first visits).
    sets_home_point: bool = True


# The elder's home point (WGS-84 decimal degrees): where a visit is expected to happen.
HOME_POINT_FIELDS = ("home_lat", "home_lng")
_HOME_RANGES = {"home_lat": (-90.0, 90.0, "纬度"), "home_lng": (-180.0, 180.0, "经度")}


def home_point_problem(lat: float | None, lng: float | None) -> tuple[str, str] | None:
    """(field, message) of what is wrong with a home point, or None. Both or neither;
    each a finite number of decimal degrees within its range. Pure: the form, the API
    and the roster import say the same."""
    if (lat is None) != (lng is None):
        missing = "home_lng" if lng is None else "home_lat"
        return missing, f"住址的纬度和经度须同时填写（缺少{_HOME_RANGES[missing][2]}）。"
    for fld, value in (("home_lat", lat), ("home_lng", lng)):
        if value is None:
            continue
        low, high, word = _HOME_RANGES[fld]
        if not math.isfinite(value) or not low <= value <= high:
            return fld, (
                f"{word}应为 {low:g} 到 {high:g} 之间的十进制度数（WGS-84，例如 31.46 和 104.79）。"
            )
    return None


def check_home_point(lat: float | None, lng: float | None) -> None:
    """Raise Invalid (naming the field) for a home point home_point_problem refuses."""
    problem = home_point_problem(lat, lng)
    if problem is not None:
        raise Invalid(problem[1], fields={problem[0]: problem[1]})


def set_home_point(person: Person, lat: float | None, lng: float | None) -> None:
    """Set (or, with both None, clear) the home point. Raises Invalid."""
    check_home_point(lat, lng)
    person.home_lat, person.home_lng = lat, lng


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise Invalid(_l("姓名不能为空"), fields={"name": _l("姓名不能为空")})
    if len(name) > 64:
        raise Invalid(_l("姓名过长"), fields={"name": _l("姓名最多 64 个字")})
    return name


def _check_regions(township_code: str | None, village_code: str | None) -> None:
    if township_code:
        t = db.session.get(Region, township_code)
        if t is None or t.level != "township":
            raise Invalid(
                _l("无此乡镇（街道）"), fields={"township_code": _l("无此乡镇（街道）代码")}
            )
    if village_code:
        v = db.session.get(Region, village_code)
        if v is None or v.level != "village":
            raise Invalid(_l("无此村（社区）"), fields={"village_code": _l("无此村（社区）代码")})
        if township_code and v.parent_code != township_code:
            raise Invalid(
                _l("村（社区）不属于该乡镇"), fields={"village_code": _l("不属于所选乡镇（街道）")}
            )


def parse_id(raw: str) -> idnumbers.IdInfo:
    """Parse an ID number, turning its error into a field error on `id_number`."""
    try:
        return idnumbers.parse(raw)
    except idnumbers.IdNumberError as exc:
        raise Invalid(str(exc), fields={"id_number": str(exc)}) from None


def find_by_id_number(number: str) -> Person | None:
    """The person with this normalised ID number (through its blind index), or None."""
    return db.session.scalar(sa.select(Person).where(Person.id_number_is(number)))


def _apply(person: Person, data: PersonInput) -> None:
    person.name = _check_name(data.name)
    person.phone = (data.phone or "").strip()[:32]
    person.address = (data.address or "").strip()[:200]
    person.township_code = data.township_code or None
    person.village_code = data.village_code or None
    person.care_level = CareLevel(data.care_level) if data.care_level else None
    person.emergency_contact = (data.emergency_contact or "").strip()[:100]
    person.health_notes = data.health_notes or ""
    if person.village_code and not person.township_code:
        village = db.session.get(Region, person.village_code)
        person.township_code = village.parent_code if village else None
    if data.sets_home_point:
        set_home_point(person, data.home_lat, data.home_lng)
    set_categories(person, data.categories)


PATCHABLE = (
    "name",
    "phone",
    "address",
    "township_code",
    "village_code",
    "care_level",
    *HOME_POINT_FIELDS,
)


def patch_person(person: Person, changes: dict) -> Person:
    """Change only the details named in `changes` (a subset of PATCHABLE; the home
    point's two fields come together). The same rules as update_person. Raises Invalid
    for an unknown field, a bad name, region or home point; flushes (audited)."""
    unknown = set(changes) - set(PATCHABLE)
    if unknown:
        raise Invalid(_l("不能修改这些字段"), fields={k: "不能修改" for k in sorted(unknown)})
    if "name" in changes:
        person.name = _check_name(changes["name"])
    if "phone" in changes:
        person.phone = (changes["phone"] or "").strip()[:32]
    if "address" in changes:
        person.address = (changes["address"] or "").strip()[:200]
    if "care_level" in changes:
        level = changes["care_level"]
        person.care_level = CareLevel(level) if level else None
    if "township_code" in changes or "village_code" in changes:
        township = changes.get("township_code", person.township_code) or None
        village = changes.get("village_code", person.village_code) or None
        if "township_code" in changes and "village_code" not in changes and village:
            old = db.session.get(Region, village)
            village = village if old is not None and old.parent_code == township else None
        _check_regions(township, village)
        if village and not township:
            township = db.session.get_one(Region, village).parent_code
        person.township_code, person.village_code = township, village
    if set(HOME_POINT_FIELDS) & set(changes):
        lat = changes.get("home_lat") if "home_lat" in changes else _ABSENT
        lng = changes.get("home_lng") if "home_lng" in changes else _ABSENT
        if lat is _ABSENT or lng is _ABSENT:
            missing = "home_lat" if lat is _ABSENT else "home_lng"
            raise Invalid(
                _l("住址的纬度和经度须同时给出"), fields={missing: _l("住址的纬度和经度须同时给出")}
            )
        set_home_point(person, lat, lng)  # type: ignore[arg-type]  # both given: not _ABSENT
    db.session.flush()
    return person


_ABSENT = object()


def set_categories(person: Person, categories) -> None:
    wanted = {Category(c) for c in categories}
    for pc in list(person.categories):
        if pc.category not in wanted:
            person.categories.remove(pc)
    have = person.category_set
    for c in sorted(wanted - have):
        person.categories.append(PersonCategory(category=c))


def create_person(data: PersonInput) -> Person:
    """Add a person. Raises Invalid (with the field) for a bad name, ID number or region,
    Conflict when the ID number is already registered."""
    info = parse_id(data.id_number)
    _check_regions(data.township_code, data.village_code)
    if find_by_id_number(info.number):
        raise Conflict(
            _l("该身份证号已登记"),
            fields={"id_number": _l("该身份证号已登记")},
            code="duplicate_id_number",
        )
    person = Person(id_number=info.number, birth_date=info.birth_date, sex=Sex(info.sex))
    _apply(person, data)
    db.session.add(person)
    db.session.flush()
    return person


def update_person(person: Person, data: PersonInput) -> Person:
    """Change a person's details; the ID number may be corrected (birth date and sex
    follow it). Raises Invalid or Conflict as create_person does."""
    info = parse_id(data.id_number)
    _check_regions(data.township_code, data.village_code)
    if info.number != person.id_number:
        other = find_by_id_number(info.number)
        if other is not None and other.id != person.id:
            raise Conflict(
                _l("该身份证号已登记"),
                fields={"id_number": _l("该身份证号已登记")},
                code="duplicate_id_number",
            )
        person.id_number, person.birth_date, person.sex = (
            info.number,
            info.birth_date,
            Sex(info.sex),
        )
    _apply(person, data)
    db.session.flush()
    return person


def reveal_id_number(person: Person) -> str:
    """The full ID number, for a role allowed to see it; the read is audited."""
    audit.record("view_id_number", "people", person.id)
    return person.id_number


def start_wubao(
    person: Person,
    category: str,
    support: str,
    since: date,
    applied_centralized_on: date | None = None,
) -> WubaoSupport:
    """Record 特困 (五保) support from `since`. An open period of another form is ended
    the day before and a new one opened, so history is kept. Raises Conflict for a
    deceased person or a date inside the current period."""
    if person.status == PersonStatus.DECEASED:
        raise Conflict(_l("此人已去世"), code="deceased")
    try:
        cat, sup = WubaoCategory(category), Support(support)
    except ValueError as exc:
        raise Invalid(str(exc), fields={"category": _l("取值无效")}) from None
    current = person.current_support
    if current is not None:
        if since <= current.start_date:
            raise Conflict(_l("日期早于当前供养记录的开始日期"), fields={"since": _l("日期过早")})
        current.end_date = since
        current.end_reason = "changed"
    record = WubaoSupport(
        person=person,
        category=cat,
        support=sup,
        start_date=since,
        applied_centralized_on=applied_centralized_on,
        review_due=date(since.year + 1, since.month, min(since.day, 28)),
    )
    db.session.add(record)
    if Category.TEKUN not in person.category_set:
        person.categories.append(PersonCategory(category=Category.TEKUN))
    db.session.flush()
    return record


def end_wubao(person: Person, on: date, reason: str) -> WubaoSupport | None:
    current = person.current_support
    if current is not None:
        current.end_date = max(on, current.start_date)
        current.end_reason = reason
        db.session.flush()
    return current


def record_death(person: Person, on: date) -> None:
    """Record a death on `on`. The 特困 support ends that day and every feature ends what
    it holds (stays, enrolments) through the person_died signal, in this transaction.
    Raises Conflict if already recorded, Invalid for a date in the future or before birth."""
    if person.status == PersonStatus.DECEASED:
        raise Conflict(_l("已登记死亡"), code="already_deceased")
    if on < person.birth_date:
        raise Invalid(_l("死亡日期早于出生日期"), fields={"date": _l("早于出生日期")})
    from ..timeutil import local_today

    if on > local_today():
        raise Invalid(_l("死亡日期不能晚于今天"), fields={"date": _l("不能晚于今天")})
    person.status = PersonStatus.DECEASED
    person.death_date = on
    end_wubao(person, on, "death")
    db.session.flush()
    person_died.send(person, on=on)


def record_move(person: Person, on: date) -> None:
    """The person moved out of the district on `on`: support ends, features react."""
    if person.status != PersonStatus.ACTIVE:
        raise Conflict(_l("该人员状态不是在册"), code="not_active")
    person.status = PersonStatus.MOVED
    person.moved_date = on
    end_wubao(person, on, "moved")
    db.session.flush()
    person_moved.send(person, on=on)


def number_condition(q: str | None, *, whole: bool = True) -> sa.ColumnElement[bool] | None:
    """SQL condition for people whose ID number is `q` (a whole number, exact, through its
    blind index) or ends with `q` (4 to 18 of its last characters); None when `q` is
    neither. Numbers are stored encrypted: the end is found through the index of the
    last four characters, and a longer end is checked on those few candidates, decrypted.

    `whole` False is for a viewer who sees only masked numbers: such a search would
    answer yes or no to each guessed digit of the stars (the birth date), so only the
    last four characters (shown in the mask) match; a longer end or a whole number
    matches nobody."""
    q = (q or "").strip()
    try:
        number = idnumbers.normalize(q)
    except idnumbers.IdNumberError:
        pass
    else:
        return Person.id_number_is(number) if whole else sa.false()
    digits = q.upper().replace(" ", "")
    if not (digits[:-1].isdigit() and crypto.TAIL <= len(digits) <= 18):
        return None
    tail = Person.id_tail_hash == crypto.id_tail_hash(digits)
    if len(digits) == crypto.TAIL:
        return tail
    if not whole:
        return sa.false()
    ids = [
        pid
        for pid, number in db.session.execute(sa.select(Person.id, Person.id_number).where(tail))
        if number.endswith(digits)
    ]
    return Person.id.in_(ids)


def search(stmt: sa.Select, q: str | None, *, whole: bool = True) -> sa.Select:
    """Filter a people query by name fragment or ID number (full, or its last digits;
    `whole` as number_condition)."""
    q = (q or "").strip()
    if not q:
        return stmt
    by_number = number_condition(q, whole=whole)
    if by_number is not None:
        return stmt.where(by_number)
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return stmt.where(Person.name.like(like, escape="\\"))
