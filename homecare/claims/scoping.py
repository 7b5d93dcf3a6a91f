"""Who sees which claims: the bureau and auditors all, a provider admin its own,
every other role none (deny by default). One helper, used by the API and the pages.

Call-backs are the bureau's check on the provider: a provider sees none of its drawn
visits until the outcome is recorded (knowing which visits will be called, it could
coach those elders or fake only the others), and then only the outcome."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.errors import NotFound
from eldercare.extensions import db
from eldercare.models import Role, User

from .models import CallbackSample, Claim

EVERYTHING = (Role.ADMIN, Role.AUDITOR)


def claim_scope(user: User) -> sa.ColumnElement[bool]:
    if user.role in EVERYTHING:
        return sa.true()
    if user.role == Role.PROVIDER and user.provider_id is not None:
        return Claim.provider_id == user.provider_id
    return sa.false()


def claims(user: User) -> sa.Select:
    return sa.select(Claim).where(claim_scope(user))


def get_claim(user: User, claim_id: int) -> Claim:
    """The claim if `user` may see it; NotFound otherwise (never reveal existence)."""
    claim = db.session.scalar(claims(user).where(Claim.id == claim_id))
    if claim is None:
        raise NotFound(_l("未找到该结算申报"))
    return claim


def callback_scope(user: User) -> sa.ColumnElement[bool]:
    """The call-back samples `user` may know of: the bureau and auditors all; a provider
    its own whose outcome is recorded (never one still to be called); others none."""
    if user.role in EVERYTHING:
        return sa.true()
    if user.role == Role.PROVIDER and user.provider_id is not None:
        return sa.and_(
            CallbackSample.provider_id == user.provider_id, CallbackSample.outcome.is_not(None)
        )
    return sa.false()


def get_callback(user: User, sample_id: int) -> CallbackSample:
    """The call-back sample if `user` may know of it; NotFound otherwise."""
    sample = db.session.scalar(
        sa.select(CallbackSample).where(CallbackSample.id == sample_id, callback_scope(user))
    )
    if sample is None:
        raise NotFound("未找到该回访")
    return sample


def sees_callback_notes(user: User) -> bool:
    """Who reads how a call-back was drawn and what the elder said: the bureau and
    auditors. A provider reads only the outcome."""
    return user.role in EVERYTHING
