"""The bed board a page of rooms at a time (facilities/board.py): a large home's board
draws BOARD_ROOMS rooms, the summary still counts the whole home, every bed is on exactly
one page, and the way back from a bed's page opens the page that holds it."""

from __future__ import annotations

import re

from eldercare.extensions import db
from facilities import services
from facilities.board import BOARD_ROOMS
from tests import factories as f

from .conftest import make_home

ROOMS = BOARD_ROOMS * 2 + 5  # three pages


def _big_home():
    home, beds = make_home("石马镇中心敬老院", beds=ROOMS * 2)  # two beds a room
    loose = services.add_bed(home, "X1", "ordinary", room=None, created_on=beds[0].created_on)
    db.session.commit()
    return home, [*beds, loose]


def _tiles(html: str) -> list[str]:
    return re.findall(r'id="bed-(\d+)"[^>]*data-testid="bed-tile"', html)


def test_a_large_board_pages_by_room_and_shows_every_bed_once(client, app):
    home, beds = _big_home()
    f.login(client, f.user("manager", facility_id=home.id))
    first = client.get(f"/facilities/{home.id}")
    assert first.status_code == 200
    assert len(_tiles(first.text)) == BOARD_ROOMS * 2
    assert 'data-testid="board-pager"' in first.text
    assert "1 / 3" in first.text
    # the summary counts the whole home, not the page
    assert f"床位 {len(beds)} 张" in first.text
    seen = []
    for page in (1, 2, 3):
        seen += _tiles(client.get(f"/facilities/{home.id}?page={page}").text)
    assert sorted(map(int, seen)) == sorted(b.id for b in beds)
    last = client.get(f"/facilities/{home.id}?page=3").text
    assert "未分房间" in last  # beds without a room come last


def test_the_way_back_from_a_bed_opens_its_page(client, app):
    home, beds = _big_home()
    f.login(client, f.user("manager", facility_id=home.id))
    codes = sorted({b.room.code for b in beds if b.room})  # the board's order: R1, R10, …
    far = next(b for b in beds if b.room and b.room.code == codes[BOARD_ROOMS])  # page 2
    page = client.get(f"/facilities/{home.id}?bed={far.id}")
    assert str(far.id) in _tiles(page.text) and "2 / 3" in page.text
    loose = beds[-1]
    assert str(loose.id) in _tiles(client.get(f"/facilities/{home.id}?bed={loose.id}").text)
    # a bed of another home, or nonsense, opens the first page
    _other, other_beds = make_home("新桥镇中心敬老院", beds=1)
    assert "1 / 3" in client.get(f"/facilities/{home.id}?bed={other_beds[0].id}").text
    assert "1 / 3" in client.get(f"/facilities/{home.id}?bed=abc").text


def test_a_small_board_has_no_pager(client, home, manager):
    f.login(client, manager)
    page = client.get(f"/facilities/{home[0].id}")
    assert len(_tiles(page.text)) == 3 and 'data-testid="board-pager"' not in page.text
