"""eldercare: the core. `create_app` builds the app and loads the features by name."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from flask import Flask, g
from werkzeug.routing import IntegerConverter

from .config import Config
from .extensions import babel, csrf, db, migrate

HERE = Path(__file__).resolve().parent


class RowId(IntegerConverter):
    """<int:…> in every route: a positive id that fits the databases' INTEGER, so that a
    huge number is a plain 404 rather than an overflow deep in the driver."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def _asset_dir(name: str) -> str:
    """templates/ and static/ at the repository top; inside the package in a wheel."""
    top = HERE.parent / name
    return str(top if top.is_dir() else HERE / f"_{name}")


def _configure_migrations(app: Flask) -> None:
    """Every package keeps its own migration branch (eldercare, facilities, homecare)."""
    from .bootstrap import version_locations

    def configure(config):
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", os.pathsep.join(version_locations(app)))
        return config

    migrate.configure_callbacks = [configure]


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """The app: configuration, extensions, the core's blueprints, then every feature named
    in FEATURES (each registers itself through its init_app)."""
    app = Flask(
        __name__,
        template_folder=_asset_dir("templates"),
        static_folder=_asset_dir("static"),
        instance_relative_config=False,
    )
    app.url_map.converters["int"] = RowId
    app.config.from_object(Config())
    app.config.update(overrides or {})
    app.instance_path = app.config["INSTANCE_PATH"]
    _init_extensions(app)
    _register_core(app)
    for name in app.config["FEATURES"]:
        importlib.import_module(name).init_app(app)
    app.extensions["eldercare"].nav.sort(key=lambda item: item.order)
    app.teardown_request(_end_transaction)
    return app


def _init_extensions(app: Flask) -> None:
    """JSON, encryption keys, the database and its migrations, CSRF, the registry, i18n."""
    from .jsonutil import JSONProvider

    app.json = JSONProvider(app)

    from . import crypto

    crypto.init_app(app)  # refuses to start with malformed keys
    db.init_app(app)
    with app.app_context():
        from .database import configure_engine

        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(HERE / "migrations"), render_as_batch=True)
    _configure_migrations(app)
    csrf.init_app(app)

    from . import i18n, registry

    reg = registry.init_app(app)
    from .jobs import ALERTS

    reg.add_job(ALERTS)
    from .wubao_tallies import recount_wubao

    reg.tallies["core"] = recount_wubao
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)


def _register_core(app: Flask) -> None:
    """The core's request guards, error handlers, template helpers, pages, API and CLI."""
    from .auth import web as auth_web

    auth_web.init_app(app)

    from . import errorhandlers, search, templating

    errorhandlers.init_app(app)
    templating.init_app(app)
    search.init_app(app)

    from .accounts import api as accounts_api
    from .accounts import views as accounts_views
    from .auth.views import bp as auth_bp
    from .calendar_views import api as calendar_api_bp
    from .calendar_views import bp as calendar_bp
    from .core_api import bp as core_api_bp
    from .jobs_views import bp as jobs_bp
    from .people.api import bp as people_api_bp
    from .people.views import bp as people_bp
    from .public import bp as public_bp
    from .views import bp as core_bp

    for bp in (
        core_bp,
        auth_bp,
        people_bp,
        core_api_bp,
        people_api_bp,
        jobs_bp,
        accounts_views.bp,
        accounts_api.bp,
        public_bp,
        calendar_bp,
        calendar_api_bp,
    ):
        app.register_blueprint(bp)

    from . import cli

    cli.init_app(app)


def _end_transaction(_exc) -> None:
    # Each request ends its own transaction, even where an app context outlives it
    # (tests, CLI); an uncommitted change is never carried into the next request.
    db.session.rollback()
    # Per-request state (the logged-in user, the CSRF token, the locale) must not
    # survive into the next request either.
    for key in list(g):
        g.pop(key, None)
