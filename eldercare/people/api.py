"""People API (API.md "People")."""

from __future__ import annotations

import datetime as dt
from datetime import date
from typing import Literal

from flask import Blueprint, request
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, Field

from .. import scoping
from ..api_errors import ApiError
from ..apikit import ALL_ROLES, Body, PageQuery, endpoint, paginate
from ..auth.web import api_user
from ..extensions import db
from ..models import Person, Role
from . import imports, services
from .serializers import person_json, wubao_json

bp = Blueprint("people_api", __name__, url_prefix="/api/v1")

WRITERS = (Role.ADMIN,)


LAT_DOC = "the elder's home point: WGS-84 latitude in decimal degrees (with home_lng, or neither)"
LNG_DOC = "the elder's home point: WGS-84 longitude in decimal degrees (with home_lat, or neither)"


class PersonIn(Body):
    name: str = Field(min_length=1, max_length=64)
    id_number: str = Field(min_length=1, max_length=40)
    phone: str = Field("", max_length=32)
    township_code: str | None = Field(None, max_length=12)
    village_code: str | None = Field(None, max_length=12)
    address: str = Field("", max_length=200)
    care_level: Literal["self", "partial", "full"] | None = None
    emergency_contact: str = Field("", max_length=100)
    health_notes: str = Field("", max_length=2000)
    categories: list[Literal["tekun", "dibao", "age80", "disabled", "alone", "empty_nest"]] = []
    home_lat: float | None = Field(None, description=LAT_DOC)
    home_lng: float | None = Field(None, description=LNG_DOC)


class PersonPatch(Body):
    """Only the fields given change; `home_lat` and `home_lng` come together (both null
    clears the home point)."""

    name: str | None = Field(None, min_length=1, max_length=64)
    phone: str | None = Field(None, max_length=32)
    township_code: str | None = Field(None, max_length=12)
    village_code: str | None = Field(None, max_length=12)
    address: str | None = Field(None, max_length=200)
    care_level: Literal["self", "partial", "full"] | None = None
    home_lat: float | None = Field(None, description=LAT_DOC)
    home_lng: float | None = Field(None, description=LNG_DOC)


class WubaoOut(BaseModel):
    id: int
    category: str
    support: str
    since: date
    until: date | None
    end_reason: str | None
    applied_centralized_on: date | None
    review_due: date | None


class PersonOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    name: str
    id_number: str
    birth_date: date | None = Field(
        None,
        description=(
            "only for roles that see full ID numbers (the masked stars are the birth date)"
        ),
    )
    birth_year: int
    age: int
    sex: Literal["M", "F"]
    status: Literal["active", "deceased", "moved"]
    death_date: date | None
    care_level: str | None
    categories: list[str]
    wubao: WubaoOut | None


class PeoplePage(BaseModel):
    items: list[PersonOut]
    total: int
    page: int
    per_page: int


class PeopleQuery(PageQuery):
    q: str | None = Field(None, max_length=64)
    township_code: str | None = Field(None, max_length=12)
    status: Literal["active", "deceased", "moved"] | None = None
    category: Literal["tekun", "dibao", "age80", "disabled", "alone", "empty_nest"] | None = None


def _input(body: PersonIn) -> services.PersonInput:
    given = bool(set(services.HOME_POINT_FIELDS) & body.model_fields_set)
    return services.PersonInput(**body.model_dump(), sets_home_point=given)


@endpoint(
    bp,
    "/people",
    ["POST"],
    roles=WRITERS,
    body=PersonIn,
    response=PersonOut,
    status=201,
    summary="Register a person",
)
def create(body: PersonIn):
    person = services.create_person(_input(body))
    out = person_json(person, api_user())
    db.session.commit()
    return out


@endpoint(
    bp,
    "/people",
    roles=ALL_ROLES,
    query=PeopleQuery,
    response=PeoplePage,
    summary="Search people by name or ID number (within the caller's scope)",
)
def index(query: PeopleQuery):
    user = api_user()
    stmt = services.search(
        scoping.people(user), query.q, whole=scoping.sees_full_id(user)
    ).order_by(Person.id)
    if query.township_code:
        stmt = stmt.where(Person.township_code == query.township_code)
    if query.status:
        stmt = stmt.where(Person.status == query.status)
    if query.category:
        from ..models import PersonCategory

        stmt = stmt.where(Person.categories.any(PersonCategory.category == query.category))
    # Lists mask ID numbers for everyone: a full number is shown one person at a time.
    result = paginate(stmt, query, lambda p: person_json(p, user, reveal=False))
    db.session.commit()
    return result


@endpoint(
    bp,
    "/people/<int:person_id>",
    roles=ALL_ROLES,
    response=PersonOut,
    summary="One person (ID number masked unless the role may see it; reads are audited)",
)
def show(person_id: int):
    user = api_user()
    out = person_json(scoping.get_person(user, person_id), user)
    db.session.commit()  # the audit entry of a full ID number read
    return out


@endpoint(
    bp,
    "/people/<int:person_id>",
    ["PUT"],
    roles=WRITERS,
    body=PersonIn,
    response=PersonOut,
    summary="Change a person's details",
)
def update(person_id: int, body: PersonIn):
    user = api_user()
    person = services.update_person(scoping.get_person(user, person_id), _input(body))
    out = person_json(person, user)
    db.session.commit()
    return out


@endpoint(
    bp,
    "/people/<int:person_id>",
    ["PATCH"],
    roles=WRITERS,
    body=PersonPatch,
    response=PersonOut,
    summary="Change some of a person's details (home point too)",
)
def patch(person_id: int, body: PersonPatch):
    user = api_user()
    person = scoping.get_person(user, person_id)
    if "name" in body.model_fields_set and body.name is None:
        raise ApiError(422, "validation_failed", _l("姓名不能为空"), {"name": _l("姓名不能为空")})
    services.patch_person(person, body.model_dump(include=body.model_fields_set))
    out = person_json(person, user)
    db.session.commit()
    return out


class WubaoIn(Body):
    category: Literal["elderly", "disabled", "minor"]
    support: Literal["dispersed", "centralized"]
    since: date
    applied_centralized_on: date | None = None


@endpoint(
    bp,
    "/people/<int:person_id>/wubao",
    ["POST"],
    roles=WRITERS,
    body=WubaoIn,
    response=WubaoOut,
    status=201,
    summary="Record 特困 (五保) support",
)
def wubao(person_id: int, body: WubaoIn):
    person = scoping.get_person(api_user(), person_id)
    record = services.start_wubao(
        person, body.category, body.support, body.since, body.applied_centralized_on
    )
    out = wubao_json(record)
    db.session.commit()
    return out


class DateIn(Body):
    date: dt.date


@endpoint(
    bp,
    "/people/<int:person_id>/death",
    ["POST"],
    roles=WRITERS,
    body=DateIn,
    response=PersonOut,
    summary="Record a death: ends stays, enrolments and support",
)
def death(person_id: int, body: DateIn):
    user = api_user()
    person = scoping.get_person(user, person_id)
    services.record_death(person, body.date)
    out = person_json(person, user)
    db.session.commit()
    return out


@endpoint(
    bp,
    "/people/<int:person_id>/moved",
    ["POST"],
    roles=WRITERS,
    body=DateIn,
    response=PersonOut,
    summary="Record a move out of the district",
)
def moved(person_id: int, body: DateIn):
    user = api_user()
    person = scoping.get_person(user, person_id)
    services.record_move(person, body.date)
    out = person_json(person, user)
    db.session.commit()
    return out


class ImportProblem(BaseModel):
    row: int | None = Field(
        description="row number as the spreadsheet shows it; null for the whole file"
    )
    column: str | None = Field(
        description="the header text as written in the file; null for a whole row"
    )
    message: str
    seq: str | None = Field(None, description="the row's 序号, where the file has that column")


class ImportOut(BaseModel):
    rows: int
    created: int
    updated: int
    errors: list[ImportProblem]
    warnings: list[ImportProblem]
    file_type: str = Field(
        "", description="xlsx, csv/utf-8, csv/gbk or csv/utf-16: how the file was read"
    )


@endpoint(
    bp,
    "/people/import",
    ["POST"],
    roles=WRITERS,
    response=ImportOut,
    status=201,
    responses={200: ImportOut, 422: ImportOut},
    multipart={"file": "file", "dry_run": "boolean"},
    summary="Import a roster (.xlsx or .csv, UTF-8 or GBK): all or nothing",
)
def import_people(**_):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(400, "malformed_request", "缺少文件", {"file": "请选择 .xlsx 或 .csv 文件"})
    flag = request.form.get("dry_run", "false").strip().lower()
    if flag not in ("true", "false", "1", "0", "yes", "no", ""):
        raise ApiError(
            400, "malformed_request", "dry_run 只能是 true 或 false", {"dry_run": "true 或 false"}
        )
    dry_run = flag in ("1", "true", "yes")
    report = imports.import_in_request(upload.read(), upload.filename, dry_run=dry_run)
    body = report.as_dict()
    if report.errors:
        db.session.rollback()
        return body, 422
    if dry_run:
        db.session.rollback()
        return body, 200
    db.session.commit()
    return body, 201
