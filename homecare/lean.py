"""Loader options for a scan (issue 15: a scan is cheap).

ENROLMENT: the card's enrolment with its person and provider (joined, as their
relationships say), without the collections a scan never reads — a person's categories
and 特困 supports, a provider's townships — which those models load eagerly (selectin)
for the pages that list them: three statements a scan saved, each time the enrolment is
loaded. Read anyway, they load lazily.

VISIT: the open visit a check-out closes. Its enrolment is the card's and its worker the
one scanning, both in the session already (a lazy many-to-one load by primary key reads
the session's identity map and sends nothing), so neither is joined again; its services
are none while it is open (check-out is what sets them): not loaded, the caller says
so (`set_committed_value`), a statement a check-out saved.
"""

from __future__ import annotations

from sqlalchemy.orm import defaultload, lazyload

from eldercare.models import Person

from .models import Enrolment, Provider, Visit

ENROLMENT = (
    defaultload(Enrolment.person).lazyload(Person.categories),
    defaultload(Enrolment.person).lazyload(Person.supports),
    defaultload(Enrolment.provider).lazyload(Provider.townships),
)
VISIT = (lazyload(Visit.enrolment), lazyload(Visit.worker), lazyload(Visit.services))
