"""Events the core announces and features react to, inside the same transaction.

Receivers must not commit; they flush their changes and may raise a DomainError to
refuse the whole operation.
"""

from blinker import Namespace

_signals = Namespace()

#: sender: the Person; kwargs: on (date). Features end stays, enrolments, visits after it.
person_died = _signals.signal("person-died")

#: sender: the Person; kwargs: on (date). The person left the district.
person_moved = _signals.signal("person-moved")

#: sender: the first day (date) the working calendar changed from (eldercare/workdays.py).
#: Features recount the working-day deadlines still running across it.
calendar_changed = _signals.signal("calendar-changed")
