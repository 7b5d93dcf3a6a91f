"""dynamic management becomes a feature with its own branch: it takes over its tables

Revision ID: dynamic_0001
Revises: (base of the dynamic branch; depends on core_0006)
Create Date: 2026-12-04 18:40:00

The tables of dynamic management (comparisons, comparison_rows, proposals, terminations,
reviews) were created by the core's branch (core_0004) and encrypted by core_0006, when
the package lived inside the core (eldercare/dynamic). It is now the top-level feature
`dynamic`, loaded by name like facilities and homecare. This revision changes no table
and no row: it only marks that from here on the tables' changes are revisions of this
branch, so that the core's branch holds the core's tables alone. A database upgraded
from before the move keeps every row (tests/dynamic/test_migration.py).
"""

# revision identifiers, used by Alembic.
revision = 'dynamic_0001'
down_revision = None
branch_labels = ('dynamic',)
depends_on = 'core_0006'


def upgrade():
    pass  # ownership only: the tables exist since core_0004


def downgrade():
    pass
