"""Governance: bodies, people and members, interests, and the versioned decision register.

Revision ID: 0008_governance
Revises: 0006_metrics_snapshots

Decision versions, recorded conflicts and votes are append-only in the database itself:
triggers refuse UPDATE and DELETE on them (and TRUNCATE on PostgreSQL). A change to a
decision is a new version.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wholesystem.store.db import UTCDateTime

revision: str = "0008_governance"
down_revision: str | None = "0007_finance_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("gov_decision_version", "gov_decision_conflict", "gov_decision_vote")


def _sqlite_triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
        for verb in ("UPDATE", "DELETE")
    ]


_PG_FUNCTION = """
CREATE FUNCTION gov_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def _pg_triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION gov_append_only()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION gov_append_only()",
    ]


def upgrade() -> None:
    op.create_table(
        "gov_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_decision")),
        sa.UniqueConstraint("reference", name=op.f("uq_gov_decision_reference")),
    )
    op.create_table(
        "gov_body",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("area_code", sa.String(length=16), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_code"], ["area.code"], name=op.f("fk_gov_body_area_code_area")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_body")),
        sa.UniqueConstraint("code", name=op.f("uq_gov_body_code")),
    )
    op.create_index(op.f("ix_gov_body_kind"), "gov_body", ["kind"], unique=False)
    op.create_table(
        "gov_person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("organisation_code", sa.String(length=16), nullable=False),
        sa.Column("second_organisation_code", sa.String(length=16), nullable=True),
        sa.Column("job_title", sa.String(length=200), nullable=False),
        sa.Column("decision_maker", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_code"],
            ["organisation.code"],
            name=op.f("fk_gov_person_organisation_code_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["second_organisation_code"],
            ["organisation.code"],
            name=op.f("fk_gov_person_second_organisation_code_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_gov_person_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_person")),
        sa.UniqueConstraint("user_id", name=op.f("uq_gov_person_user_id")),
    )
    op.create_table(
        "gov_decision_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("proposer", sa.String(length=200), nullable=False),
        sa.Column("value_pence", sa.BigInteger(), nullable=False),
        sa.Column("places", sa.JSON(), nullable=False),
        sa.Column("parties", sa.JSON(), nullable=False),
        sa.Column("matters", sa.JSON(), nullable=False),
        sa.Column("reserved_matters", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("alternatives", sa.Text(), nullable=False),
        sa.Column("routed_level", sa.String(length=16), nullable=False),
        sa.Column("routed_place_code", sa.String(length=16), nullable=True),
        sa.Column("routed_body_id", sa.Integer(), nullable=True),
        sa.Column("routing_explanation", sa.Text(), nullable=False),
        sa.Column("needs_crg", sa.Boolean(), nullable=False),
        sa.Column("needs_ratification", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("crg_status", sa.String(length=16), nullable=False),
        sa.Column("crg_note", sa.Text(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.Column("votes_for", sa.Integer(), nullable=True),
        sa.Column("votes_against", sa.Integer(), nullable=True),
        sa.Column("votes_abstain", sa.Integer(), nullable=True),
        sa.Column("quorum_note", sa.Text(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("planned_on", sa.Date(), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=True),
        sa.Column("review_date", sa.Date(), nullable=True),
        sa.Column("progress", sa.Text(), nullable=False),
        sa.Column("ratified_on", sa.Date(), nullable=True),
        sa.Column("ratified_by", sa.String(length=16), nullable=True),
        sa.Column("change_note", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["gov_decision.id"],
            name=op.f("fk_gov_decision_version_decision_id_gov_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["routed_body_id"],
            ["gov_body.id"],
            name=op.f("fk_gov_decision_version_routed_body_id_gov_body"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_decision_version")),
        sa.UniqueConstraint(
            "decision_id", "version", name=op.f("uq_gov_decision_version_decision_id")
        ),
    )
    op.create_index(
        op.f("ix_gov_decision_version_decided_on"),
        "gov_decision_version",
        ["decided_on"],
        unique=False,
    )
    op.create_index(
        op.f("ix_gov_decision_version_decision_id"),
        "gov_decision_version",
        ["decision_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_gov_decision_version_kind"), "gov_decision_version", ["kind"], unique=False
    )
    op.create_index(
        op.f("ix_gov_decision_version_status"), "gov_decision_version", ["status"], unique=False
    )
    op.create_table(
        "gov_decision_vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("vote", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["gov_decision.id"],
            name=op.f("fk_gov_decision_vote_decision_id_gov_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["gov_person.id"], name=op.f("fk_gov_decision_vote_person_id_gov_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_decision_vote")),
        sa.UniqueConstraint(
            "decision_id", "version", "person_id", name=op.f("uq_gov_decision_vote_decision_id")
        ),
    )
    op.create_index(
        op.f("ix_gov_decision_vote_decision_id"), "gov_decision_vote", ["decision_id"], unique=False
    )
    op.create_table(
        "gov_gift",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("offered_by", sa.String(length=200), nullable=False),
        sa.Column("from_supplier", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("value_pence", sa.BigInteger(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("declared_at", UTCDateTime(), nullable=False),
        sa.Column("declared_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["gov_person.id"], name=op.f("fk_gov_gift_person_id_gov_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_gift")),
    )
    op.create_index(op.f("ix_gov_gift_person_id"), "gov_gift", ["person_id"], unique=False)
    op.create_table(
        "gov_interest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("organisation_code", sa.String(length=16), nullable=True),
        sa.Column("organisation_name", sa.String(length=200), nullable=False),
        sa.Column("matter", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("starts", sa.Date(), nullable=False),
        sa.Column("ends", sa.Date(), nullable=True),
        sa.Column("withheld_reason", sa.Text(), nullable=True),
        sa.Column("declared_at", UTCDateTime(), nullable=False),
        sa.Column("declared_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["gov_person.id"], name=op.f("fk_gov_interest_person_id_gov_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_interest")),
    )
    op.create_index(op.f("ix_gov_interest_person_id"), "gov_interest", ["person_id"], unique=False)
    op.create_table(
        "gov_interest_declaration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("nil_return", sa.Boolean(), nullable=False),
        sa.Column("declared_at", UTCDateTime(), nullable=False),
        sa.Column("declared_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["gov_person.id"],
            name=op.f("fk_gov_interest_declaration_person_id_gov_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_interest_declaration")),
        sa.UniqueConstraint(
            "person_id", "year", name=op.f("uq_gov_interest_declaration_person_id")
        ),
    )
    op.create_index(
        op.f("ix_gov_interest_declaration_person_id"),
        "gov_interest_declaration",
        ["person_id"],
        unique=False,
    )
    op.create_table(
        "gov_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=False),
        sa.Column("member_group", sa.String(length=32), nullable=False),
        sa.Column("voting", sa.Boolean(), nullable=False),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("term_end", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["body_id"], ["gov_body.id"], name=op.f("fk_gov_member_body_id_gov_body")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["gov_person.id"], name=op.f("fk_gov_member_person_id_gov_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_member")),
        sa.UniqueConstraint("body_id", "person_id", name=op.f("uq_gov_member_body_id")),
    )
    op.create_index(op.f("ix_gov_member_body_id"), "gov_member", ["body_id"], unique=False)
    op.create_index(op.f("ix_gov_member_person_id"), "gov_member", ["person_id"], unique=False)
    op.create_table(
        "gov_decision_conflict",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("interest_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("management", sa.JSON(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["gov_decision.id"],
            name=op.f("fk_gov_decision_conflict_decision_id_gov_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["interest_id"],
            ["gov_interest.id"],
            name=op.f("fk_gov_decision_conflict_interest_id_gov_interest"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["gov_person.id"],
            name=op.f("fk_gov_decision_conflict_person_id_gov_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_decision_conflict")),
    )
    op.create_index(
        op.f("ix_gov_decision_conflict_decision_id"),
        "gov_decision_conflict",
        ["decision_id"],
        unique=False,
    )

    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
        for table in APPEND_ONLY:
            for statement in _pg_triggers(table):
                op.execute(statement)
    elif dialect == "sqlite":
        for table in APPEND_ONLY:
            for statement in _sqlite_triggers(table):
                op.execute(statement)


def downgrade() -> None:
    for table in (
        "gov_decision_conflict",
        "gov_decision_vote",
        "gov_decision_version",
        "gov_decision",
        "gov_gift",
        "gov_interest_declaration",
        "gov_interest",
        "gov_member",
        "gov_person",
        "gov_body",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS gov_append_only()")
