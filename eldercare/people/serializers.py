"""What each role sees of a person (one place: ENGINEERING.md, per-role serialisers)."""

from __future__ import annotations

from datetime import date

from ..idnumbers import mask
from ..models import Person, User
from ..scoping import sees_full_id, sees_health
from ..timeutil import local_today
from .services import reveal_id_number


def birth_json(person: Person, user: User, on: date | None = None) -> dict:
    """Age and birth year for everyone; the birth date only for a role that may see the
    full ID number: to anyone else it would fill the eight stars of the masked one."""
    out: dict[str, object] = {
        "birth_year": person.birth_date.year,
        "age": person.age_on(on or local_today()),
    }
    if sees_full_id(user):
        out["birth_date"] = person.birth_date
    return out


def person_json(person: Person, user: User, *, reveal: bool | None = None) -> dict:
    """A person as `user` may see them. The full ID number is shown (and the read
    audited) only to roles allowed to see it."""
    full = sees_full_id(user) if reveal is None else (reveal and sees_full_id(user))
    support = person.current_support
    out = {
        "id": person.id,
        "name": person.name,
        "id_number": reveal_id_number(person) if full else mask(person.id_number),
        **birth_json(person, user),
        "sex": person.sex.value,
        "status": person.status.value,
        "death_date": person.death_date,
        "phone": person.phone,
        "township_code": person.township_code,
        "village_code": person.village_code,
        "address": person.address,
        "care_level": person.care_level.value if person.care_level else None,
        "home_lat": person.home_lat,
        "home_lng": person.home_lng,
        "categories": sorted(c.value for c in person.category_set),
        "wubao": None if support is None else wubao_json(support),
    }
    if sees_health(user):
        out["health_notes"] = person.health_notes
        out["emergency_contact"] = person.emergency_contact
    return out


def wubao_json(s) -> dict:
    return {
        "id": s.id,
        "category": s.category.value,
        "support": s.support.value,
        "since": s.start_date,
        "until": s.end_date,
        "end_reason": s.end_reason or None,
        "applied_centralized_on": s.applied_centralized_on,
        "review_due": s.review_due,
    }


def age(person: Person, on: date) -> int:
    return person.age_on(on)
