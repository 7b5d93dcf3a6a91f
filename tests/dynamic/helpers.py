"""Helpers for the dynamic-management tests: lists as files, 特困 persons."""

from __future__ import annotations

import io
from datetime import date, timedelta

from openpyxl import Workbook

from eldercare.extensions import db
from eldercare.people import services as people
from eldercare.timeutil import local_today
from tests import factories as f


def csv_bytes(rows: list[list], header=("id_number", "name", "date"), encoding="utf-8") -> bytes:
    lines = [",".join(header)] + [",".join(str(c) for c in r) for r in rows]
    return ("\n".join(lines) + "\n").encode(encoding)


def xlsx_bytes(rows: list[list], header=("id_number", "name", "date")) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(header))
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(client, headers, kind: str, content: bytes, filename: str = "list.csv", **form):
    data = {"kind": kind, "file": (io.BytesIO(content), filename), **form}
    return client.post(
        "/api/v1/comparisons", data=data, headers=headers, content_type="multipart/form-data"
    )


def days_ago(n: int) -> date:
    return local_today() - timedelta(days=n)


def tekun(
    name: str = "王德福",
    support: str = "centralized",
    since: date | None = None,
    township: str | None = "510704101",
    **kw,
):
    """A person with open 特困 support."""
    p = f.person(name, township_code=township, **kw)
    people.start_wubao(p, "elderly", support, since or date(2020, 3, 1))
    db.session.commit()
    return p


def scoped_user(client, admin_headers, role: str):
    """A manager, provider or worker: their facility or provider made through the
    features' public API where the features are loaded (core alone: any id will do)."""
    kw: dict = {}
    if role == "manager":
        r = client.post(
            "/api/v1/facilities",
            json={"name": "测试敬老院", "kind": "care_home"},
            headers=admin_headers,
        )
        kw["facility_id"] = r.json["id"] if r.status_code == 201 else 1
    else:
        r = client.post(
            "/api/v1/homecare/providers",
            json={"name": "测试服务组织", "townships": ["510704101"]},
            headers=admin_headers,
        )
        kw["provider_id"] = r.json["id"] if r.status_code == 201 else 1
    return f.user(role, **kw)
