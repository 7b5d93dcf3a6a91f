"""API plumbing (each feature's api.py holds its endpoints; this is what they are made
with): one decorator declares an endpoint's roles, body, query and answer.

`endpoint` authenticates (bearer token, or the session cookie plus a CSRF header),
checks the role (deny by default: every endpoint names the roles it admits), parses
and validates the body and query with pydantic, and turns the view's return value into
JSON. The OpenAPI document is built from the same declarations, so it cannot drift.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .api_errors import ApiError
from .auth.web import request_user
from .extensions import db
from .models import Role

ALL_ROLES = tuple(Role)
READERS = (Role.ADMIN, Role.AUDITOR)


class Body(BaseModel):
    """Base of request bodies: unknown fields are refused, so typos are not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class PageQuery(Query):
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(50, ge=1, le=500)


def validation_fields(exc: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        fields.setdefault(loc, err["msg"])
    return fields


def endpoint(
    bp: Blueprint,
    rule: str,
    methods: Iterable[str] = ("GET",),
    *,
    roles: Iterable[Role] | None = None,
    public: bool = False,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    summary: str = "",
    multipart: dict[str, str] | None = None,
    raw: bool = False,
    responses: dict[int, Any] | None = None,
):
    """Register an API view on `bp`.

    The view gets path arguments plus `body=` and/or `query=` when declared, and
    returns a dict/list (answered with `status`), a (data, status) pair, or a Response.
    `responses` documents other answers whose body is not the error shape (e.g. an
    import's 422 report).
    """
    methods = tuple(m.upper() for m in methods)
    allowed = None if public else tuple(roles or ())
    if not public and not allowed:
        raise ValueError(f"{rule}: an endpoint names the roles it admits, or is public")

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(**kwargs):
            if not public:
                _authorize(allowed or ())
            if body is not None:
                kwargs["body"] = _parse_body(body)
            if query is not None:
                kwargs["query"] = _parse_query(query)
            result = view(**kwargs)
            if isinstance(result, Response) or raw:
                return result
            return _answer(result, status, response)

        wrapper._openapi = {  # type: ignore[attr-defined]
            "summary": summary or (view.__doc__ or "").strip().split("\n")[0],
            "roles": [r.value for r in allowed] if allowed else [],
            "public": public,
            "body": body,
            "query": query,
            "response": response,
            "status": status,
            "multipart": multipart,
            "responses": responses or {},
        }
        bp.add_url_rule(rule, view.__name__, wrapper, methods=list(methods))
        return wrapper

    return decorate


def _authorize(allowed: tuple[Role, ...]) -> None:
    """401 without a user, 403 for a role the endpoint does not name."""
    user = request_user()
    if user is None:
        raise ApiError(401, "unauthenticated", _l("需要登录或有效的令牌"))
    if user.role not in allowed:
        raise ApiError(403, "forbidden", _l("当前角色无权执行此操作"))


def _parse_body(model: type[BaseModel]) -> BaseModel:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_request", _l("请求体须为 JSON 对象"))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "validation_failed", _l("输入有误"), validation_fields(exc)) from None


def _parse_query(model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise ApiError(
            400, "malformed_request", _l("查询参数有误"), validation_fields(exc)
        ) from None


def _answer(result: Any, status: int, response: Any) -> Response:
    """The view's dict or list as JSON with `status`, or a (data, status) pair's."""
    code = status
    if isinstance(result, tuple):
        result, code = result
    if response is not None and current_app.testing:
        # Tests hold every answer to the schema the OpenAPI document publishes.
        TypeAdapter(response).validate_python(result)
    resp = jsonify(result)
    resp.status_code = code
    return resp


def paginate(stmt: sa.Select, page: PageQuery, serialize: Callable[[Any], dict]) -> dict:
    """One page of a SELECT of ORM entities, with the total, in the contract's shape."""
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    )
    rows = db.session.scalars(stmt.limit(page.per_page).offset((page.page - 1) * page.per_page))
    return {
        "items": [serialize(r) for r in rows],
        "total": total or 0,
        "page": page.page,
        "per_page": page.per_page,
    }
