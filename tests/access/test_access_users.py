"""User service functions, sign-in throttling and demo users, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.access.conftest import MakeUser
from tests.access.helpers import PASSWORD
from wholesystem.access.audit import verify
from wholesystem.access.demo import DEMO_USERS, create_demo_users
from wholesystem.access.errors import (
    AccessError,
    InvalidCredentials,
    InvalidUsername,
    PasswordPolicyError,
    TooManyAttempts,
    UnknownOrganisation,
    UnknownRole,
    UnknownUser,
    UsernameTaken,
)
from wholesystem.access.models import AuditEvent, AuthSession, LoginAttempt, User
from wholesystem.access.passwords import verify_password
from wholesystem.access.permissions import Role
from wholesystem.access.sessions import SessionPolicy, start_session
from wholesystem.access.users import (
    Throttle,
    authenticate,
    create_user,
    deactivate_user,
    purge_old_records,
    set_password,
)
from wholesystem.store.db import session_scope, utcnow


def _events(factory: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with factory() as s:
        rows = s.execute(
            select(AuditEvent.actor, AuditEvent.action, AuditEvent.object_id).order_by(
                AuditEvent.seq
            )
        ).all()
    return [tuple(r) for r in rows]


def _create(s: Session, **changes: object) -> User:
    fields: dict[str, object] = {
        "username": "Bob.Smith",
        "display_name": "Bob Smith",
        "role": "analyst",
        "organisation_code": "qxx",
        "password": PASSWORD,
        "email": "bob.smith@example.nhs.uk",
        "actor": "admin",
    }
    fields.update(changes)
    return create_user(s, **fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- create


def test_create_user_stores_a_clean_audited_account(
    factory: sessionmaker[Session], orgs: dict[str, str]
) -> None:
    with session_scope(factory) as s:
        user = _create(s)
    assert (user.username, user.role, user.organisation_code, user.active) == (
        "bob.smith",
        "analyst",
        "QXX",
        True,
    )
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert verify_password(user.password_hash, PASSWORD)[0]
    assert user.created_at.tzinfo is not None
    assert _events(factory) == [("admin", "user_created", "bob.smith")]
    with factory() as s:
        event = s.execute(select(AuditEvent)).scalar_one()
    assert event.detail == {
        "role": "analyst",
        "organisation_code": "QXX",
        "display_name": "Bob Smith",
    }
    assert PASSWORD not in str(event.detail)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"role": "wizard"}, UnknownRole, "unknown role 'wizard'; choose one of system_admin, "),
        ({"organisation_code": "ZZZ"}, UnknownOrganisation, "unknown organisation code 'ZZZ'"),
        ({"organisation_code": "OLD01"}, UnknownOrganisation, "organisation 'OLD01' is no longer"),
        ({"username": "x"}, InvalidUsername, "username 'x' is not allowed"),
        ({"username": "bob smith"}, InvalidUsername, "username 'bob smith' is not allowed"),
        ({"username": "../admin"}, InvalidUsername, "is not allowed"),
        ({"display_name": "  "}, InvalidUsername, "enter the person's name"),
        ({"email": "not-an-email"}, InvalidUsername, "'not-an-email' is not an email address"),
        ({"password": "short"}, PasswordPolicyError, "at least 12 characters"),
        (
            {"password": "bob.smith", "username": "bob.smith"},
            PasswordPolicyError,
            "same as the username",
        ),
    ],
)
def test_create_user_says_exactly_what_is_wrong(
    factory: sessionmaker[Session],
    orgs: dict[str, str],
    changes: dict[str, object],
    error: type[AccessError],
    message: str,
) -> None:
    with factory() as s:
        with pytest.raises(error) as caught:
            _create(s, **changes)
        s.rollback()
    assert message in str(caught.value)
    with factory() as s:
        assert s.execute(select(User)).first() is None


def test_unknown_role_lists_every_choice() -> None:
    error = UnknownRole("wizard", [r.value for r in Role])
    assert str(error) == (
        "unknown role 'wizard'; choose one of system_admin, care_team_member, care_coordinator, "
        "analyst, finance_lead, governance_lead, board_member, non_executive, councillor"
    )


def test_usernames_are_unique_whatever_the_case(
    factory: sessionmaker[Session], orgs: dict[str, str]
) -> None:
    with session_scope(factory) as s:
        _create(s)
    with (
        factory() as s,
        pytest.raises(UsernameTaken, match=r"username 'bob\.smith' is already taken"),
    ):
        _create(s, username="  BOB.SMITH ")


# ----------------------------------------------------------- set password, deactivate


def _open_session(factory: sessionmaker[Session], username: str) -> str:
    with session_scope(factory) as s:
        user = s.execute(select(User).where(User.username == username)).scalar_one()
        _token, row = start_session(
            s, user, policy=SessionPolicy(), now=utcnow(), ip="10.0.0.1", user_agent="test"
        )
        return row.id


def _revoked(factory: sessionmaker[Session], session_id: str) -> bool:
    with factory() as s:
        row = s.get(AuthSession, session_id)
        assert row is not None
        return row.revoked_at is not None


def test_set_password_applies_the_policy_and_ends_sessions(
    factory: sessionmaker[Session], make_user: MakeUser
) -> None:
    make_user("alice")
    live = _open_session(factory, "alice")
    with factory() as s, pytest.raises(PasswordPolicyError, match="too common"):
        set_password(s, username="alice", password="password1234", actor="admin")
    assert not _revoked(factory, live)
    with session_scope(factory) as s:
        set_password(s, username="ALICE", password="another-long-password-9", actor="admin")
    assert _revoked(factory, live)
    with factory() as s:
        user = s.execute(select(User)).scalar_one()
    assert verify_password(user.password_hash, "another-long-password-9")[0]
    assert not verify_password(user.password_hash, PASSWORD)[0]
    assert _events(factory)[-1] == ("admin", "password_set", "alice")
    with factory() as s, pytest.raises(UnknownUser, match="no user called 'nobody'"):
        set_password(s, username="nobody", password="another-long-password-9", actor="admin")


def test_deactivate_keeps_the_account_but_ends_sign_in(
    factory: sessionmaker[Session], make_user: MakeUser
) -> None:
    make_user("alice")
    live = _open_session(factory, "alice")
    with session_scope(factory) as s:
        deactivate_user(s, username="alice", actor="admin")
    assert _revoked(factory, live)
    with factory() as s:
        assert s.execute(select(User.active)).scalar_one() is False
        with pytest.raises(InvalidCredentials):
            authenticate(s, "alice", PASSWORD, "10.0.0.1")
    assert _events(factory)[-1] == ("admin", "user_deactivated", "alice")
    with factory() as s, pytest.raises(UnknownUser):
        deactivate_user(s, username="nobody", actor="admin")


# ---------------------------------------------------------------------- authenticate


def test_authenticate_succeeds_records_and_audits(
    factory: sessionmaker[Session], make_user: MakeUser
) -> None:
    make_user("alice")
    now = utcnow()
    with session_scope(factory) as s:
        user = authenticate(s, " Alice ", PASSWORD, "10.0.0.1", now=now)
        assert user.username == "alice"
    with factory() as s:
        assert s.execute(select(User.last_login_at)).scalar_one() == now
        attempt = s.execute(select(LoginAttempt)).scalar_one()
        assert (attempt.username, attempt.ip, attempt.succeeded) == ("alice", "10.0.0.1", True)
    assert _events(factory)[-1] == ("alice", "login", "alice")


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("alice", "wrong-password-123", "wrong_password"),
        ("nobody", PASSWORD, "unknown_user"),
    ],
)
def test_failures_look_the_same_whatever_the_cause(
    factory: sessionmaker[Session],
    make_user: MakeUser,
    username: str,
    password: str,
    reason: str,
) -> None:
    make_user("alice")
    with session_scope(factory) as s, pytest.raises(InvalidCredentials) as caught:
        authenticate(s, username, password, "10.0.0.1")
    assert str(caught.value) == "The username or password is not correct"
    with factory() as s:
        event = s.execute(select(AuditEvent).order_by(AuditEvent.seq.desc())).scalars().first()
        assert event is not None
        assert (event.action, event.detail) == (
            "login_failed",
            {"ip": "10.0.0.1", "reason": reason},
        )
        assert password not in str(event.detail)


def _fail(factory: sessionmaker[Session], username: str, ip: str, when: object) -> None:
    with session_scope(factory) as s, pytest.raises(InvalidCredentials):
        authenticate(s, username, "wrong-password-123", ip, now=when)  # type: ignore[arg-type]


def test_a_username_is_locked_after_max_failures_until_the_window_passes(
    factory: sessionmaker[Session], make_user: MakeUser
) -> None:
    make_user("alice")
    throttle = Throttle(max_failures=3, window_minutes=15)
    start = utcnow()
    for i in range(3):
        with session_scope(factory) as s, pytest.raises(InvalidCredentials):
            authenticate(
                s,
                "alice",
                "wrong-password-123",
                f"10.0.0.{i}",
                throttle=throttle,
                now=start + timedelta(minutes=i),
            )
    # The right password from a fresh address is refused while locked: the lock is per user.
    with session_scope(factory) as s, pytest.raises(TooManyAttempts) as caught:
        authenticate(
            s, "alice", PASSWORD, "10.9.9.9", throttle=throttle, now=start + timedelta(minutes=3)
        )
    assert str(caught.value) == "Too many failed attempts. Try again in 12 minutes."
    assert caught.value.retry_after_minutes == 12
    # Locked attempts are not counted as failures (they would extend the lock forever).
    with factory() as s:
        assert len(s.execute(select(LoginAttempt)).all()) == 3
    # Once the first failure leaves the window, the user may try again.
    with session_scope(factory) as s:
        user = authenticate(
            s,
            "alice",
            PASSWORD,
            "10.9.9.9",
            throttle=throttle,
            now=start + timedelta(minutes=15, seconds=1),
        )
    assert user.username == "alice"


def test_one_address_is_locked_across_usernames(
    factory: sessionmaker[Session], make_user: MakeUser
) -> None:
    make_user("alice")
    throttle = Throttle(max_failures=2, window_minutes=10)
    now = utcnow()
    for name in ("bob", "carol"):
        with session_scope(factory) as s, pytest.raises(InvalidCredentials):
            authenticate(s, name, "guess-guess-guess", "203.0.113.9", throttle=throttle, now=now)
    with session_scope(factory) as s, pytest.raises(TooManyAttempts, match="in 10 minutes"):
        authenticate(s, "alice", PASSWORD, "203.0.113.9", throttle=throttle, now=now)
    # Another address is unaffected.
    with session_scope(factory) as s:
        assert authenticate(s, "alice", PASSWORD, "10.0.0.1", throttle=throttle, now=now)


def test_a_successful_sign_in_clears_the_users_count_but_not_the_addresses(
    factory: sessionmaker[Session], make_user: MakeUser
) -> None:
    make_user("alice")
    throttle = Throttle(max_failures=2, window_minutes=15)
    t0 = utcnow()
    _ = [authenticate_fail for authenticate_fail in range(1)]
    with session_scope(factory) as s, pytest.raises(InvalidCredentials):
        authenticate(s, "alice", "wrong-password-1", "10.0.0.1", throttle=throttle, now=t0)
    with session_scope(factory) as s:
        authenticate(s, "alice", PASSWORD, "10.0.0.2", throttle=throttle, now=t0 + timedelta(1e-6))
    with session_scope(factory) as s, pytest.raises(InvalidCredentials):
        authenticate(
            s,
            "alice",
            "wrong-password-2",
            "10.0.0.3",
            throttle=throttle,
            now=t0 + timedelta(minutes=1),
        )
    # One failure since the success: not locked.
    with session_scope(factory) as s:
        authenticate(
            s, "alice", PASSWORD, "10.0.0.4", throttle=throttle, now=t0 + timedelta(minutes=2)
        )


def test_locked_attempts_are_audited(factory: sessionmaker[Session], make_user: MakeUser) -> None:
    make_user("alice")
    throttle = Throttle(max_failures=1, window_minutes=5)
    now = utcnow()
    with session_scope(factory) as s, pytest.raises(InvalidCredentials):
        authenticate(s, "alice", "wrong-password-1", "10.0.0.1", throttle=throttle, now=now)
    with session_scope(factory) as s, pytest.raises(TooManyAttempts):
        authenticate(s, "alice", PASSWORD, "10.0.0.1", throttle=throttle, now=now)
    with factory() as s:
        event = s.execute(select(AuditEvent).order_by(AuditEvent.seq.desc())).scalars().first()
        assert event is not None
        assert (event.action, event.detail["reason"]) == ("login_failed", "locked_out")
        assert verify(s).ok


# ---------------------------------------------------------------------------- demo


def test_demo_users_one_per_role_idempotent(
    factory: sessionmaker[Session], orgs: dict[str, str]
) -> None:
    by_type = {
        "icb": ["QXX"],
        "acute_trust": ["RA1"],
        "local_authority": ["E06000901"],
        "pcn": ["U00001"],
        "gp_practice": ["A00001"],
    }
    with session_scope(factory) as s:
        first = create_demo_users(s, by_type)
    assert {DEMO_USERS[i].role for i in range(len(DEMO_USERS))} == set(Role)
    assert len(first) == len(Role)
    placed = {username: code for username, _p, _l, code in first}
    assert placed["gp"] == "A00001"
    assert placed["coordinator"] == "U00001"
    assert placed["finance"] == "RA1"
    assert placed["councillor"] == "E06000901"
    assert placed["admin"] == placed["analyst"] == placed["governance"] == placed["board"] == "QXX"
    for username, password, _label, _code in first:
        with session_scope(factory) as s:
            assert authenticate(s, username, password, "127.0.0.1").username == username
    with session_scope(factory) as s:
        set_password(s, username="gp", password="changed-by-the-gp-1", actor="gp")
    with session_scope(factory) as s:
        second = create_demo_users(s, by_type)
    assert second == first
    with factory() as s:
        assert len(s.execute(select(User)).all()) == len(Role)
        gp = s.execute(select(User).where(User.username == "gp")).scalar_one()
        assert verify_password(gp.password_hash, "changed-by-the-gp-1")[0]


def test_demo_users_fall_back_to_the_icb_and_need_one(
    factory: sessionmaker[Session], orgs: dict[str, str]
) -> None:
    with session_scope(factory) as s:
        placed = {u: c for u, _p, _l, c in create_demo_users(s, {"icb": ["QXX"]})}
    assert set(placed.values()) == {"QXX"}


def test_demo_users_need_an_icb_at_least(
    factory: sessionmaker[Session], orgs: dict[str, str]
) -> None:
    with factory() as s, pytest.raises(AccessError, match="no organisation of type 'icb'"):
        create_demo_users(s, {"acute_trust": ["RA1"]})


def test_demo_users_are_refused_in_production(
    factory: sessionmaker[Session], orgs: dict[str, str]
) -> None:
    with factory() as s, pytest.raises(AccessError, match="never created in production mode"):
        create_demo_users(s, {"icb": ["QXX"]}, mode="production")
    with factory() as s:
        assert s.execute(select(User)).first() is None


def test_old_attempts_and_sessions_are_purged(
    factory: sessionmaker[Session], make_user: MakeUser
) -> None:
    make_user("alice")
    now = utcnow()
    with session_scope(factory) as s:
        user = s.execute(select(User)).scalar_one()
        for days in (40, 1):
            when = now - timedelta(days=days)
            s.add(LoginAttempt(username="alice", ip="10.0.0.1", at=when, succeeded=False))
            start_session(s, user, policy=SessionPolicy(), now=when, ip=None, user_agent=None)
    with session_scope(factory) as s:
        purge_old_records(s, now=now)
    with factory() as s:
        assert len(s.execute(select(LoginAttempt)).all()) == 1
        assert len(s.execute(select(AuthSession)).all()) == 1
