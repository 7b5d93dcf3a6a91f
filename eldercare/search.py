"""Search boxes that never put what was typed into a URL.

A clerk types a resident ID number into a list's search box. Sent as ``?q=…`` by a GET
form, the number would land in the browser's history, in every proxy's log and in the
links of the page (pagination, exports). So a list's search form posts here instead
(with its CSRF token), and the list is then opened with the text only encrypted
(``?qs=…``, AES-GCM under the data key, never readable without it). Lists read the text
with :func:`search_text`, which still takes a plain ``q`` (old bookmarks, and the API,
whose contract has ``q``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Flask, abort, current_app, redirect, request
from flask_login import login_required
from werkzeug.exceptions import HTTPException

from .crypto import DecryptionError, keyring

KIND = "search"  # bound into each token: a search token opens as nothing else
SKIP = {"csrf_token", "to", "q", "qs", "page"}  # a new search starts at page 1

bp = Blueprint("search", __name__)


@bp.post("/search")
@login_required
def search():
    """`to` is the list's own path; every other field is a filter and goes on as it is."""
    target = request.form.get("to", "")
    try:
        current_app.url_map.bind("").match(target, method="GET")
    except HTTPException:
        abort(400)  # not one of our pages: no open redirect
    args = [(k, v) for k, v in request.form.items(multi=True) if k not in SKIP and v]
    text = (request.form.get("q") or "").strip()
    if text:
        args.append(("qs", keyring().encrypt(text, KIND)))
    return redirect(target + ("?" + urlencode(args) if args else ""), 303)


def search_text(args) -> str | None:
    """What was typed into the list's search box, or None."""
    text = (args.get("q") or "").strip()
    if text:
        return text
    token = args.get("qs")
    if not token:
        return None
    try:
        return keyring().decrypt(token, KIND).strip() or None
    except DecryptionError:
        return None  # a token from another instance or a mangled link: no search


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["search_text"] = search_text
