"""Issue 17.11: on English pages no Chinese is left but the data (names of people, homes,
providers, places and services). Every main page, as each role that uses it, is rendered in
English; the people's, homes', providers', regions' and services' names are taken out;
no Han character may remain in the visible text or the labels for screen readers."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask_babel import refresh

from eldercare.extensions import db
from eldercare.jobs import run_job
from tests import factories as f
from tests.district import build_district, pages_by_role

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
QUOTED = re.compile(r"“[^”]*”")


class _Visible(HTMLParser):
    """Every text node and the attributes read aloud, except scripts, styles and the
    switch to Chinese (which says 中文 on purpose)."""

    ATTRS = ("placeholder", "aria-label", "alt", "title")

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0
        self._stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("br", "input", "meta", "link", "img", "hr", "option"):
            if tag == "option":
                self._stack.append(tag)
            self.texts += [attrs[a] for a in self.ATTRS if attrs.get(a)]
            return
        self._stack.append(tag)
        if tag in ("script", "style") or (
            tag == "form" and "/lang/" in (attrs.get("action") or "")
        ):
            self._skip += 1
            self._stack[-1] = "!" + tag
        if not self._skip:
            self.texts += [attrs[a] for a in self.ATTRS if attrs.get(a)]

    def handle_endtag(self, tag):
        while self._stack:
            top = self._stack.pop()
            if top.startswith("!"):
                self._skip -= 1
            if top.lstrip("!") == tag:
                break

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def _data_names() -> list[str]:
    """What the pages show as data: longest first, so that a name inside another goes
    with it."""
    from eldercare.models import CalendarDay, Person, Region, User
    from eldercare.public import mask_name
    from facilities.models import Facility
    from homecare.models import LedgerEntry, Provider, Service

    names: set[str] = set()
    for column in (
        Person.name,
        Region.name,
        User.display_name,
        Facility.name,
        Provider.name,
        Service.name,
        Person.address,
        LedgerEntry.note,
        CalendarDay.name,  # the holidays' names the bureau entered
    ):
        names |= {n for n in db.session.scalars(sa.select(column).distinct()) if n}
    names |= {mask_name(n) for n in db.session.scalars(sa.select(Person.name))}  # 公示
    return sorted(names, key=len, reverse=True)


def _left_in_english(client, path: str, data: list[str]) -> list[str]:
    resp = client.get(path)
    assert resp.status_code == 200, (path, resp.status_code)
    parser = _Visible()
    parser.feed(resp.get_data(as_text=True))
    left = []
    for text in parser.texts:
        if text.startswith("{"):
            continue  # the audit log's recorded changes: data as it was written
        text = QUOTED.sub("", text)  # a column header to type, quoted on purpose
        for name in data:
            if name in text:
                text = text.replace(name, "·")
        if HAN.search(text):
            left.append(f"{path}: {text[:80]}")
    return left


@pytest.mark.parametrize("role", ["admin", "manager", "provider", "worker", "township", None])
def test_the_main_pages_in_english_have_no_chinese_but_data(app, client, role):
    district = build_district(client)
    run_job("alerts")
    # the job ran in the test's application context, which the test client's requests
    # share: forget the language it cached there (a server's requests each have their own)
    refresh()
    data = _data_names()
    client.set_cookie("lang", "en")
    if role:
        f.login(client, district["users"][role])
    left = []
    for path in pages_by_role(district)[role]:
        left += _left_in_english(client, path, data)
    assert left == [], "Chinese left on English pages:\n" + "\n".join(left)
