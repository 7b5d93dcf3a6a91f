"""The core's tables. Feature packages declare their own and never add to these."""

from .audit import AuditEntry
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
from .users import Role, User

__all__ = [
    "AuditEntry",
    "CareLevel",
    "Category",
    "Person",
    "PersonCategory",
    "PersonStatus",
    "Region",
    "Role",
    "Sex",
    "Support",
    "WubaoCategory",
    "User",
    "WubaoSupport",
]
