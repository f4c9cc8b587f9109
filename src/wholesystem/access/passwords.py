"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from wholesystem.access.errors import PasswordPolicyError

__all__ = [
    "COMMON_PASSWORDS",
    "MAX_CONCURRENT_HASHES",
    "MAX_LENGTH",
    "MIN_LENGTH",
    "check_password_policy",
    "dummy_verify",
    "hash_password",
    "password_problems",
    "verify_password",
]

MIN_LENGTH = 12
# Long enough for any passphrase; short enough that hashing cannot be used to exhaust the server.
MAX_LENGTH = 256

# argon2-cffi's defaults follow RFC 9106's second recommended option and use argon2id.
# Tests may swap in a cheaper hasher; verify_password then reports the hash as stale.
_HASHER = PasswordHasher()

# Each argon2id computation takes 64 MiB; a burst of sign-ins (or an attack spread over
# many addresses) must not take the server's memory. Callers queue for a slot.
MAX_CONCURRENT_HASHES = 4
_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)

# Passwords that meet the length rule yet appear near the top of breached-password lists.
# Compared case-insensitively. Shorter common passwords already fail the length rule.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123456789abc",
        "1q2w3e4r5t6y",
        "abc123456789",
        "abcdefghijkl",
        "administrator",
        "changeme1234",
        "letmein12345",
        "iloveyou1234",
        "password1234",
        "password123!",
        "password12345",
        "passwordpassword",
        "password1!password1!",
        "qwerty123456",
        "qwertyuiop12",
        "qwertyuiopas",
        "qwertyuiopasdf",
        "trustno1trustno1",
        "welcome12345",
        "welcome123456",
        "nhspassword1",
        "nhspassword123",
        "000000000000",
        "111111111111",
        "aaaaaaaaaaaa",
    }
)


def password_problems(password: str, username: str | None = None) -> list[str]:
    """Every rule ``password`` breaks, as messages to show the person choosing it."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Password must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        problems.append(f"Password must be {MAX_LENGTH} characters or fewer")
    if not password.strip():
        problems.append("Password must not be only spaces")
    folded = password.strip().casefold()
    if username and folded == username.strip().casefold():
        problems.append("Password must not be the same as the username")
    if folded in COMMON_PASSWORDS:
        problems.append("Password is too common; choose one that is harder to guess")
    return problems


def check_password_policy(password: str, username: str | None = None) -> None:
    """Raise :class:`PasswordPolicyError` naming every rule ``password`` breaks."""
    problems = password_problems(password, username)
    if problems:
        raise PasswordPolicyError(problems)


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (with its own random salt)."""
    with _SLOTS:
        return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> tuple[bool, str | None]:
    """Check ``password`` against ``stored_hash``.

    Returns ``(matches, new_hash)``: ``new_hash`` is set when the password matched and
    the stored hash uses weaker parameters than today's, so the caller should store it.
    A malformed stored hash never matches.
    """
    # Over-long input is checked truncated (bounded cost, same timing) and then refused.
    too_long = len(password) > MAX_LENGTH
    try:
        with _SLOTS:
            _HASHER.verify(stored_hash, password[:MAX_LENGTH])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if too_long:
        return False, None
    if _HASHER.check_needs_rehash(stored_hash):
        return True, hash_password(password)
    return True, None


_DUMMY_HASH: str | None = None


def dummy_verify(password: str) -> None:
    """Spend the time of a real verification, so unknown usernames cannot be told by timing."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None or _HASHER.check_needs_rehash(_DUMMY_HASH):
        _DUMMY_HASH = hash_password("not-a-real-password-for-timing-only")
    verify_password(_DUMMY_HASH, password)
