"""Governance meetings: forward plan, agendas, attendance, minutes, actions.

Revision ID: 0010_governance_meetings
Revises: 0009_population

Locked minutes are immutable in the database itself: a trigger refuses UPDATE and DELETE of
a ``gov_minutes`` row once its status is ``locked`` (a correction is an erratum). Errata and
the conflicts recorded per agenda item are append-only, like the decision register's
versions (migration 0008, whose ``gov_append_only()`` function PostgreSQL reuses here).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wholesystem.store.db import UTCDateTime

revision: str = "0010_governance_meetings"
down_revision: str | None = "0009_population"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("gov_minutes_erratum", "gov_item_conflict")


def _sqlite_triggers() -> list[str]:
    out = [
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
        for table in APPEND_ONLY
        for verb in ("UPDATE", "DELETE")
    ]
    out += [
        f"CREATE TRIGGER gov_minutes_locked_no_{verb.lower()} BEFORE {verb} ON gov_minutes "
        "WHEN OLD.status = 'locked' "
        f"BEGIN SELECT RAISE(ABORT, 'gov_minutes are locked: {verb} refused'); END"
        for verb in ("UPDATE", "DELETE")
    ]
    return out


_PG_LOCKED = """
CREATE FUNCTION gov_minutes_locked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'locked' THEN
        RAISE EXCEPTION 'gov_minutes are locked: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$
"""


def _pg_triggers() -> list[str]:
    out = [_PG_LOCKED]
    for table in APPEND_ONLY:
        out += [
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION gov_append_only()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION gov_append_only()",
        ]
    out += [
        "CREATE TRIGGER gov_minutes_locked BEFORE UPDATE OR DELETE ON gov_minutes "
        "FOR EACH ROW EXECUTE FUNCTION gov_minutes_locked()",
    ]
    return out


def upgrade() -> None:
    op.create_table(
        "gov_meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["body_id"], ["gov_body.id"], name=op.f("fk_gov_meeting_body_id_gov_body")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_meeting")),
    )
    op.create_index(op.f("ix_gov_meeting_body_id"), "gov_meeting", ["body_id"], unique=False)
    op.create_index(op.f("ix_gov_meeting_starts_at"), "gov_meeting", ["starts_at"], unique=False)
    op.create_index(op.f("ix_gov_meeting_status"), "gov_meeting", ["status"], unique=False)
    op.create_table(
        "gov_agenda_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("part", sa.String(length=16), nullable=False),
        sa.Column("presenter", sa.String(length=200), nullable=False),
        sa.Column("standing", sa.Boolean(), nullable=False),
        sa.Column("key_decision", sa.Boolean(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("parties", sa.JSON(), nullable=False),
        sa.Column("matters", sa.JSON(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("outcome_recorded_at", UTCDateTime(), nullable=True),
        sa.Column("outcome_recorded_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["gov_decision.id"],
            name=op.f("fk_gov_agenda_item_decision_id_gov_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["gov_meeting.id"],
            name=op.f("fk_gov_agenda_item_meeting_id_gov_meeting"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_agenda_item")),
        sa.UniqueConstraint("meeting_id", "position", name=op.f("uq_gov_agenda_item_meeting_id")),
    )
    op.create_index(
        op.f("ix_gov_agenda_item_meeting_id"), "gov_agenda_item", ["meeting_id"], unique=False
    )
    op.create_table(
        "gov_paper",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["gov_agenda_item.id"], name=op.f("fk_gov_paper_item_id_gov_agenda_item")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_paper")),
    )
    op.create_index(op.f("ix_gov_paper_item_id"), "gov_paper", ["item_id"], unique=False)
    op.create_table(
        "gov_attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["gov_meeting.id"],
            name=op.f("fk_gov_attendance_meeting_id_gov_meeting"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["gov_person.id"], name=op.f("fk_gov_attendance_person_id_gov_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_attendance")),
        sa.UniqueConstraint("meeting_id", "person_id", name=op.f("uq_gov_attendance_meeting_id")),
    )
    op.create_index(
        op.f("ix_gov_attendance_meeting_id"), "gov_attendance", ["meeting_id"], unique=False
    )
    op.create_table(
        "gov_item_conflict",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("interest_id", sa.Integer(), nullable=True),
        sa.Column("organisation_code", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("management", sa.JSON(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["interest_id"],
            ["gov_interest.id"],
            name=op.f("fk_gov_item_conflict_interest_id_gov_interest"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["gov_agenda_item.id"],
            name=op.f("fk_gov_item_conflict_item_id_gov_agenda_item"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["gov_person.id"],
            name=op.f("fk_gov_item_conflict_person_id_gov_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_item_conflict")),
    )
    op.create_index(
        op.f("ix_gov_item_conflict_item_id"), "gov_item_conflict", ["item_id"], unique=False
    )
    op.create_table(
        "gov_minutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("approved_by", sa.String(length=16), nullable=True),
        sa.Column("approved_at_meeting_id", sa.Integer(), nullable=True),
        sa.Column("approved_on", sa.Date(), nullable=True),
        sa.Column("locked_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["approved_at_meeting_id"],
            ["gov_meeting.id"],
            name=op.f("fk_gov_minutes_approved_at_meeting_id_gov_meeting"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["gov_meeting.id"], name=op.f("fk_gov_minutes_meeting_id_gov_meeting")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_minutes")),
        sa.UniqueConstraint("meeting_id", name=op.f("uq_gov_minutes_meeting_id")),
    )
    op.create_table(
        "gov_minutes_erratum",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("minutes_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["minutes_id"],
            ["gov_minutes.id"],
            name=op.f("fk_gov_minutes_erratum_minutes_id_gov_minutes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_minutes_erratum")),
    )
    op.create_index(
        op.f("ix_gov_minutes_erratum_minutes_id"),
        "gov_minutes_erratum",
        ["minutes_id"],
        unique=False,
    )
    op.create_table(
        "gov_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_person_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("chase_count", sa.Integer(), nullable=False),
        sa.Column("last_chased_at", UTCDateTime(), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["gov_agenda_item.id"],
            name=op.f("fk_gov_action_item_id_gov_agenda_item"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["gov_meeting.id"], name=op.f("fk_gov_action_meeting_id_gov_meeting")
        ),
        sa.ForeignKeyConstraint(
            ["owner_person_id"],
            ["gov_person.id"],
            name=op.f("fk_gov_action_owner_person_id_gov_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_action")),
    )
    op.create_index(op.f("ix_gov_action_due_on"), "gov_action", ["due_on"], unique=False)
    op.create_index(op.f("ix_gov_action_meeting_id"), "gov_action", ["meeting_id"], unique=False)
    op.create_index(op.f("ix_gov_action_status"), "gov_action", ["status"], unique=False)

    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for statement in _pg_triggers():
            op.execute(statement)
    elif dialect == "sqlite":
        for statement in _sqlite_triggers():
            op.execute(statement)


def downgrade() -> None:
    for table in (
        "gov_action",
        "gov_minutes_erratum",
        "gov_minutes",
        "gov_item_conflict",
        "gov_attendance",
        "gov_paper",
        "gov_agenda_item",
        "gov_meeting",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS gov_minutes_locked()")
