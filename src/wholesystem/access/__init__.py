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
from wholesystem.access.permissions import (
    ROLE_PERMISSIONS,
    Permission,
    Role,
    has_permission,
    permissions_for,
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
    "AccessError",
    "AuditError",
    "AuditVerification",
    "CurrentUser",
    "InvalidCredentials",
    "PasswordPolicyError",
    "Permission",
    "Role",
    "TooManyAttempts",
    "UnknownOrganisation",
    "UnknownRole",
    "UnknownUser",
    "UsernameTaken",
    "audit_append",
    "audit_verify",
    "authenticate",
    "create_user",
    "deactivate_user",
    "has_permission",
    "permission_of",
    "permissions_for",
    "require",
    "require_user",
    "set_password",
]
