"""The API's error shape (API.md "Errors"): `{"error": {"code", "message", "fields"?}}`.

Its own module, below everything that answers errors: the endpoint plumbing
(apikit.py), the error handlers (errorhandlers.py) and the CSRF check (auth/web.py) all
use it, and none of them imports another to get it. Features raise ApiError from here.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify


class ApiError(Exception):
    """An error answered in the contract's shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: dict | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields = fields or {}
        self.headers = headers or {}


def error_response(
    status: int, code: str, message: str, fields: dict | None = None, headers: dict | None = None
) -> Response:
    # messages may be lazy strings (errors.DomainError): read now, in the caller's language
    body: dict[str, Any] = {"code": code, "message": str(message)}
    if fields:
        body["fields"] = {k: str(v) for k, v in fields.items()}
    resp = jsonify({"error": body})
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp
