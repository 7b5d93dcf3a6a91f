"""dynamic management moved out of the core into a feature of its own: a database
upgraded from the schema before the move keeps every row, and its Alembic history
gains the new branch."""

from __future__ import annotations

import sqlalchemy as sa

from tests.eldercare.test_encryption import _scratch_database


def test_a_database_from_before_the_move_keeps_its_rows(app, tmp_path):
    from flask_migrate import downgrade, upgrade

    from eldercare import create_app

    old = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": _scratch_database(tmp_path)})
    with old.app_context():
        from eldercare.extensions import db

        directory = old.extensions["migrate"].directory
        upgrade(directory=directory, revision="heads")
        downgrade(directory=directory, revision="dynamic@base")  # the schema before the move
        versions = set(db.session.scalars(sa.text("SELECT version_num FROM alembic_version")))
        # (the core's head may stand behind a feature's revision that depends on it)
        assert versions and not any(v.startswith("dynamic_") for v in versions)
        db.session.execute(
            sa.text(
                "INSERT INTO comparisons (kind, source, filename, uploaded_at, rows, matched, "
                "unmatched, ambiguous, proposal_count) VALUES ('death', '公安', 'old.csv', "
                "'2026-11-30 02:00:00', 7, 5, 2, 0, 3)"
            )
        )
        db.session.commit()
        db.session.remove()

        upgrade(directory=directory, revision="heads")
        versions = set(db.session.scalars(sa.text("SELECT version_num FROM alembic_version")))
        assert any(v.startswith("dynamic_") for v in versions)
        row = db.session.execute(
            sa.text("SELECT kind, source, rows, matched, proposal_count FROM comparisons")
        ).one()
        assert tuple(row) == ("death", "公安", 7, 5, 3)
        db.session.remove()
        db.engine.dispose()
