"""The core's tables. Feature packages declare their own and never add to these."""

from .audit import AuditEntry
from .calendar import CalendarDay, DayKind
from .jobs import Alert, JobFailure, JobRun
from .people import (
    CareLevel,
    Category,
    Person,
    PersonCategory,
    PersonStatus,
    Sex,
    Support,
    WubaoCategory,
    WubaoSupport,
)
from .regions import Region
from .throttle import Throttle
from .users import Role, User

__all__ = [
    "Alert",
    "AuditEntry",
    "CalendarDay",
    "CareLevel",
    "Category",
    "DayKind",
    "JobFailure",
    "JobRun",
    "Person",
    "PersonCategory",
    "PersonStatus",
    "Region",
    "Role",
    "Sex",
    "Support",
    "Throttle",
    "User",
    "WubaoCategory",
    "WubaoSupport",
]
