"""Home care API for the bureau's reference data (issue 17.1, API.md "Lifecycles"): a
year's price list read and added to, a year's subsidy set, a provider's contract changed
(`PATCH /providers/{id}`), an item of a year's price list changed, a year's list started
from the year before, and every year's subsidy read.
On the same blueprint as api.py; the bureau (admin) writes, the auditor reads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field

from eldercare.apikit import ALL_ROLES, READERS, Body, endpoint
from eldercare.auth.web import api_user
from eldercare.extensions import db
from eldercare.models import Role
from eldercare.timeutil import local_today

from . import providers, reference, services
from . import scoping as hc
from .api import Loose, YearQuery, bp
from .serializers import provider_json, service_json

ADMIN = (Role.ADMIN,)


class ProviderPatch(Body):
    name: str | None = Field(None, min_length=1, max_length=100)
    townships: list[str] | None = Field(None, max_length=providers.MAX_TOWNSHIPS)
    contract_from: date | None = None
    contract_to: date | None = None
    phone: str | None = Field(None, max_length=32)


@endpoint(
    bp,
    "/providers/<int:provider_id>",
    roles=ALL_ROLES,
    response=Loose,
    summary="One provider with its contract townships and dates (provider staff: their own)",
)
def show_provider(provider_id: int):
    return provider_json(hc.get_provider(api_user(), provider_id))


@endpoint(
    bp,
    "/providers/<int:provider_id>",
    ["PATCH"],
    roles=ADMIN,
    body=ProviderPatch,
    response=Loose,
    summary="Change a provider's name, phone, contract townships or "
    "dates (what the body carries; null clears a date)",
)
def patch_provider(provider_id: int, body: ProviderPatch):
    provider = hc.get_provider(api_user(), provider_id)
    changes = providers.ProviderInput(**body.model_dump())
    providers.update_provider(provider, changes, set(body.model_fields_set))
    out = provider_json(provider)
    db.session.commit()
    return out


class ServicePatch(Body):
    name: str | None = Field(None, min_length=1, max_length=64)
    unit: Literal["hour", "session", "meal"] | None = None
    price: Decimal | None = Field(None, gt=0, max_digits=8, decimal_places=2)


@endpoint(
    bp,
    "/services/<int:service_id>",
    ["PATCH"],
    roles=ADMIN,
    body=ServicePatch,
    response=Loose,
    summary="Change an item of a year's price list (name, unit, price; the code stays)",
)
def patch_service(service_id: int, body: ServicePatch):
    service = reference.get_service(service_id)
    reference.update_service(
        service, reference.ServiceChange(name=body.name, unit=body.unit, price=body.price)
    )
    out = service_json(service)
    db.session.commit()
    return out


class CopyIn(Body):
    year: int = Field(ge=2000, le=2100)
    from_year: int = Field(ge=2000, le=2100)


@endpoint(
    bp,
    "/services/copy",
    ["POST"],
    roles=ADMIN,
    body=CopyIn,
    response=list[Loose],
    status=201,
    summary="Start a year's price list from another year's (409 when the year has one)",
)
def copy_services(body: CopyIn):
    out = [service_json(s) for s in reference.copy_catalogue(body.year, body.from_year)]
    db.session.commit()
    return out


@endpoint(
    bp,
    "/subsidy",
    roles=READERS,
    response=list[Loose],
    summary="Every year's subsidy per elder, newest first",
)
def list_subsidies():
    return [{"year": r.year, "amount": r.amount} for r in reference.subsidies()]


@endpoint(
    bp,
    "/services",
    roles=ALL_ROLES,
    query=YearQuery,
    response=list[Loose],
    summary="The price list of the current year (or ?year=)",
)
def list_services(query: YearQuery):
    return [service_json(s) for s in services.catalogue(query.year or local_today().year)]


class ServiceIn(Body):
    # the bureau's catalogue writes `JJ-01`; matched ignoring case (reference.py)
    code: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=64)
    unit: Literal["hour", "session", "meal"]
    price: Decimal = Field(gt=0, max_digits=8, decimal_places=2)
    year: int | None = Field(None, ge=2000, le=2100)


@endpoint(
    bp,
    "/services",
    ["POST"],
    roles=ADMIN,
    body=ServiceIn,
    response=Loose,
    status=201,
    summary="Add an item to a year's price list",
)
def create_service(body: ServiceIn):
    s = services.add_service(
        body.year or local_today().year, body.code, body.name, body.unit, body.price
    )
    out = service_json(s)
    db.session.commit()
    return out


class SubsidyIn(Body):
    amount: Decimal = Field(gt=0, max_digits=8, decimal_places=2)


@endpoint(
    bp,
    "/subsidy/<int:year>",
    ["PUT"],
    roles=ADMIN,
    body=SubsidyIn,
    response=Loose,
    summary="Set a year's subsidy per elder (for enrolments made from now on)",
)
def set_subsidy(year: int, body: SubsidyIn):
    row = services.set_subsidy(year, body.amount)
    out = {"year": row.year, "amount": row.amount}
    db.session.commit()
    return out
