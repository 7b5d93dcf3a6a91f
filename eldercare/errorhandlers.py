"""Every failure answers in the right shape: the contract's JSON error under /api/,
a page elsewhere. Integrity errors are conflicts (409), never 500s."""

from __future__ import annotations

import logging

from flask import Flask, current_app, flash, redirect, render_template, request
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from werkzeug.exceptions import HTTPException

from .api_errors import ApiError, error_response
from .database import is_retryable
from .errors import DomainError, NotFound
from .extensions import db

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "malformed_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    503: "unavailable",
}


def _is_api() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(NotFound, _not_found)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(IntegrityError, _integrity)
    app.register_error_handler(DataError, _out_of_range)
    app.register_error_handler(OverflowError, _out_of_range)
    app.register_error_handler(DBAPIError, _db_error)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)


def _refused(status: int, code: str, message: str, fields: dict | None = None):
    """A request refused with nothing stored: the error shape under /api/; on a page the
    message flashed and the user sent back where they came from."""
    db.session.rollback()
    if _is_api():
        return error_response(status, code, message, fields)
    flash(message, "danger")
    return redirect(request.referrer or "/"), 303


def _api_error(exc: ApiError):
    db.session.rollback()
    return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)


def _not_found(exc: NotFound):
    # One answer for "no such record" and "not yours": the 404 page, or the API's 404
    # body, never a hint that the record exists.
    db.session.rollback()
    if _is_api():
        return error_response(exc.status, exc.code, exc.message)
    return render_template("error.html", code=404), 404


def _domain_error(exc: DomainError):
    return _refused(exc.status, exc.code, exc.message, exc.fields)


def _integrity(exc: IntegrityError):
    log.info("integrity error answered as 409: %s", type(exc.orig).__name__)
    return _refused(409, "conflict", "与现有记录冲突，未作更改")


def _out_of_range(_exc):
    # A number too large for its column, a malformed value the database refused: the
    # input is wrong, not the server.
    return _refused(422, "validation_failed", "输入的数值超出范围或格式无效")


def _db_error(exc: DBAPIError):
    db.session.rollback()
    # A lock time-out, a serialization failure, or the database out of reach: the
    # request may simply be tried again (pool_pre_ping reconnects by itself).
    if (
        is_retryable(exc)
        or exc.connection_invalidated
        or isinstance(exc, OperationalError | InterfaceError)
    ):
        if _is_api():
            return error_response(
                503, "unavailable", "数据库繁忙，请稍后重试", headers={"Retry-After": "1"}
            )
        return render_template("error.html", code=503), 503
    raise exc


def _http(exc: HTTPException):
    code = exc.code or 500
    if _is_api():
        return error_response(code, HTTP_CODES.get(code, "error"), exc.description or "")
    return render_template("error.html", code=code, message=exc.description), code


def _unexpected(exc: Exception):
    db.session.rollback()
    log.exception("unhandled error")
    if current_app.config.get("PROPAGATE_EXCEPTIONS") and current_app.testing:
        raise exc
    if _is_api():
        return error_response(500, "internal_error", "服务器内部错误")
    return render_template("error.html", code=500), 500
