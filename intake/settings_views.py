"""The year's step deadlines and need points on the eligibility page (intake/settings.py):
shown to the bureau with each one's source, set by its admin. Routes on the intake
blueprint."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from eldercare.auth.web import role_required
from eldercare.errors import DomainError
from eldercare.extensions import db
from eldercare.models import Role

from . import settings
from .views import _int, bp


def page_context(year: int) -> dict:
    """What templates/intake/_year_settings.html shows."""
    v = settings.values_for(year)
    return {
        "year_values": v,
        "year_settings": [
            (s, v[s.code], settings.source_text(v, s.code)) for s in settings.SETTINGS
        ],
        "statutory": settings.STATUTORY,
    }


@bp.post("/homecare/eligibility/settings")
@role_required(Role.ADMIN)
def eligibility_settings():
    """Save the year's numbers from the form (each field the code's value)."""
    year = _int(request.args.get("year")) or 0
    if not 2000 <= year <= 2100:
        flash(_("年度无效"), "danger")
        return redirect(url_for("intake.eligibility"), 303)
    given: dict = {}
    for s in settings.SETTINGS:
        text = (request.form.get(s.code) or "").strip()
        if text:
            given[s.code] = int(text) if text.isdigit() else text
    try:
        settings.set_values(year, given)
        db.session.commit()
        flash(_("已保存 %(y)s 年办理时限与需求评分", y=year), "success")
    except DomainError as exc:
        db.session.rollback()
        named = (
            f"{settings.BY_CODE[k].label if k in settings.BY_CODE else k}：{v}"
            for k, v in exc.fields.items()
        )
        flash(exc.message + "：" + _("；").join(named), "danger")
    return redirect(url_for("intake.eligibility", year=year), 303)
