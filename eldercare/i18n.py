"""Chinese first: source strings are Chinese; translations/ holds the English catalogue."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request, session

from . import HERE


def select_locale() -> str:
    if not has_request_context():
        return "zh"  # jobs and the command line speak the source language
    lang = session.get("lang") or request.cookies.get("lang")
    if isinstance(lang, str) and lang in current_app.config["LANGUAGES"]:
        return lang
    return "zh"


def init_app(app: Flask) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(HERE / "translations")
