"""Governance: concerns, escalation and disputes; challenge and answers.

Revision ID: 0013_governance_concerns
Revises: 0012_finance_contracts

A concern's history (``gov_concern_event``) is append-only in the database itself: triggers
refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL), reusing 0008's ``gov_append_only()``.
An answered question (``gov_question``) cannot be changed or deleted either; an unanswered
one may be updated only to record its answer (the service checks the rest).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wholesystem.store.db import UTCDateTime

revision: str = "0013_governance_concerns"
down_revision: str | None = "0012_finance_contracts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE = [
    "CREATE TRIGGER gov_concern_event_no_update BEFORE UPDATE ON gov_concern_event "
    "BEGIN SELECT RAISE(ABORT, 'gov_concern_event is append-only: UPDATE refused'); END",
    "CREATE TRIGGER gov_concern_event_no_delete BEFORE DELETE ON gov_concern_event "
    "BEGIN SELECT RAISE(ABORT, 'gov_concern_event is append-only: DELETE refused'); END",
    "CREATE TRIGGER gov_question_answered_no_update BEFORE UPDATE ON gov_question "
    "WHEN OLD.status = 'answered' "
    "BEGIN SELECT RAISE(ABORT, 'gov_question: an answered question is final'); END",
    "CREATE TRIGGER gov_question_no_delete BEFORE DELETE ON gov_question "
    "BEGIN SELECT RAISE(ABORT, 'gov_question: questions are never deleted'); END",
]

_PG = [
    "CREATE TRIGGER gov_concern_event_append_only BEFORE UPDATE OR DELETE ON gov_concern_event "
    "FOR EACH ROW EXECUTE FUNCTION gov_append_only()",
    "CREATE TRIGGER gov_concern_event_no_truncate BEFORE TRUNCATE ON gov_concern_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION gov_append_only()",
    """
CREATE FUNCTION gov_question_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status <> 'answered' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'gov_question: % refused (answered questions are final, none is deleted)',
        TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
""",
    "CREATE TRIGGER gov_question_final BEFORE UPDATE OR DELETE ON gov_question "
    "FOR EACH ROW EXECUTE FUNCTION gov_question_final()",
    "CREATE TRIGGER gov_question_no_truncate BEFORE TRUNCATE ON gov_question "
    "FOR EACH STATEMENT EXECUTE FUNCTION gov_question_final()",
]


def upgrade() -> None:
    op.create_table(
        "gov_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_ref", sa.String(length=64), nullable=False),
        sa.Column("subject_title", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("asker_kind", sa.String(length=16), nullable=False),
        sa.Column("asker_name", sa.String(length=200), nullable=False),
        sa.Column("asker_email", sa.String(length=254), nullable=True),
        sa.Column("asker_username", sa.String(length=64), nullable=True),
        sa.Column("asker_role", sa.String(length=64), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_question")),
        sa.UniqueConstraint("reference", name=op.f("uq_gov_question_reference")),
    )
    op.create_index(
        op.f("ix_gov_question_client_key"), "gov_question", ["client_key"], unique=False
    )
    op.create_index(
        op.f("ix_gov_question_received_at"), "gov_question", ["received_at"], unique=False
    )
    op.create_index(op.f("ix_gov_question_status"), "gov_question", ["status"], unique=False)
    op.create_index(
        op.f("ix_gov_question_subject_kind"), "gov_question", ["subject_kind"], unique=False
    )
    op.create_table(
        "gov_concern",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("organisations", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("metric_id", sa.String(length=64), nullable=True),
        sa.Column("area_code", sa.String(length=16), nullable=True),
        sa.Column("snapshot_id", sa.Integer(), nullable=True),
        sa.Column("open_key", sa.String(length=100), nullable=True),
        sa.Column("raised_by", sa.String(length=64), nullable=False),
        sa.Column("raised_by_name", sa.String(length=200), nullable=False),
        sa.Column("raised_by_org", sa.String(length=16), nullable=True),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("owner_person_id", sa.Integer(), nullable=False),
        sa.Column("owner_note", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_person_id"],
            ["gov_person.id"],
            name=op.f("fk_gov_concern_owner_person_id_gov_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_concern")),
        sa.UniqueConstraint("open_key", name=op.f("uq_gov_concern_open_key")),
        sa.UniqueConstraint("reference", name=op.f("uq_gov_concern_reference")),
    )
    op.create_index(op.f("ix_gov_concern_source"), "gov_concern", ["source"], unique=False)
    op.create_index(op.f("ix_gov_concern_stage"), "gov_concern", ["stage"], unique=False)
    op.create_index(op.f("ix_gov_concern_status"), "gov_concern", ["status"], unique=False)
    op.create_table(
        "gov_concern_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("owner_person_id", sa.Integer(), nullable=True),
        sa.Column("days_allowed", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["concern_id"],
            ["gov_concern.id"],
            name=op.f("fk_gov_concern_event_concern_id_gov_concern"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_person_id"],
            ["gov_person.id"],
            name=op.f("fk_gov_concern_event_owner_person_id_gov_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_concern_event")),
        sa.UniqueConstraint("concern_id", "seq", name=op.f("uq_gov_concern_event_concern_id")),
    )
    op.create_index(
        op.f("ix_gov_concern_event_concern_id"), "gov_concern_event", ["concern_id"], unique=False
    )

    statements = {"postgresql": _PG, "sqlite": _SQLITE}.get(op.get_bind().dialect.name, [])
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    for table in ("gov_concern_event", "gov_concern", "gov_question"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS gov_question_final()")
