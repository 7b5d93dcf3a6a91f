"""Claims pages, the steps before reconciliation: the submit and withdraw buttons of a
claim's page (its provider, or the bureau). Form → service → commit → flash → redirect;
a step refused (already reconciled, another click won) is flashed, nothing changed."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.auth.web import role_required
from eldercare.errors import DomainError
from eldercare.extensions import db

from . import lifecycle
from .forms import ActionForm
from .scoping import get_claim
from .views import SUBMITTERS, bp


def _do(claim_id: int, fn, done: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    claim = get_claim(current_user, claim_id)
    try:
        fn(claim)
        db.session.commit()
        flash(done, "success")
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
    return redirect(url_for("claims.claim_page", claim_id=claim_id))


@bp.post("/homecare/claims/<int:claim_id>/submit")
@role_required(*SUBMITTERS)
def submit(claim_id: int):
    return _do(claim_id, lambda c: lifecycle.submit(c, current_user), _("已提交，等待民政局对账"))


@bp.post("/homecare/claims/<int:claim_id>/withdraw")
@role_required(*SUBMITTERS)
def withdraw(claim_id: int):
    reason = request.form.get("reason", "")[:500]
    return _do(
        claim_id,
        lambda c: lifecycle.withdraw(c, current_user, reason),
        _("已撤回：该申报的服务记录可以重新申报"),
    )
