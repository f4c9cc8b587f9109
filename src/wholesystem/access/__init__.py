"""Access: who may sign in, what each role may do, sessions, CSRF and the audit log.

The public face other capabilities use::

    from wholesystem.access import Permission, CurrentUser, require, audit_append

    @router.get("/thing")
    def thing(user: CurrentUser = Depends(require(Permission.view_footprint))): ...

    audit_append(db, actor=user.username, action="view", object_type="person",
                 object_id=person_id, detail={"reason": "direct care"})
"""

from wholesystem.access.audit import AuditVerification
from wholesystem.access.audit import append as audit_append
from wholesystem.access.audit import verify as audit_verify
from wholesystem.access.break_glass import (
    BreakGlassError,
    active_grant,
    pending_reviews,
    review_grant,
    start_break_glass,
)
from wholesystem.access.disclosure import (
    Protected,
    ProtectedTable,
    protect_count,
    protect_series,
    protect_table,
)
from wholesystem.access.errors import (
    AccessError,
    AuditError,
    InvalidCredentials,
    PasswordPolicyError,
    TooManyAttempts,
    UnknownOrganisation,
    UnknownRole,
    UnknownUser,
    UsernameTaken,
)
from wholesystem.access.opt_outs import (
    OptOutError,
    is_opted_out,
    opted_out_nhs_numbers,
    record_opt_out,
    withdraw_opt_out,
)
from wholesystem.access.permissions import (
    ROLE_PERMISSIONS,
    Permission,
    Role,
    has_permission,
    permissions_for,
)
from wholesystem.access.pseudonyms import pseudonym_key, pseudonymise
from wholesystem.access.relationships import (
    AccessDecision,
    Basis,
    PersonContext,
    add_care_relationship,
    decide_access,
    end_care_relationship,
    relationship_basis,
)
from wholesystem.access.users import (
    authenticate,
    create_user,
    deactivate_user,
    set_password,
)
from wholesystem.access.web import (
    CurrentUser,
    permission_of,
    require,
    require_user,
)

__all__ = [
    "ROLE_PERMISSIONS",
    "AccessDecision",
    "AccessError",
    "AuditError",
    "AuditVerification",
    "Basis",
    "BreakGlassError",
    "CurrentUser",
    "InvalidCredentials",
    "OptOutError",
    "PasswordPolicyError",
    "Permission",
    "PersonContext",
    "Protected",
    "ProtectedTable",
    "Role",
    "TooManyAttempts",
    "UnknownOrganisation",
    "UnknownRole",
    "UnknownUser",
    "UsernameTaken",
    "active_grant",
    "add_care_relationship",
    "audit_append",
    "audit_verify",
    "authenticate",
    "create_user",
    "deactivate_user",
    "decide_access",
    "end_care_relationship",
    "has_permission",
    "is_opted_out",
    "opted_out_nhs_numbers",
    "pending_reviews",
    "permission_of",
    "permissions_for",
    "protect_count",
    "protect_series",
    "protect_table",
    "pseudonym_key",
    "pseudonymise",
    "record_opt_out",
    "relationship_basis",
    "require",
    "require_user",
    "review_grant",
    "set_password",
    "start_break_glass",
    "withdraw_opt_out",
]
