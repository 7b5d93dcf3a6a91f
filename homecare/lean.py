"""Loader options for a scan (issue 15: a scan is cheap): the enrolment with its person
and provider (joined, as their relationships say), without the collections a scan never
reads — a person's categories and 特困 supports, a provider's townships — which those
models load eagerly (selectin) for the pages that list them: three statements a scan
saved, each time the enrolment is loaded. Read anyway, they load lazily."""

from __future__ import annotations

from sqlalchemy.orm import defaultload

from eldercare.models import Person

from .models import Enrolment, Provider, Visit

ENROLMENT = (
    defaultload(Enrolment.person).lazyload(Person.categories),
    defaultload(Enrolment.person).lazyload(Person.supports),
    defaultload(Enrolment.provider).lazyload(Provider.townships),
)
VISIT = (defaultload(Visit.enrolment).options(*ENROLMENT),)
