"""Footprint: organisations and the area tree.

Revision ID: 0002_footprint
Revises: 0001_core
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_footprint"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisation",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("serves", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_organisation")),
    )
    op.create_index(op.f("ix_organisation_type"), "organisation", ["type"], unique=False)
    op.create_table(
        "area",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_code", sa.String(length=16), nullable=True),
        sa.Column("organisation_code", sa.String(length=16), nullable=True),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_code"],
            ["organisation.code"],
            name=op.f("fk_area_organisation_code_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["area.code"], name=op.f("fk_area_parent_code_area")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_area")),
    )
    op.create_index(op.f("ix_area_level"), "area", ["level"], unique=False)
    op.create_index(op.f("ix_area_parent_code"), "area", ["parent_code"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_area_parent_code"), table_name="area")
    op.drop_index(op.f("ix_area_level"), table_name="area")
    op.drop_table("area")
    op.drop_index(op.f("ix_organisation_type"), table_name="organisation")
    op.drop_table("organisation")
