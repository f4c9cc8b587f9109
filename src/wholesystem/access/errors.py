"""Errors raised by the access capability, each with a message fit to show a person."""

from __future__ import annotations

__all__ = [
    "AccessError",
    "AuditError",
    "InvalidCredentials",
    "InvalidUsername",
    "PasswordPolicyError",
    "TooManyAttempts",
    "UnknownOrganisation",
    "UnknownRole",
    "UnknownUser",
    "UsernameTaken",
]


class AccessError(Exception):
    """Base class: ``str(error)`` is a specific message for the person who caused it."""

    @property
    def message(self) -> str:
        return str(self)


class InvalidUsername(AccessError):
    """The username does not follow the rules for usernames."""


class UsernameTaken(AccessError):
    """Another account already has this username."""

    def __init__(self, username: str) -> None:
        super().__init__(f"username '{username}' is already taken")
        self.username = username


class UnknownOrganisation(AccessError):
    """No (active) partner organisation has this code."""

    def __init__(self, code: str, *, inactive: bool = False) -> None:
        if inactive:
            super().__init__(f"organisation '{code}' is no longer active")
        else:
            super().__init__(f"unknown organisation code '{code}'")
        self.code = code


class UnknownRole(AccessError):
    """The role is not one of :class:`~wholesystem.access.permissions.Role`."""

    def __init__(self, role: str, choices: list[str]) -> None:
        super().__init__(f"unknown role '{role}'; choose one of {', '.join(choices)}")
        self.role = role


class UnknownUser(AccessError):
    """No account has this username (used by administrative commands, never by sign-in)."""

    def __init__(self, username: str) -> None:
        super().__init__(f"no user called '{username}'")
        self.username = username


class PasswordPolicyError(AccessError):
    """The new password breaks the password policy; ``problems`` lists every rule broken."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems[0] if len(problems) == 1 else "; ".join(problems))
        self.problems = problems


class InvalidCredentials(AccessError):
    """Sign-in failed. Deliberately does not say whether the user exists."""

    def __init__(self) -> None:
        super().__init__("The username or password is not correct")


class TooManyAttempts(AccessError):
    """Too many failed sign-ins for this username or address inside the throttling window."""

    def __init__(self, retry_after_minutes: int) -> None:
        unit = "minute" if retry_after_minutes == 1 else "minutes"
        super().__init__(f"Too many failed attempts. Try again in {retry_after_minutes} {unit}.")
        self.retry_after_minutes = retry_after_minutes


class AuditError(AccessError):
    """The audit log cannot be appended to (for example its head row is missing)."""
