"""eldercare/pagination.py: lists page the same way as the API (page from 1, per_page
1 to 500, 50 by default); junk in the query is the default, never an error."""

from __future__ import annotations

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from eldercare.models import Person
from eldercare.pagination import page_of
from tests import factories


def _people(n: int) -> sa.Select:
    for i in range(n):
        factories.person(f"人员{i:02d}")
    return sa.select(Person).order_by(Person.id)


def test_a_page_has_its_items_the_total_and_where_it_stands(db):
    stmt = _people(5)
    first = page_of(stmt, MultiDict({"per_page": "2"}))
    assert [p.name for p in first.items] == ["人员00", "人员01"]
    assert (first.total, first.page, first.per_page, first.pages) == (5, 1, 2, 3)
    assert not first.has_prev and first.has_next
    last = page_of(stmt, MultiDict({"per_page": "2", "page": "3"}))
    assert [p.name for p in last.items] == ["人员04"] and last.has_prev and not last.has_next
    beyond = page_of(stmt, MultiDict({"per_page": "2", "page": "9"}))
    assert beyond.items == [] and beyond.total == 5


def test_out_of_range_or_junk_arguments_fall_back_to_the_bounds(db):
    stmt = _people(1)
    assert page_of(stmt, MultiDict({"per_page": "100000"})).per_page == 500
    assert page_of(stmt, MultiDict({"per_page": "0"})).per_page == 1
    assert page_of(stmt, MultiDict({"per_page": "many"})).per_page == 50
    assert page_of(stmt, MultiDict({"page": "-3"})).page == 1
    assert page_of(stmt, MultiDict({"page": "x"})).page == 1
    assert page_of(stmt, MultiDict(), per_page=20).per_page == 20


def test_an_empty_list_is_one_page(db):
    empty = page_of(sa.select(Person), MultiDict())
    assert (empty.items, empty.total, empty.pages) == ([], 0, 1)
    assert not empty.has_next


def test_the_people_page_answers_junk_paging_with_a_page(client, admin):
    factories.person("王德福")
    factories.login(client, admin)
    for query in ("page=abc", "per_page=-1", "page=99999999999", "per_page=1e9"):
        r = client.get(f"/people?{query}")
        assert r.status_code == 200, query
