"""The worker's phone: /v/<token> (where a phone camera lands from a QR card) and /scan
(the in-browser scanner with photo fallback and card-number entry).

Both pages work without JavaScript (a plain form with a client_id fixed when the page
was drawn, so a double submit counts once); with JavaScript the same client_id goes to
the scan API, with the phone's position, and is queued on the phone while offline.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from eldercare.auth.web import role_required
from eldercare.database import utcnow
from eldercare.errors import DomainError, Invalid
from eldercare.extensions import db
from eldercare.models import Person
from eldercare.timeutil import LOCAL, local_today, to_local

from . import cards, idempotency, services, visits
from . import scoping as hc
from .forms import ManualForm, ScanForm
from .models import Enrolment

bp = Blueprint("homecare_scan", __name__)

# What the phone's scripts say (static/js/homecare-*.js, scan.js), in the page's language:
# the pages hand them over in a data attribute (no inline script under the CSP).
JS_MESSAGES = {
    "offline": _l("手机没有网络。"),
    "waiting": _l("有 {n} 条扫码记录等待上传，联网后自动发送。"),
    "others_waiting": _l("本机还有 {n} 条其他服务人员的扫码记录，待其本人登录后上传。"),
    "login_expired": _l("登录已过期：请重新登录后，待传记录会自动发送。"),
    "refused": _l("提交失败"),
    "one_refused": _l("有一条记录被拒绝："),
    "pick_a_service": _l("请至少填写一项服务的数量"),
    "check_in_queued": _l("已记下开始时间，待联网后上传。服务结束时填写服务项目。"),
    "check_out_queued": _l("已记下服务，待联网后上传。"),
    "not_our_card": _l("这不是本系统的服务卡，请重试或输入卡号。"),
    "scan_offline": _l("没有网络：已记下开始服务的时间，联网后自动上传。结束时请在有网络时扫卡。"),
    "no_camera_http": _l("此页面不能使用摄像头（需要 HTTPS）。请用“拍照识别”或输入卡号。"),
    "aim": _l("把服务卡上的二维码对准取景框。"),
    "no_camera_permission": _l("没有摄像头权限。请用“拍照识别”或输入卡号。"),
    "no_code_in_photo": _l("照片里没有找到二维码，请靠近一点重拍，或输入卡号。"),
    "bad_quantity": _l("服务数量须是 0 到 24 之间的数字"),
}

#: The reasons a worker picks when the phone gives no position (visits.NO_LOCATION_REASONS).
NO_LOCATION_LABELS = {
    "denied": _l("定位被拒绝"),
    "no_signal": _l("无信号"),
    "no_gps": _l("手机无定位"),
    "other": _l("其他"),
}


@bp.app_context_processor
def _js_messages():
    return {
        "worker_js_messages": lambda: {k: str(v) for k, v in JS_MESSAGES.items()},
        "no_location_labels": lambda: [(k, str(v)) for k, v in NO_LOCATION_LABELS.items()],
        "hc_no_location": lambda code: str(NO_LOCATION_LABELS.get(code, code)),
    }


SCANNERS = visits.SCANNERS


def _picked(form) -> list[tuple[str, Decimal]]:
    """The quantities typed on the checklist. Raises Invalid naming the field for what
    is not a number of 0 to 24 (NaN and Infinity parse as Decimals: they were a 500);
    empty and 0 mean not picked."""
    out = []
    for key, value in form.items():
        if not key.startswith("qty_") or not value.strip():
            continue
        try:
            qty = Decimal(value.strip())
        except InvalidOperation:
            qty = Decimal("NaN")
        if not qty.is_finite() or qty < 0 or qty > 24:
            raise Invalid(
                _("服务数量须是 0 到 24 之间的数字"), fields={key: _("须是 0 到 24 之间的数字")}
            )
        if qty > 0:
            out.append((key[4:], qty))
    return out


def _card(token: str) -> Enrolment | cards.InvalidCard:
    """The enrolment of a card's URL token, or the reason it is refused. A typed card
    number is not a card's URL: it goes through the number form, which counts wrong ones."""
    try:
        if cards.is_number(token):
            raise cards.InvalidCard(_l("卡号无效"))
        enrolment = cards.resolve(token)
    except cards.InvalidCard as exc:
        return exc
    if enrolment.provider_id != current_user.provider_id:
        abort(403)
    return enrolment


def _refused(exc: cards.InvalidCard):
    return render_template(
        "homecare/card_invalid.html", replaced=isinstance(exc, cards.CardReplaced)
    ), 422


@bp.route("/v/<token>", methods=["GET", "POST"])
@role_required(*SCANNERS)
def card(token: str):
    """One screen: the elder's name and card number, 开始服务 — or, during a visit, the
    service checklist and 结束服务 — and the balance left."""
    enrolment = _card(token)
    if isinstance(enrolment, cards.InvalidCard):
        return _refused(enrolment)
    form = ScanForm()
    if request.method == "POST" and form.validate_on_submit():
        kind = form.kind.data if form.kind.data in ("check_in", "check_out") else "check_in"
        # Without JavaScript the phone's position is unknown: the form asks the reason.
        reason = request.form.get("no_location_reason") or None
        try:
            picked = _picked(request.form) if kind == "check_out" else None
            raw = {
                "qr": token,
                "kind": kind,
                "client_id": form.client_id.data,
                "services": [[c, str(q)] for c, q in picked or []],
                "form": True,
                "no_location_reason": reason,
            }
            data = visits.ScanInput(
                qr=token,
                kind=kind,
                at=utcnow(),
                client_id=form.client_id.data,
                services=picked,
                raw=raw,
                no_location_reason=reason,
            )
            # the same form sent again, or twice at once, counts once (idempotency.once)
            _visit, created = idempotency.once(
                current_user, data.client_id, raw, lambda: visits.scan(current_user, data)
            )
            db.session.commit()
            if created:
                flash(_("已开始服务") if kind == "check_in" else _("服务已结束"), "success")
        except DomainError as exc:
            db.session.rollback()
            if any(k.startswith("qty_") for k in exc.fields):
                # A quantity the checklist cannot take: said under its field, what was
                # typed kept, the same client_id (nothing was recorded).
                return _card_page(
                    enrolment, token, errors=exc.fields, client_out=form.client_id.data
                ), 422
            flash(exc.message, "danger")
        return redirect(url_for(".card", token=token), 303)
    return _card_page(enrolment, token)


def _card_page(
    enrolment: Enrolment, token: str, errors: dict | None = None, client_out: str | None = None
) -> str:
    open_visit = visits.open_visit_of(current_user, enrolment)
    catalogue = services.catalogue(
        to_local(open_visit.check_in_at).year if open_visit else local_today().year
    )
    db.session.refresh(enrolment, ["balance"])
    # Each button's client_id is fixed when the page is drawn: a double tap, or the
    # same form sent again, counts once.
    return render_template(
        "homecare/card.html",
        e=enrolment,
        visit=open_visit,
        catalogue=catalogue,
        client_in=str(uuid.uuid4()),
        client_out=client_out or str(uuid.uuid4()),
        token=token,
        card_number=cards.short_number(enrolment),
        qr=cards.url(enrolment),
        errors=errors or {},
        typed=request.form if errors else {},
    )


@bp.get("/scan")
@role_required(*SCANNERS)
def scan_page():
    return render_template(
        "homecare/scan.html", locked_until=cards.lookup_locked_until(current_user)
    )


@bp.post("/scan/number")
@role_required(*SCANNERS)
def by_number():
    """The card number typed in when the camera fails: on to that card's page. Wrong
    numbers count against the account (cards.lookup): after 10 in 10 minutes the page
    answers 429 and says until when. A POST: each try changes the count."""
    number = request.form.get("number", "")
    try:
        enrolment = cards.lookup(current_user, number)
    except cards.LookupLocked as exc:
        db.session.commit()
        return render_template("homecare/scan.html", locked_until=exc.until), 429
    except cards.InvalidCard as exc:
        db.session.commit()  # the wrong try's count and audit entry stay
        flash(
            _("此卡已补办新卡，旧卡号已停用：请输入新卡上的卡号")
            if isinstance(exc, cards.CardReplaced)
            else _("卡号无效，请核对服务卡上的号码"),
            "danger",
        )
        return redirect(url_for(".scan_page"))
    if enrolment.provider_id != current_user.provider_id:
        abort(403)
    db.session.commit()
    return redirect(url_for(".card", token=cards.token(enrolment)))


@bp.get("/sw.js")
def service_worker():
    """The service worker, served from the root so that its scope covers /scan and /v/."""
    resp = send_from_directory(
        current_app.static_folder, "js/sw.js", mimetype="text/javascript", max_age=0
    )
    resp.headers["Service-Worker-Allowed"] = "/"
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.route("/scan/manual", methods=["GET", "POST"])
@role_required(*SCANNERS)
def manual():
    """A visit logged by hand when the card is lost or damaged: find the elder by name,
    give the times, the services, a reason and a note. Marked `manual` on the visit."""
    q = (request.values.get("q") or "").strip()
    enrolment = None
    if (request.values.get("enrolment_id") or "").isdigit():
        enrolment = hc.get_enrolment(current_user, int(request.values["enrolment_id"]))
    found = []
    if q and enrolment is None:
        found = db.session.scalars(
            hc.enrolments(current_user)
            .join(Person)
            .where(Person.name.contains(q), Enrolment.year == local_today().year)
            .order_by(Enrolment.id)
            .limit(20)
        ).all()
    form = ManualForm()
    form.reason.choices = list(visits.MANUAL_REASONS.items())
    if enrolment is not None and form.validate_on_submit():
        start = form.start.data.replace(tzinfo=LOCAL)
        end = form.end.data.replace(tzinfo=LOCAL)
        raw = {"form": True, "client_id": form.client_id.data}
        try:
            picked = _picked(request.form)
            _visit, created = idempotency.once(
                current_user,
                form.client_id.data,
                raw,
                lambda: visits.manual_visit(
                    current_user,
                    enrolment,
                    start,
                    end,
                    picked,
                    form.reason.data,
                    form.note.data or "",
                    client_id=form.client_id.data,
                    raw=raw,
                ),
            )
            db.session.commit()
            if created:  # the same form sent again counts once, and says nothing more
                flash(_("已补录 %(name)s 的服务", name=enrolment.person.name), "success")
            return redirect(url_for(".scan_page"))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
    if not form.client_id.data:
        form.client_id.data = str(uuid.uuid4())
    return render_template(
        "homecare/manual.html",
        q=q,
        found=found,
        e=enrolment,
        form=form,
        catalogue=services.catalogue(local_today().year),
    ), (422 if request.method == "POST" else 200)
