"""The year's step deadlines and need points through the API (intake/settings.py), on
the intake API's blueprint: the bureau reads them, its admin sets them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from eldercare.apikit import Body, Query, endpoint
from eldercare.extensions import db
from eldercare.timeutil import local_today

from . import scoping, settings
from .api import ADMIN, bp


class SettingsQuery(Query):
    year: int | None = Field(None, ge=2000, le=2100)


class SettingOut(BaseModel):
    code: str
    label: str
    value: int
    min: int
    max: int
    source: str  # bureau | inherited | default | statute
    source_text: str


class SettingsOut(BaseModel):
    year: int
    inherited_from: int | None
    settings: list[SettingOut]
    statutory: list[dict]


class SettingsIn(Body):
    values: dict[str, int] = Field(max_length=len(settings.SETTINGS))


def settings_json(year: int) -> dict:
    v = settings.values_for(year)
    return {
        "year": year,
        "inherited_from": v.inherited_from,
        "settings": [
            {
                "code": s.code,
                "label": str(s.label),
                "value": v[s.code],
                "min": s.lo,
                "max": s.hi,
                "source": v.source(s.code),
                "source_text": str(settings.source_text(v, s.code)),
            }
            for s in settings.SETTINGS
        ],
        "statutory": [
            {"label": str(label), "days": days, "working_days": working, "source": str(source)}
            for label, days, working, source in settings.STATUTORY
        ],
    }


@endpoint(
    bp,
    "/homecare/year-settings",
    roles=scoping.BUREAU,
    query=SettingsQuery,
    response=SettingsOut,
    summary="The year's step deadlines (working days) and need points, each with its source",
)
def get_settings(query: SettingsQuery):
    return settings_json(query.year or local_today().year)


@endpoint(
    bp,
    "/homecare/year-settings",
    ["PUT"],
    roles=ADMIN,
    query=SettingsQuery,
    body=SettingsIn,
    response=SettingsOut,
    summary="Set some of the year's step deadlines and need points (the others keep theirs)",
)
def put_settings(query: SettingsQuery, body: SettingsIn):
    year = query.year or local_today().year
    settings.set_values(year, dict(body.values))
    out = settings_json(year)
    db.session.commit()
    return out
