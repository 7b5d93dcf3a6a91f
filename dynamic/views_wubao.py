"""Pages of dynamic management for 特困 (wubao.py): /reviews (due and overdue per township,
the assessment form), a support terminated from the person's page, /notices (the 7-day
公示 of terminations). Thin: form → service → commit → flash → redirect."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare import scoping
from eldercare.apikit import READERS
from eldercare.auth.web import role_required
from eldercare.errors import DomainError
from eldercare.exports import export_response, wants_export
from eldercare.extensions import db
from eldercare.idnumbers import mask
from eldercare.models import Region, Role
from eldercare.pagination import page_of
from eldercare.timeutil import local_today

from . import wubao
from .forms import ReviewForm, TerminateForm
from .models import Review, Termination
from .views import ADMIN, bp, day_arg, townships


@bp.get("/reviews")
@role_required(*READERS)
def reviews():
    today = local_today()
    kind = (
        request.args.get("kind")
        if request.args.get("kind") in ("overdue", "due", "special")
        else "overdue"
    )
    township = request.args.get("township") or None
    stmt = wubao.reviews_stmt(kind, today, township)
    names = townships()
    if wants_export():
        return export_response(
            f"reviews-{kind}",
            ["姓名", "身份证号", "乡镇（街道）", "供养方式", "复核到期", "自理能力"],
            (
                (
                    p.name,
                    mask(p.id_number),
                    names.get(p.township_code, ""),
                    s.support,
                    s.review_due,
                    p.care_level,
                )
                for s, p in db.session.execute(stmt)
            ),
        )
    return render_template(
        "dynamic/reviews.html",
        page=page_of(stmt, request.args, scalars=False),
        counts=wubao.review_counts(today),
        names=names,
        kind=kind,
        township=township,
        today=today,
    )


@bp.route("/reviews/<int:person_id>", methods=["GET", "POST"])
@role_required(*READERS)
def review(person_id: int):
    person = scoping.get_person(current_user, person_id)
    form = ReviewForm()
    if request.method == "GET":
        form.date.data = local_today()
    status = 200
    if request.method == "POST":
        if current_user.role != Role.ADMIN:
            abort(403)
        status = 422
        if form.validate_on_submit():
            try:
                done = wubao.record_review(
                    person,
                    wubao.ReviewInput(
                        on=form.date.data,
                        assessment={
                            k: getattr(form, k).data == "1" for k in wubao.ASSESSMENT_ITEMS
                        },
                        outcome=form.outcome.data,
                        reason=form.reason.data or None,
                        notes=form.notes.data or "",
                    ),
                    current_user.id,
                )
                db.session.commit()
                flash(
                    _(
                        "已记录复核：%(name)s，自理能力评定为 %(level)s",
                        name=person.name,
                        level=_care(done.care_level.value if done.care_level else ""),
                    ),
                    "success",
                )
                return redirect(url_for("dynamic.reviews"), 303)
            except DomainError as exc:
                db.session.rollback()
                for name, msg in (exc.fields or {"date": exc.message}).items():
                    field = getattr(form, name, None) or form.date
                    field.errors = [*field.errors, msg]
    history = db.session.scalars(
        sa.select(Review).where(Review.person_id == person.id).order_by(Review.id.desc())
    ).all()
    return render_template(
        "dynamic/review_form.html",
        person=person,
        form=form,
        history=history,
        names=townships(),
        support=person.current_support,
    ), status


def _care(level: str) -> str:
    return {"self": _("全自理"), "partial": _("半护理"), "full": _("全护理")}[level]


@bp.post("/people/<int:person_id>/wubao/terminate")
@role_required(*ADMIN)
def terminate(person_id: int):
    person = scoping.get_person(current_user, person_id)
    form = TerminateForm()
    if not form.validate_on_submit():
        flash(_("请填写终止日期和原因"), "danger")
    else:
        t = wubao.terminate(person, form.reason.data, form.date.data, notes=form.notes.data or "")
        db.session.commit()
        flash(
            _(
                "已终止 %(name)s 的特困供养，供养金发放至 %(d)s",
                name=person.name,
                d=t.payment_end.isoformat(),
            ),
            "success",
        )
    return redirect(url_for("people.show", person_id=person.id), 303)


@bp.get("/notices")
@role_required(*READERS)
def notices():
    """Terminations whose 7-day notice covers the chosen day, per township; printable,
    without ID numbers."""
    day = day_arg(request.args.get("day")) or local_today()
    township = request.args.get("township") or None
    stmt = (
        sa.select(Termination)
        .where(Termination.decided_on <= day, Termination.notice_until >= day)
        .order_by(Termination.township_code, Termination.decided_on, Termination.id)
    )
    if township:
        stmt = stmt.where(Termination.township_code == township)
    items = db.session.scalars(stmt).all()
    names = townships()
    villages = dict(
        db.session.execute(
            sa.select(Region.code, Region.name).where(
                Region.code.in_({t.village_code for t in items if t.village_code})
            )
        ).all()
    )
    if wants_export():
        return export_response(
            "notices",
            [
                "乡镇（街道）",
                "村（社区）",
                "姓名",
                "终止原因",
                "终止日期",
                "供养金停发自",
                "公示截止",
            ],
            (
                (
                    names.get(t.township_code, ""),
                    villages.get(t.village_code, ""),
                    t.person.name,
                    wubao.REASON_LABELS[t.reason.value],
                    t.effective_on,
                    t.payment_end + timedelta(days=1),
                    t.notice_until,
                )
                for t in items
            ),
        )
    groups: dict[str | None, list[Termination]] = {}
    for t in items:
        groups.setdefault(t.township_code, []).append(t)
    return render_template(
        "dynamic/notices.html",
        groups=groups,
        names=names,
        villages=villages,
        day=day,
        township=township,
        reasons=wubao.REASON_LABELS,
        timedelta=timedelta,
    )
