"""What the facilities' pages share: the form checks that turn bad input into a flashed
Invalid, and the way back to the bed on its board."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _

from eldercare.errors import Invalid
from eldercare.extensions import db
from eldercare.models import Region

from .models import Stay


def townships() -> dict[str, str]:
    return dict(
        db.session.execute(
            sa.select(Region.code, Region.name).where(Region.level == "township")
        ).all()
    )


def back_to(stay_or_bed) -> str:
    bed_id = stay_or_bed.bed_id if isinstance(stay_or_bed, Stay) else stay_or_bed.id
    # the board opens on the page of rooms that holds the bed (facilities/board.py)
    board = url_for("facilities.board", facility_id=stay_or_bed.facility_id, bed=bed_id)
    return f"{board}#bed-{bed_id}"


def record_id(value) -> int:
    """A record id typed or picked in a form; Invalid (flashed) for anything else."""
    text = str(value or "").strip()
    if not text.isdigit() or len(text) > 12:
        raise Invalid(_("请选择有效的选项"))
    return int(text)


def valid(form) -> None:
    """Raise Invalid (flashed) naming each field the form refused."""
    if not form.validate_on_submit():
        msgs = "；".join(
            f"{getattr(form, k).label.text}：{'，'.join(v)}" for k, v in form.errors.items()
        )
        raise Invalid(msgs or _("输入有误"))
