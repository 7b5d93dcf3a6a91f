"""Held claim lines (presence.py) on the claim review page: the bureau accepts or
rejects one line or every held line of one exception. Thin: form → service → commit →
flash → redirect; the review page itself is views.claim_page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.auth.web import role_required
from eldercare.errors import NotFound
from eldercare.extensions import db
from eldercare.models import Role

from . import presence
from .forms import PresenceForm
from .labels import ACCEPT_LABELS, HELD_LABEL, REJECT_LABELS
from .scoping import get_claim

bp = Blueprint("claims_presence", __name__)


@bp.app_context_processor
def _helpers():
    return {
        "claim_held": lambda x: presence.is_held(x.reason_bits, x.accepted_bits, x.decision),
        "claim_unaccepted": lambda x: presence.unaccepted(x.reason_bits, x.accepted_bits),
        "claim_held_label": lambda: str(HELD_LABEL),
        "claim_accept_reason": lambda c: str(ACCEPT_LABELS.get(c, c)),
        "presence_options": _options,
    }


def _options() -> list[tuple[str, list[tuple[str, str]]]]:
    """The resolutions a clerk picks from, as option groups: accept or reject, with the
    reason code."""
    return [
        (
            _("接受（按对账结论支付）"),
            [(f"accept:{c}", str(ACCEPT_LABELS[c])) for c in presence.ACCEPT_REASONS],
        ),
        (
            _("拒付（不予支付）"),
            [(f"reject:{c}", str(REJECT_LABELS[c])) for c in presence.REJECT_REASONS],
        ),
    ]


@bp.post("/homecare/claims/<int:claim_id>/presence")
@role_required(Role.ADMIN)
def resolve(claim_id: int):
    try:
        claim = get_claim(current_user, claim_id)
    except NotFound:
        abort(404)
    form = PresenceForm()
    anchor = f"line-{form.line_no.data}" if form.line_no.data else "held"
    if not form.validate_on_submit():
        flash(_("请选择处理方式（接受或拒付，及其理由）"), "danger")
        return redirect(url_for("claims.claim_page", claim_id=claim.id, _anchor=anchor))
    action, reason = form.resolution.data.split(":", 1)
    out = presence.resolve(
        claim,
        current_user,
        action,
        reason,
        form.note.data or "",
        [form.line_no.data] if form.line_no.data else None,
        form.exception.data or None,
    )
    db.session.commit()
    words = _("已接受") if action == "accept" else _("已拒付")
    flash(
        _(
            "%(done)s %(n)s 条明细；还有 %(held)s 条待核实",
            done=words,
            n=out["resolved"],
            held=out["held"],
        ),
        "success" if out["resolved"] else "warning",
    )
    return redirect(url_for("claims.claim_page", claim_id=claim.id, _anchor=anchor))
