"""Pages of dynamic management: /comparisons (upload, lists, proposals, figures) and the
panels on the dashboard and a person's page; /reviews and /notices are views_wubao.py's,
on the same blueprint. Thin: form → service → commit → flash → redirect."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.apikit import READERS
from eldercare.auth.web import role_required
from eldercare.errors import DomainError
from eldercare.exports import export_response, wants_export
from eldercare.extensions import db
from eldercare.idnumbers import mask
from eldercare.models import Region, Role
from eldercare.pagination import page_of
from eldercare.timeutil import local_today

from . import figures, services, wubao
from .figures_export import figures_export
from .forms import BulkForm, RejectForm, TerminateForm, UploadForm
from .models import Comparison, ComparisonRow, Proposal, Review, Termination

bp = Blueprint("dynamic", __name__)
ADMIN = (Role.ADMIN,)


def townships() -> dict[str, str]:
    return dict(
        db.session.execute(
            sa.select(Region.code, Region.name)
            .where(Region.level == "township")
            .order_by(Region.code)
        ).all()
    )


def dashboard_panel() -> dict:
    if current_user.role not in READERS:
        return {"show": False}
    pending = (
        db.session.scalar(sa.select(sa.func.count(Proposal.id)).where(Proposal.status == "pending"))
        or 0
    )
    counts = wubao.review_counts(local_today())
    return {
        "show": True,
        "pending": pending,
        "overdue": sum(c["overdue"] for c in counts.values()),
        "due": sum(c["due"] for c in counts.values()),
    }


def person_panel(person) -> dict:
    if current_user.role not in READERS:
        return {"show": False}
    reviews = db.session.scalars(
        sa.select(Review).where(Review.person_id == person.id).order_by(Review.id.desc())
    ).all()
    ends = db.session.scalars(
        sa.select(Termination)
        .where(Termination.person_id == person.id)
        .order_by(Termination.id.desc())
    ).all()
    return {
        "show": True,
        "reviews": reviews,
        "terminations": ends,
        "terminate_form": TerminateForm(formdata=None),
        "today": local_today(),
        "reasons": wubao.REASON_LABELS,
    }


# --- comparisons ------------------------------------------------------------------------


@bp.route("/comparisons", methods=["GET", "POST"])
@role_required(*READERS)
def comparisons():
    form = UploadForm()
    problems, status = [], 200
    if request.method == "POST":
        if current_user.role != Role.ADMIN:
            abort(403)
        if form.validate_on_submit():
            try:
                comp = services.upload_comparison(
                    form.kind.data,
                    form.file.data.read(),
                    filename=form.file.data.filename,
                    source=form.source.data or "",
                    user_id=current_user.id,
                )
                db.session.commit()
                flash(
                    _(
                        "已比对 %(n)s 行：匹配 %(m)s，未匹配 %(u)s，存疑 %(a)s；生成建议 %(p)s 条",
                        n=comp.rows,
                        m=comp.matched,
                        u=comp.unmatched,
                        a=comp.ambiguous,
                        p=comp.proposal_count,
                    ),
                    "success",
                )
                return redirect(url_for("dynamic.comparison", comparison_id=comp.id), 303)
            except services.ListInvalid as exc:
                db.session.rollback()
                problems = exc.problems
                flash(exc.message, "danger")
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
        status = 422
    stmt = sa.select(Comparison).order_by(Comparison.id.desc())
    if wants_export():
        return export_response(
            "comparisons",
            ["编号", "类型", "来源", "文件", "上传时间", "行数", "匹配", "未匹配", "存疑", "建议"],
            (
                (
                    c.id,
                    c.kind,
                    c.source,
                    c.filename,
                    c.uploaded_at,
                    c.rows,
                    c.matched,
                    c.unmatched,
                    c.ambiguous,
                    c.proposal_count,
                )
                for c in db.session.scalars(stmt)
            ),
        )
    return render_template(
        "dynamic/comparisons.html", form=form, page=page_of(stmt, request.args), problems=problems
    ), status


@bp.get("/comparisons/<int:comparison_id>")
@role_required(*READERS)
def comparison(comparison_id: int):
    comp = services.get_comparison(comparison_id)
    rows = sa.select(ComparisonRow).where(ComparisonRow.comparison_id == comp.id)
    if wants_export():
        return export_response(
            f"comparison-{comp.id}",
            ["行", "姓名", "身份证号", "日期", "月收入", "结果", "说明", "人员编号"],
            (
                (
                    r.row,
                    r.name,
                    mask(r.id_number),
                    r.date,
                    r.monthly_amount,
                    r.result,
                    r.reason,
                    r.person_id,
                )
                for r in db.session.scalars(rows.order_by(ComparisonRow.row))
            ),
        )
    status = request.args.get("status") or None
    stmt = sa.select(Proposal).where(Proposal.comparison_id == comp.id).order_by(Proposal.id)
    if status in ("pending", "accepted", "rejected"):
        stmt = stmt.where(Proposal.status == status)
    page = page_of(stmt, request.args, per_page=100)
    problems = db.session.scalars(
        rows.where(ComparisonRow.result != "matched").order_by(ComparisonRow.row)
    ).all()
    return render_template(
        "dynamic/comparison.html",
        comp=comp,
        page=page,
        problems=problems,
        effects={p.id: services.effects_of(p) for p in page.items},
        bulk=BulkForm(formdata=None),
        reject_form=RejectForm(formdata=None),
    )


def _back(comparison_id: int):
    return redirect(
        request.referrer or url_for("dynamic.comparison", comparison_id=comparison_id), 303
    )


@bp.post("/proposals/<int:proposal_id>/accept")
@role_required(*ADMIN)
def accept(proposal_id: int):
    proposal = services.get_proposal(proposal_id)
    name, comp_id = proposal.person.name, proposal.comparison_id
    services.accept(proposal, current_user.id)
    db.session.commit()
    flash(_("已采纳：%(name)s", name=name), "success")
    return _back(comp_id)


@bp.post("/proposals/<int:proposal_id>/reject")
@role_required(*ADMIN)
def reject(proposal_id: int):
    proposal = services.get_proposal(proposal_id)
    form = RejectForm()
    if not form.validate_on_submit():
        flash(_("不采纳须填写理由"), "danger")
        return _back(proposal.comparison_id)
    name, comp_id = proposal.person.name, proposal.comparison_id
    services.reject(proposal, form.reason.data, current_user.id)
    db.session.commit()
    flash(_("已不采纳：%(name)s", name=name), "success")
    return _back(comp_id)


@bp.post("/comparisons/<int:comparison_id>/decide")
@role_required(*ADMIN)
def decide(comparison_id: int):
    """Bulk decision: each proposal in its own transaction, so one that cannot be
    applied (decided meanwhile, person changed) does not hold up the others."""
    form = BulkForm()
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    if not form.validate_on_submit() or not ids:
        flash(_("请先勾选建议"), "warning")
        return _back(comparison_id)
    if form.action.data == "reject" and not (form.reason.data or "").strip():
        flash(_("不采纳须填写理由"), "danger")
        return _back(comparison_id)
    done, failed = 0, []
    for pid in ids:
        proposal = db.session.get(Proposal, pid)
        if proposal is None or proposal.comparison_id != comparison_id:
            continue
        name = proposal.person.name
        try:
            if form.action.data == "accept":
                services.accept(proposal, current_user.id)
            else:
                services.reject(proposal, form.reason.data, current_user.id)
            db.session.commit()
            done += 1
        except DomainError as exc:
            db.session.rollback()
            failed.append(f"{name}：{exc.message}")
    flash(_("已处理 %(n)s 条", n=done), "success")
    if failed:
        flash(_("未能处理：%(list)s", list="；".join(failed)), "danger")
    return _back(comparison_id)


@bp.get("/comparisons/figures")
@role_required(*READERS)
def figures_page():
    until = day_arg(request.args.get("until")) or local_today()
    since = day_arg(request.args.get("since")) or until - timedelta(days=365)
    f = figures.timeliness(since, until)
    if wants_export():
        return figures_export(f)
    return render_template("dynamic/figures.html", f=f)


def day_arg(value: str | None) -> date | None:
    """A date from the query string, or None when absent, malformed or absurd."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is None or date(1900, 1, 1) <= day <= date(2999, 12, 31) else None
