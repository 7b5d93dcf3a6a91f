"""facilities feature: loaded by the core's app factory, which calls init_app(app)."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register blueprints, menu items, overview figures, demo steps and jobs."""
    from . import models  # noqa: F401  (the tables, for migrations and the metadata)
