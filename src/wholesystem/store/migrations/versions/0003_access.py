"""Access: users, sessions, sign-in attempts and the append-only audit log.

Revision ID: 0003_access
Revises: 0002_footprint

The audit log is made append-only in the database itself: triggers refuse UPDATE and
DELETE on ``audit_event`` (and TRUNCATE on PostgreSQL), refuse deleting the head row and
refuse moving the head backwards. Tampering by someone who can drop triggers is still
caught by ``wholesystem audit verify`` (the hash chain and the head).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from wholesystem.store.db import UTCDateTime

revision: str = "0003_access"
down_revision: str | None = "0002_footprint"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64

_SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END
    """,
    """
    CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    BEGIN SELECT RAISE(ABORT, 'audit_head may not be deleted'); END
    """,
    """
    CREATE TRIGGER audit_head_no_rewind BEFORE UPDATE ON audit_head
    WHEN NEW.last_seq < OLD.last_seq
    BEGIN SELECT RAISE(ABORT, 'audit_head may not move backwards'); END
    """,
)

_POSTGRESQL_TRIGGERS = (
    """
    CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_event_no_update_delete BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()
    """,
    """
    CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()
    """,
    """
    CREATE FUNCTION audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND NEW.last_seq >= OLD.last_seq THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_head may not be deleted or moved backwards (% refused)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_head_guard BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_guard()
    """,
    """
    CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_head_guard()
    """,
)


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("organisation_code", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_login_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_code"],
            ["organisation.code"],
            name=op.f("fk_app_user_organisation_code_organisation"),
        ),
        sa.CheckConstraint(
            "username = lower(username)", name=op.f("ck_app_user_username_lower_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    op.create_index(
        op.f("ix_app_user_organisation_code"), "app_user", ["organisation_code"], unique=False
    )
    op.create_table(
        "auth_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("csrf_secret", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_auth_session_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_session")),
    )
    op.create_index(op.f("ix_auth_session_user_id"), "auth_session", ["user_id"], unique=False)
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
    )
    op.create_index(op.f("ix_login_attempt_at"), "login_attempt", ["at"], unique=False)
    op.create_index(op.f("ix_login_attempt_ip"), "login_attempt", ["ip"], unique=False)
    op.create_index(op.f("ix_login_attempt_username"), "login_attempt", ["username"], unique=False)
    op.create_table(
        "audit_event",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_event")),
    )
    op.create_index(op.f("ix_audit_event_actor"), "audit_event", ["actor"], unique=False)
    op.create_index(
        "ix_audit_event_object", "audit_event", ["object_type", "object_id"], unique=False
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.bulk_insert(head, [{"id": 1, "last_seq": 0, "last_hash": GENESIS_HASH}])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        statements: Sequence[str] = _SQLITE_TRIGGERS
    elif dialect == "postgresql":
        statements = _POSTGRESQL_TRIGGERS
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"no append-only triggers for database dialect {dialect!r}")
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TABLE audit_head")
        op.execute("DROP TABLE audit_event")
        op.execute("DROP FUNCTION audit_head_guard()")
        op.execute("DROP FUNCTION audit_event_append_only()")
    else:
        op.drop_table("audit_head")
        op.drop_table("audit_event")
    op.drop_table("login_attempt")
    op.drop_table("auth_session")
    op.drop_table("app_user")
