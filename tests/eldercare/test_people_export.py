"""The people export read in bulk (issue 15): the same cells as the person objects give,
for a role that sees full numbers and one that does not, filtered as the list is; and its
statements do not grow with the people exported (a page of 2,000 and its categories)."""

from __future__ import annotations

import csv
import io
from datetime import date

import sqlalchemy as sa

from eldercare.idnumbers import mask
from eldercare.models import Person
from eldercare.people import export
from eldercare.timeutil import local_today
from tests import factories as f

ZONES = {"510704001": "涪江街道", "510704003": "富乐街道"}


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _people(make_person):
    return [
        make_person(
            name="王德福",
            birth=date(1940, 2, 29),
            township_code="510704001",
            categories=("tekun", "age80", "alone"),
            care_level="partial",
            health_notes="高血压",
        ),
        make_person(name="=1+2", birth=date(1950, 12, 31), sex="F"),
        make_person(name="李秀英", township_code="510704003", categories=("dibao",)),
    ]


def _expected(people, full: bool) -> list[list[str]]:
    """What the export wrote when it walked the person objects (before issue 15)."""
    today = local_today()
    out = []
    for p in sorted(people, key=lambda p: p.id):
        born = (
            [p.birth_date.isoformat()] if full else [str(p.birth_date.year), str(p.age_on(today))]
        )
        out.append(
            [
                str(p.id),
                p.name if not p.name.startswith("=") else "'" + p.name,
                mask(p.id_number),
                p.sex.value,
                *born,
                ZONES.get(p.township_code or "", ""),
                p.status.value,
                ",".join(sorted(p.category_set)),
                p.care_level.value if p.care_level else "",
            ]
        )
    return out


def test_every_cell_is_what_the_person_gives_for_full_and_masked_roles(
    client, make_user, make_person
):
    people = _people(make_person)
    clerk = {"township_code": "510704001"}
    for role, full, kw, seen in (
        ("admin", True, {}, people),
        ("township", False, clerk, people[:1]),
    ):
        f.login(client, make_user(role, **kw))
        rows = _rows(client.get("/people?format=csv").data)
        born = ["出生日期"] if full else ["出生年份", "年龄"]
        assert rows[0] == [
            "编号",
            "姓名",
            "身份证号",
            "性别",
            *born,
            "乡镇（街道）",
            "状态",
            "类别",
            "自理能力",
        ]
        assert rows[1:] == _expected(seen, full)
        client.get("/logout")


def test_the_export_keeps_the_list_s_filters(client, admin, make_person):
    people = _people(make_person)
    f.login(client, admin)
    rows = _rows(client.get("/people?format=csv&category=dibao").data)
    assert rows[1:] == _expected([people[2]], True)
    rows = _rows(client.get("/people?format=csv&q=王德").data)
    assert [r[1] for r in rows[1:]] == ["王德福"]


def test_statements_stay_flat_and_no_health_note_is_decrypted(app, db, make_person, monkeypatch):
    for i in range(30):
        make_person(name=f"老人{i}", categories=("age80",) if i % 2 else ())
    counted: list[str] = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda *a, **k: counted.append(a[2]))
    monkeypatch.setattr(export, "PAGE", 7)
    stmt = sa.select(Person).order_by(Person.id)
    with app.test_request_context("/people?format=csv"):
        rows = list(export.rows(stmt, ZONES, True, local_today()))
    assert len(rows) == 30
    # 5 pages of people with their categories, and the empty page that ends it
    people_reads = [s for s in counted if "FROM people" in s]
    assert len(people_reads) == 6 and not any("health_notes" in s for s in people_reads)
    assert len([s for s in counted if "FROM person_categories" in s]) == 5
