"""The terminations whose 7-day notice runs on a day, for the core's /public/notices
(registered under `public_notices`): the full name goes to the core, which masks it; no ID
number ever leaves here."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from eldercare.extensions import db
from eldercare.templating import LABELS

from .models import Termination


def running_on(day: date) -> list[dict]:
    """Terminations decided on or before `day` whose notice lasts until `day` or later."""
    items = db.session.scalars(
        sa.select(Termination)
        .where(Termination.decided_on <= day, Termination.notice_until >= day)
        .order_by(Termination.decided_on, Termination.id)
    ).all()
    return [
        {
            "kind": _("终止特困人员救助供养：%(r)s", r=LABELS["support_end"][t.reason.value]),
            "name": t.person.name,
            "township_code": t.township_code,
            "village_code": t.village_code,
            "effective_on": t.effective_on,
            "detail": _(
                "供养金自 %(m)s 起停发", m=(t.payment_end + timedelta(days=1)).strftime("%Y-%m")
            ),
            "notice_from": t.decided_on,
            "notice_until": t.notice_until,
        }
        for t in items
    ]
