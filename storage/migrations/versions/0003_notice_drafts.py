"""Notice import: a draft notice keeps its reviewed lines until it is confirmed.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column: plain ALTER TABLE ADD COLUMN on both backends, no table copy.
    op.add_column("notices", sa.Column("draft", sa.JSON(), nullable=True))


def downgrade() -> None:
    # SQLite >= 3.35 drops a plain column in place; a batch copy of `notices` would have
    # to drop a table that assignments still reference.
    op.drop_column("notices", "draft")
