"""Domain errors. Services raise these; eldercare/errorhandlers.py answers them in one
place: the API in the contract's error shape, the pages with a flashed message, except
NotFound, which is the 404 page everywhere (and the API's 404 body)."""

from __future__ import annotations


class DomainError(Exception):
    """`message` and the `fields` messages may be lazy strings (`_l("床位 %(code)s 已停用",
    code=...)`): they are read in the language of whoever is answered, when answered."""

    status = 409
    code = "conflict"

    def __init__(self, message: str = "", *, fields: dict[str, str] | None = None, code=None):
        super().__init__(message or self.code)
        self._message = message or self.code
        self._fields = fields or {}
        if code:
            self.code = code

    @property
    def message(self) -> str:
        return str(self._message)

    @message.setter
    def message(self, value: str) -> None:
        self._message = value

    @property
    def fields(self) -> dict[str, str]:
        return {k: str(v) for k, v in self._fields.items()}

    @fields.setter
    def fields(self, value: dict[str, str]) -> None:
        self._fields = value


class Invalid(DomainError):
    """Input that is well formed but breaks a rule (422)."""

    status = 422
    code = "validation_failed"


class Conflict(DomainError):
    """The request contradicts the current state (409)."""

    status = 409
    code = "conflict"


class NotFound(DomainError):
    """No such record, or one outside the user's scope (404): never say which."""

    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
