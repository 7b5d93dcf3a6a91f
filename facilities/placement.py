"""五保 placement: a 特困 applicant admitted to a care-home bed with their support made
centralised (集中供养), in one transaction. The ranked options are vacancies.placement_options."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from eldercare.errors import Invalid
from eldercare.models import Person, Support, User
from eldercare.people import services as people

from .models import Bed, Stay
from .stays import admit


def place(person: Person, bed: Bed, day: date, user: User | None = None) -> Stay:
    """五保 placement: admit the applicant and record their support as centralised
    (集中供养) from `day`, in one transaction. Raises what admit raises, and Invalid for
    a person without 特困 support."""
    support = person.current_support
    if support is None:
        raise Invalid(f"{person.name} 没有特困供养记录", fields={"person_id": _l("不是特困人员")})
    stay = admit(person, bed, day, user)
    if support.support != Support.CENTRALIZED:
        people.start_wubao(person, support.category.value, "centralized", day)
    return stay
