"""Bringing a database up (`eldercare init-db`): migrate to the newest schema, every
package's branch, then load the reference data (regions, each feature's seeds)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_migrate import upgrade

from .extensions import db
from .models import Region
from .regions_data import all_regions
from .registry import registry


def version_locations(app) -> list[str]:
    """Each package keeps its own migrations: the core's, and one folder per feature."""
    import importlib

    here = Path(__file__).resolve().parent
    locations = [str(here / "migrations" / "versions")]
    for name in app.config["FEATURES"]:
        pkg = importlib.import_module(name)
        # a feature may keep sub-packages with branches of their own (homecare/claims/)
        folders = sorted(Path(pkg.__file__ or name).resolve().parent.rglob("migrations"))
        locations.extend(str(f) for f in folders if f.is_dir() and "__pycache__" not in f.parts)
    return locations


def load_regions() -> int:
    """Insert the divisions that are not there yet (init-db runs this on every upgrade)."""
    have = set(db.session.scalars(sa.select(Region.code)))
    rows = [r for r in all_regions() if r["code"] not in have]
    # Parents first, so that the foreign key holds at every row.
    order = {"district": 0, "township": 1, "village": 2}
    rows.sort(key=lambda r: order[r["level"]])
    if rows:
        db.session.execute(sa.insert(Region), rows)
    return len(rows)


def init_database() -> None:
    upgrade(directory=current_app.extensions["migrate"].directory, revision="heads")
    load_regions()
    for seed in registry().seeds:
        seed()
    db.session.commit()
