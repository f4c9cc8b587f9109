"""Access information governance: care relationships, break-glass grants, opt-outs.

Revision ID: 0005_access_ig
Revises: 0004_record_ingest

At most one current (not withdrawn) opt-out per NHS number is enforced by a partial
unique index, which both SQLite and PostgreSQL support.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wholesystem.store.db import UTCDateTime

revision: str = "0005_access_ig"
down_revision: str | None = "0004_record_ingest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "care_relationship",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("organisation_code", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("ended_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_code"],
            ["organisation.code"],
            name=op.f("fk_care_relationship_organisation_code_organisation"),
        ),
        sa.CheckConstraint(
            "kind IN ('caseload', 'referral')", name=op.f("ck_care_relationship_kind_known")
        ),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at",
            name=op.f("ck_care_relationship_ends_after_start"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_relationship")),
    )
    op.create_index(
        op.f("ix_care_relationship_organisation_code"),
        "care_relationship",
        ["organisation_code"],
        unique=False,
    )
    op.create_index(
        "ix_care_relationship_person_org",
        "care_relationship",
        ["person_id", "organisation_code"],
        unique=False,
    )

    op.create_table(
        "break_glass_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("review_outcome", sa.String(length=16), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_break_glass_grant_user_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["app_user.id"],
            name=op.f("fk_break_glass_grant_reviewed_by_id_app_user"),
        ),
        sa.CheckConstraint(
            "expires_at > started_at", name=op.f("ck_break_glass_grant_expires_after_start")
        ),
        sa.CheckConstraint(
            "review_outcome IS NULL OR review_outcome IN ('appropriate', 'inappropriate')",
            name=op.f("ck_break_glass_grant_outcome_known"),
        ),
        sa.CheckConstraint(
            "(reviewed_at IS NULL AND reviewed_by_id IS NULL AND review_outcome IS NULL)"
            " OR (reviewed_at IS NOT NULL AND reviewed_by_id IS NOT NULL"
            " AND review_outcome IS NOT NULL)",
            name=op.f("ck_break_glass_grant_review_complete"),
        ),
        sa.CheckConstraint(
            "reviewed_by_id IS NULL OR reviewed_by_id <> user_id",
            name=op.f("ck_break_glass_grant_not_self_reviewed"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_break_glass_grant")),
    )
    op.create_index(
        op.f("ix_break_glass_grant_person_id"), "break_glass_grant", ["person_id"], unique=False
    )
    op.create_index(
        op.f("ix_break_glass_grant_started_at"), "break_glass_grant", ["started_at"], unique=False
    )
    op.create_index(
        op.f("ix_break_glass_grant_reviewed_at"),
        "break_glass_grant",
        ["reviewed_at"],
        unique=False,
    )
    op.create_index(
        "ix_break_glass_grant_user_person",
        "break_glass_grant",
        ["user_id", "person_id"],
        unique=False,
    )

    op.create_table(
        "opt_out",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nhs_number", sa.String(length=10), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "length(nhs_number) = 10", name=op.f("ck_opt_out_nhs_number_ten_digits")
        ),
        sa.CheckConstraint(
            "withdrawn_at IS NULL OR withdrawn_at >= recorded_at",
            name=op.f("ck_opt_out_withdrawn_after_recorded"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opt_out")),
    )
    op.create_index(op.f("ix_opt_out_nhs_number"), "opt_out", ["nhs_number"], unique=False)
    op.create_index(
        "uq_opt_out_current",
        "opt_out",
        ["nhs_number"],
        unique=True,
        sqlite_where=sa.text("withdrawn_at IS NULL"),
        postgresql_where=sa.text("withdrawn_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_opt_out_current", table_name="opt_out")
    op.drop_index(op.f("ix_opt_out_nhs_number"), table_name="opt_out")
    op.drop_table("opt_out")
    op.drop_index("ix_break_glass_grant_user_person", table_name="break_glass_grant")
    op.drop_index(op.f("ix_break_glass_grant_reviewed_at"), table_name="break_glass_grant")
    op.drop_index(op.f("ix_break_glass_grant_started_at"), table_name="break_glass_grant")
    op.drop_index(op.f("ix_break_glass_grant_person_id"), table_name="break_glass_grant")
    op.drop_table("break_glass_grant")
    op.drop_index("ix_care_relationship_person_org", table_name="care_relationship")
    op.drop_index(op.f("ix_care_relationship_organisation_code"), table_name="care_relationship")
    op.drop_table("care_relationship")
