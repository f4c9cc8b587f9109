"""Governance: the system plan (versioned) and the shared risk register.

Revision ID: 0011_governance_plan
Revises: 0010_governance_meetings

A published plan version, and every priority, objective, metric and milestone in it, is
immutable in the database itself: triggers refuse INSERT, UPDATE and DELETE touching a
published version (TRUNCATE too, on PostgreSQL). Risk scores are append-only: a re-score
is a new row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wholesystem.metrics.models import ExactDecimal
from wholesystem.store.db import UTCDateTime

revision: str = "0011_governance_plan"
down_revision: str | None = "0010_governance_meetings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLAN_CHILDREN = ("gov_plan_priority", "gov_plan_objective", "gov_plan_metric", "gov_plan_milestone")
TABLES = (
    "gov_risk_objective",
    "gov_risk_action",
    "gov_risk_control",
    "gov_risk_score",
    "gov_risk",
    "gov_plan_milestone",
    "gov_plan_metric",
    "gov_plan_objective",
    "gov_plan_priority",
    "gov_plan_version",
)
_FROZEN = "published plan versions are immutable"
_PUBLISHED = "(SELECT status FROM gov_plan_version WHERE id = {row}.version_id) = 'published'"


def _sqlite_triggers() -> list[str]:
    out = [
        f"CREATE TRIGGER gov_plan_version_no_{verb.lower()} BEFORE {verb} ON gov_plan_version "
        f"WHEN OLD.status = 'published' BEGIN SELECT RAISE(ABORT, '{_FROZEN}: {verb} refused'); END"
        for verb in ("UPDATE", "DELETE")
    ]
    for table in PLAN_CHILDREN:
        for verb, when in (
            ("INSERT", _PUBLISHED.format(row="NEW")),
            ("UPDATE", f"{_PUBLISHED.format(row='OLD')} OR {_PUBLISHED.format(row='NEW')}"),
            ("DELETE", _PUBLISHED.format(row="OLD")),
        ):
            out.append(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} WHEN {when} "
                f"BEGIN SELECT RAISE(ABORT, '{_FROZEN}: {verb} refused'); END"
            )
    out += [
        f"CREATE TRIGGER gov_risk_score_no_{verb.lower()} BEFORE {verb} ON gov_risk_score "
        f"BEGIN SELECT RAISE(ABORT, 'gov_risk_score is append-only: {verb} refused'); END"
        for verb in ("UPDATE", "DELETE")
    ]
    return out


_PG_FUNCTION = """
CREATE FUNCTION gov_plan_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'published plan versions are immutable: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_TABLE_NAME = 'gov_plan_version' THEN
        IF OLD.status = 'published' THEN
            RAISE EXCEPTION 'published plan versions are immutable: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    ELSE
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            IF EXISTS (SELECT 1 FROM gov_plan_version
                       WHERE id = OLD.version_id AND status = 'published') THEN
                RAISE EXCEPTION 'published plan versions are immutable: % refused', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            IF EXISTS (SELECT 1 FROM gov_plan_version
                       WHERE id = NEW.version_id AND status = 'published') THEN
                RAISE EXCEPTION 'published plan versions are immutable: % refused', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$
"""


def _pg_triggers() -> list[str]:
    out = [
        "CREATE TRIGGER gov_plan_version_frozen BEFORE UPDATE OR DELETE ON gov_plan_version "
        "FOR EACH ROW EXECUTE FUNCTION gov_plan_frozen()",
        "CREATE TRIGGER gov_plan_version_no_truncate BEFORE TRUNCATE ON gov_plan_version "
        "FOR EACH STATEMENT EXECUTE FUNCTION gov_plan_frozen()",
    ]
    for table in PLAN_CHILDREN:
        out += [
            f"CREATE TRIGGER {table}_frozen BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION gov_plan_frozen()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION gov_plan_frozen()",
        ]
    # gov_append_only() is created by migration 0008.
    out += [
        "CREATE TRIGGER gov_risk_score_append_only BEFORE UPDATE OR DELETE ON gov_risk_score "
        "FOR EACH ROW EXECUTE FUNCTION gov_append_only()",
        "CREATE TRIGGER gov_risk_score_no_truncate BEFORE TRUNCATE ON gov_risk_score "
        "FOR EACH STATEMENT EXECUTE FUNCTION gov_append_only()",
    ]
    return out


def upgrade() -> None:
    op.create_table(
        "gov_plan_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("vision", sa.Text(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("change_note", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("published_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_plan_version")),
        sa.UniqueConstraint("number", name=op.f("uq_gov_plan_version_number")),
    )
    op.create_index(
        op.f("ix_gov_plan_version_status"), "gov_plan_version", ["status"], unique=False
    )
    op.create_table(
        "gov_plan_priority",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["gov_plan_version.id"],
            name=op.f("fk_gov_plan_priority_version_id_gov_plan_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_plan_priority")),
    )
    op.create_index(
        op.f("ix_gov_plan_priority_version_id"), "gov_plan_priority", ["version_id"], unique=False
    )
    op.create_table(
        "gov_plan_objective",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("priority_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("place_code", sa.String(length=16), nullable=True),
        sa.Column("owner_org_code", sa.String(length=16), nullable=False),
        sa.Column("owner_person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_org_code"],
            ["organisation.code"],
            name=op.f("fk_gov_plan_objective_owner_org_code_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_person_id"],
            ["gov_person.id"],
            name=op.f("fk_gov_plan_objective_owner_person_id_gov_person"),
        ),
        sa.ForeignKeyConstraint(
            ["place_code"], ["area.code"], name=op.f("fk_gov_plan_objective_place_code_area")
        ),
        sa.ForeignKeyConstraint(
            ["priority_id"],
            ["gov_plan_priority.id"],
            name=op.f("fk_gov_plan_objective_priority_id_gov_plan_priority"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["gov_plan_version.id"],
            name=op.f("fk_gov_plan_objective_version_id_gov_plan_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_plan_objective")),
        sa.UniqueConstraint("version_id", "ref", name=op.f("uq_gov_plan_objective_version_id")),
    )
    op.create_index(
        op.f("ix_gov_plan_objective_version_id"), "gov_plan_objective", ["version_id"], unique=False
    )
    op.create_table(
        "gov_risk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_org_code", sa.String(length=16), nullable=False),
        sa.Column("owner_person_id", sa.Integer(), nullable=False),
        sa.Column("target_likelihood", sa.Integer(), nullable=False),
        sa.Column("target_consequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("closing_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_org_code"],
            ["organisation.code"],
            name=op.f("fk_gov_risk_owner_org_code_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_person_id"],
            ["gov_person.id"],
            name=op.f("fk_gov_risk_owner_person_id_gov_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_risk")),
        sa.UniqueConstraint("reference", name=op.f("uq_gov_risk_reference")),
    )
    op.create_index(
        op.f("ix_gov_risk_owner_org_code"), "gov_risk", ["owner_org_code"], unique=False
    )
    op.create_index(op.f("ix_gov_risk_status"), "gov_risk", ["status"], unique=False)
    op.create_table(
        "gov_plan_metric",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("objective_id", sa.Integer(), nullable=False),
        sa.Column("metric_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["objective_id"],
            ["gov_plan_objective.id"],
            name=op.f("fk_gov_plan_metric_objective_id_gov_plan_objective"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["gov_plan_version.id"],
            name=op.f("fk_gov_plan_metric_version_id_gov_plan_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_plan_metric")),
        sa.UniqueConstraint(
            "objective_id", "metric_id", name=op.f("uq_gov_plan_metric_objective_id")
        ),
    )
    op.create_index(
        op.f("ix_gov_plan_metric_objective_id"), "gov_plan_metric", ["objective_id"], unique=False
    )
    op.create_index(
        op.f("ix_gov_plan_metric_version_id"), "gov_plan_metric", ["version_id"], unique=False
    )
    op.create_table(
        "gov_risk_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("risk_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_person_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_person_id"],
            ["gov_person.id"],
            name=op.f("fk_gov_risk_action_owner_person_id_gov_person"),
        ),
        sa.ForeignKeyConstraint(
            ["risk_id"], ["gov_risk.id"], name=op.f("fk_gov_risk_action_risk_id_gov_risk")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_risk_action")),
    )
    op.create_index(
        op.f("ix_gov_risk_action_risk_id"), "gov_risk_action", ["risk_id"], unique=False
    )
    op.create_table(
        "gov_risk_control",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("risk_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["risk_id"], ["gov_risk.id"], name=op.f("fk_gov_risk_control_risk_id_gov_risk")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_risk_control")),
    )
    op.create_index(
        op.f("ix_gov_risk_control_risk_id"), "gov_risk_control", ["risk_id"], unique=False
    )
    op.create_table(
        "gov_risk_objective",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("risk_id", sa.Integer(), nullable=False),
        sa.Column("objective_ref", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["risk_id"], ["gov_risk.id"], name=op.f("fk_gov_risk_objective_risk_id_gov_risk")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_risk_objective")),
        sa.UniqueConstraint("risk_id", "objective_ref", name=op.f("uq_gov_risk_objective_risk_id")),
    )
    op.create_index(
        op.f("ix_gov_risk_objective_risk_id"), "gov_risk_objective", ["risk_id"], unique=False
    )
    op.create_table(
        "gov_risk_score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("risk_id", sa.Integer(), nullable=False),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("consequence", sa.Integer(), nullable=False),
        sa.Column("scored_on", sa.Date(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["risk_id"], ["gov_risk.id"], name=op.f("fk_gov_risk_score_risk_id_gov_risk")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_risk_score")),
    )
    op.create_index(op.f("ix_gov_risk_score_risk_id"), "gov_risk_score", ["risk_id"], unique=False)
    op.create_table(
        "gov_plan_milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("plan_metric_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("target", ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_metric_id"],
            ["gov_plan_metric.id"],
            name=op.f("fk_gov_plan_milestone_plan_metric_id_gov_plan_metric"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["gov_plan_version.id"],
            name=op.f("fk_gov_plan_milestone_version_id_gov_plan_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_plan_milestone")),
        sa.UniqueConstraint(
            "plan_metric_id", "due_on", name=op.f("uq_gov_plan_milestone_plan_metric_id")
        ),
    )
    op.create_index(
        op.f("ix_gov_plan_milestone_plan_metric_id"),
        "gov_plan_milestone",
        ["plan_metric_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_gov_plan_milestone_version_id"), "gov_plan_milestone", ["version_id"], unique=False
    )
    # ### end Alembic commands ###

    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
        for statement in _pg_triggers():
            op.execute(statement)
    elif dialect == "sqlite":
        for statement in _sqlite_triggers():
            op.execute(statement)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS gov_plan_frozen()")
