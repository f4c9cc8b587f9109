"""Population health: the risk-model registry.

Revision ID: 0009_population
Revises: 0006_metrics_snapshots
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wholesystem.store.db import UTCDateTime

revision: str = "0009_population"
down_revision: str | None = "0008_governance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "population_model",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("algorithm", sa.String(128), nullable=False),
        sa.Column("train_index_date", sa.Date(), nullable=False),
        sa.Column("validation_index_date", sa.Date(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("n_train", sa.Integer(), nullable=False),
        sa.Column("n_validate", sa.Integer(), nullable=False),
        sa.Column("excluded_opted_out", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("subgroups", sa.JSON(), nullable=False),
        sa.Column("baseline", sa.JSON(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_population_model_active", "population_model", ["active"])


def downgrade() -> None:
    op.drop_index("ix_population_model_active", table_name="population_model")
    op.drop_table("population_model")
