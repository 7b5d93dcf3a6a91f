"""JSON in and out: money never passes through a float, times leave in Asia/Shanghai."""

from __future__ import annotations

import enum
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask.json.provider import DefaultJSONProvider
from flask_babel.speaklater import LazyString

from .timeutil import to_local


def _default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, datetime):
        return to_local(o).isoformat(timespec="seconds")
    if isinstance(o, date):
        return o.isoformat()
    if isinstance(o, enum.Enum):
        return o.value
    if isinstance(o, set | frozenset):
        return sorted(o)
    if isinstance(o, LazyString):  # a message marked for the catalogue, read now
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


class JSONProvider(DefaultJSONProvider):
    ensure_ascii = False
    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("ensure_ascii", False)
        kwargs.setdefault("default", _default)
        return json.dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("parse_float", Decimal)
        return json.loads(s, **kwargs)
