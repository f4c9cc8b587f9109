"""Pure rules: the permissions table, the password policy and hashing, safe redirects."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from wholesystem.access import passwords
from wholesystem.access.errors import PasswordPolicyError
from wholesystem.access.passwords import (
    check_password_policy,
    hash_password,
    password_problems,
    verify_password,
)
from wholesystem.access.permissions import (
    ROLE_PERMISSIONS,
    Permission,
    Role,
    has_permission,
    permissions_for,
)
from wholesystem.access.web import safe_next

# ----------------------------------------------------------------------- permissions


def test_every_role_has_a_label_and_an_entry() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert all(role.label and role.label[0].isupper() for role in Role)


def test_everyone_sees_the_footprint_and_the_state_of_the_data() -> None:
    for role in Role:
        assert has_permission(role, Permission.view_footprint)
        assert has_permission(role, Permission.view_data_state)


def test_only_administrators_manage_users() -> None:
    assert {r for r in Role if has_permission(r, Permission.manage_users)} == {Role.system_admin}


def test_audit_is_for_administrators_and_governance() -> None:
    assert {r for r in Role if has_permission(r, Permission.view_audit)} == {
        Role.system_admin,
        Role.governance_lead,
    }


def test_identifiable_records_only_for_care_teams() -> None:
    # DESIGN.md: identifiable records are seen only by care-team members.
    assert {r for r in Role if has_permission(r, Permission.view_identifiable_records)} == {
        Role.care_team_member,
        Role.care_coordinator,
    }
    assert not has_permission(Role.analyst, Permission.view_identifiable_records)
    assert not has_permission(Role.system_admin, Permission.view_identifiable_records)


def test_permissions_for_matches_the_table() -> None:
    for role in Role:
        assert permissions_for(role) == ROLE_PERMISSIONS[role]


# -------------------------------------------------------------------- password policy


@pytest.mark.parametrize(
    ("password", "username", "message"),
    [
        ("short-pass1", "alice", "Password must be at least 12 characters long"),
        ("x" * 257, "alice", "Password must be 256 characters or fewer"),
        ("            ", "alice", "Password must not be only spaces"),
        ("Alice.Smith1", "alice.smith1", "Password must not be the same as the username"),
        ("Password1234", "alice", "Password is too common; choose one that is harder to guess"),
        ("qwerty123456", None, "Password is too common; choose one that is harder to guess"),
    ],
)
def test_policy_names_the_rule_broken(password: str, username: str | None, message: str) -> None:
    assert message in password_problems(password, username)
    with pytest.raises(PasswordPolicyError) as caught:
        check_password_policy(password, username)
    assert message in caught.value.problems


def test_policy_reports_every_problem_at_once() -> None:
    problems = password_problems("alice", "alice")
    assert problems == [
        "Password must be at least 12 characters long",
        "Password must not be the same as the username",
    ]
    assert str(PasswordPolicyError(problems)) == "; ".join(problems)


def test_a_good_password_passes() -> None:
    assert password_problems("a-long-test-password-42", "alice") == []
    check_password_policy("correct horse battery staple", "alice")


# ---------------------------------------------------------------------------- hashing


def test_hashes_are_argon2id_salted_and_verify() -> None:
    first, second = (
        hash_password("a-long-test-password-42"),
        hash_password("a-long-test-password-42"),
    )
    assert first.startswith("$argon2id$")
    assert first != second
    assert verify_password(first, "a-long-test-password-42") == (True, None)
    assert verify_password(first, "a-long-test-password-43") == (False, None)


def test_malformed_hashes_never_match() -> None:
    assert verify_password("", "anything-at-all") == (False, None)
    assert verify_password("$argon2id$garbage", "anything-at-all") == (False, None)
    assert verify_password("plain-text-password", "plain-text-password") == (False, None)


def test_over_long_passwords_are_refused_even_if_their_prefix_matches() -> None:
    stored = hash_password("x" * 256)
    assert verify_password(stored, "x" * 256)[0]
    assert verify_password(stored, "x" * 257) == (False, None)


def test_weaker_hashes_are_upgraded_on_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("a-long-password-1")
    monkeypatch.setattr(
        passwords, "_HASHER", PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    )
    ok, new_hash = verify_password(weak, "a-long-password-1")
    assert ok
    assert new_hash is not None
    assert new_hash.startswith("$argon2id$v=19$m=2048,t=2,p=1$")
    assert verify_password(new_hash, "a-long-password-1") == (True, None)


def test_the_default_hasher_is_argon2id_at_rfc9106_strength() -> None:
    hasher = PasswordHasher()
    assert hasher.type.name == "ID"
    assert hasher.memory_cost >= 64 * 1024
    assert hasher.time_cost >= 3


# ------------------------------------------------------------------------ safe_next


@pytest.mark.parametrize(
    "target",
    ["/", "/admin/users", "/footprint?place=PL1", "/footprint/areas/A00001#top"],
)
def test_same_site_paths_are_kept(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "https://evil.example/",
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\\/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/foo\\bar",
        "/ok\r\nSet-Cookie: x=1",
        "/\tevil",
        "http:/evil.example",
        "/" + "a" * 2001,
    ],
)
def test_anything_else_goes_home(target: str | None) -> None:
    assert safe_next(target) == "/"


def test_every_role_and_permission_is_documented() -> None:
    """docs/access.md lists each role with exactly the permissions the code grants."""
    from pathlib import Path

    from wholesystem.access.permissions import ROLE_PERMISSIONS, Permission, Role

    doc = (Path(__file__).parents[2] / "docs" / "access.md").read_text()
    for role in Role:
        granted = ", ".join(f"`{p.value}`" for p in Permission if p in ROLE_PERMISSIONS[role])
        assert f"| `{role.value}` | {role.label} | {granted} |" in doc, role
    for permission in Permission:
        assert f"| `{permission.value}` |" in doc, permission
