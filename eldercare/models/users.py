from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..crypto import EncryptedString
from ..database import UTCDateTime, enum_column, utcnow
from ..extensions import Model


class Role(enum.StrEnum):
    ADMIN = "admin"  # bureau staff
    MANAGER = "manager"  # one facility
    PROVIDER = "provider"  # one home-care provider: its admin
    WORKER = "worker"  # one provider: scans only
    AUDITOR = "auditor"  # reads everything, changes nothing
    TOWNSHIP = "township"  # a clerk of one township or street (乡镇/街道): its applications


class User(Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "role <> 'manager' OR facility_id IS NOT NULL", name="manager_has_facility"
        ),
        sa.CheckConstraint(
            "role NOT IN ('provider', 'worker') OR provider_id IS NOT NULL",
            name="provider_staff_has_provider",
        ),
        sa.CheckConstraint(
            "role <> 'township' OR township_code IS NOT NULL", name="township_clerk_has_township"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(64), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    facility_id: Mapped[int | None] = mapped_column(
        comment="facilities.id for a manager; the facilities feature adds the foreign key"
    )
    provider_id: Mapped[int | None] = mapped_column(
        comment="providers.id for provider staff and workers; the homecare feature adds the key"
    )
    township_code: Mapped[str | None] = mapped_column(
        sa.ForeignKey("regions.code"), comment="the township of a township clerk (乡镇/街道)"
    )
    active: Mapped[bool] = mapped_column(default=True)
    session_version: Mapped[int] = mapped_column(
        default=1, comment="bumped on logout, disable or password change: ends every session"
    )
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    totp_secret: Mapped[str | None] = mapped_column(
        EncryptedString("totp_secret", 128), comment="second factor (TOTP), AES-GCM"
    )
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int | None] = mapped_column(
        comment="RFC 6238 time step of the last code accepted: a code is good once"
    )
    must_change_password: Mapped[bool] = mapped_column(
        default=False,
        server_default=sa.false(),
        comment="set by someone else (created, reset): the next login must change it",
    )

    # Flask-Login protocol -----------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def can_write(self) -> bool:
        return self.role != Role.AUDITOR

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"
