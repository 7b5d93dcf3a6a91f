"""/public/notices: the 7-day 公示 that anyone may read, without login — masked names,
villages, the kind of change, the dates; never an ID number or a full name; only the
notices running today."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from dynamic import wubao
from dynamic.models import Termination
from eldercare.extensions import db
from eldercare.public import mask_name
from eldercare.timeutil import local_today
from tests.dynamic.helpers import days_ago, tekun


def test_names_keep_their_first_and_last_character():
    assert mask_name("王德福") == "王*福"
    assert mask_name("李秀") == "李*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_name("王") == "王"


def test_anyone_reads_the_running_notices_masked_by_township(client):
    a = tekun("王德福", township="510704101", village_code=None)
    b = tekun("李秀英", sex="F", township="510704104")
    wubao.terminate(a, "voluntary", days_ago(1))
    wubao.terminate(b, "supporter_able", days_ago(1))
    db.session.commit()
    page = client.get("/public/notices")  # no login
    assert page.status_code == 200
    text = page.text
    assert text.count('data-testid="public-notice"') == 2
    assert "王*福" in text and "李*英" in text
    assert "王德福" not in text and "李秀英" not in text
    for number in (a.id_number, b.id_number):
        # Masked forms keep the first six or the last four beside stars; four digits alone
        # could be part of a township code or a date on the page, so the stars are asked for.
        assert number not in text and number[-8:] not in text
        assert "*" + number[-4:] not in text and number[:6] + "*" not in text
    assert "自愿申请退出" in text and "法定义务人具有了履行义务能力" in text
    assert local_today().isoformat() in text  # the notice period's first day
    one = client.get("/public/notices?township=510704104")
    assert "李*英" in one.text and "王*福" not in one.text
    assert "/public/notices" in client.get("/public").text


def test_expired_and_not_yet_begun_notices_are_not_shown(client):
    old = tekun("赵长顺")
    wubao.terminate(old, "voluntary", days_ago(20))
    later = tekun("钱玉兰", sex="F")
    wubao.terminate(later, "voluntary", days_ago(1))
    db.session.commit()
    t = db.session.scalar(sa.select(Termination).where(Termination.person_id == old.id))
    t.decided_on, t.notice_until = days_ago(20), days_ago(14)  # its week ran out
    t = db.session.scalar(sa.select(Termination).where(Termination.person_id == later.id))
    soon = local_today() + timedelta(days=2)  # decided for a notice that starts later
    t.decided_on, t.notice_until = soon, soon + timedelta(days=6)
    db.session.commit()
    page = client.get("/public/notices")
    assert page.status_code == 200
    assert "赵*顺" not in page.text and "钱*兰" not in page.text
    assert 'data-testid="no-notices"' in page.text


def test_the_last_day_of_a_notice_still_shows(client):
    p = tekun("孙明亮")
    wubao.terminate(p, "voluntary", days_ago(2))
    db.session.commit()
    t = db.session.scalar(sa.select(Termination))
    t.decided_on, t.notice_until = days_ago(6), local_today()
    db.session.commit()
    assert "孙*亮" in client.get("/public/notices").text
