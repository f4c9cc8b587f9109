"""Pseudonyms: a keyed hash of the person id, stable under one key, different under another."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wholesystem.access.pseudonyms import (
    PSEUDONYM_LABEL,
    is_pseudonym,
    pseudonym_key,
    pseudonymise,
)
from wholesystem.config import Settings

KEY = b"k" * 32
OTHER_KEY = b"j" * 32
SECRET = "a-test-secret-of-at-least-thirty-two-chars"


def test_the_pseudonym_is_hmac_sha256_of_the_person_id_truncated_to_64_bits() -> None:
    # RFC 4231 test case 2 pins the HMAC-SHA256 construction the pseudonym is taken from.
    rfc = hmac.new(b"Jefe", b"what do ya want for nothing?", hashlib.sha256).hexdigest()
    assert rfc == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert pseudonymise("WP0000000001", KEY) == (
        "PS" + hmac.new(KEY, b"WP0000000001", hashlib.sha256).hexdigest()[:16]
    )


def test_pseudonyms_are_stable_and_ignore_surrounding_spaces() -> None:
    first = pseudonymise("WP0000000001", KEY)
    assert pseudonymise("WP0000000001", KEY) == first
    assert pseudonymise("  WP0000000001 ", KEY) == first
    assert is_pseudonym(first)


def test_pseudonyms_depend_on_the_key_and_the_person() -> None:
    assert pseudonymise("WP0000000001", KEY) != pseudonymise("WP0000000001", OTHER_KEY)
    assert pseudonymise("WP0000000001", KEY) != pseudonymise("WP0000000002", KEY)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**10 - 1))
def test_pseudonyms_do_not_look_like_or_contain_the_person_id(number: int) -> None:
    person_id = f"WP{number:010d}"
    pseudonym = pseudonymise(person_id, KEY)
    assert not pseudonym.startswith("WP")
    assert f"{number:010d}" not in pseudonym
    assert is_pseudonym(pseudonym)
    # Not an unkeyed hash an attacker could recompute by trying every id.
    assert pseudonym[2:] not in hashlib.sha256(person_id.encode()).hexdigest()


def test_no_collisions_over_a_hundred_thousand_ids() -> None:
    ids = [f"WP{n:010d}" for n in range(100_000)]
    assert len({pseudonymise(i, KEY) for i in ids}) == len(ids)


@pytest.mark.parametrize("bad", ["", "   "])
def test_blank_person_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="blank"):
        pseudonymise(bad, KEY)


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        pseudonymise("WP0000000001", b"short")


def test_the_key_is_derived_from_the_secret_with_a_label() -> None:
    s = Settings(mode="test", secret_key=SECRET)
    key = pseudonym_key(s)
    assert key == hmac.new(SECRET.encode(), PSEUDONYM_LABEL, hashlib.sha256).digest()
    assert key != SECRET.encode()  # never the raw secret
    assert len(key) == 32


def test_a_pseudonym_key_setting_takes_precedence_and_rotating_changes_every_pseudonym() -> None:
    base = Settings(mode="test", secret_key=SECRET)
    separate = Settings(mode="test", secret_key=SECRET, pseudonym_key="p" * 32)
    rotated = Settings(mode="test", secret_key=SECRET, pseudonym_key="q" * 32)
    assert pseudonym_key(separate) != pseudonym_key(base)
    ids = [f"WP{n:010d}" for n in range(1, 50)]
    before = [pseudonymise(i, pseudonym_key(separate)) for i in ids]
    after = [pseudonymise(i, pseudonym_key(rotated)) for i in ids]
    assert all(a != b for a, b in zip(before, after, strict=True))
    # Rotating only the secret key leaves a separately set pseudonym key's pseudonyms alone.
    other_secret = Settings(mode="test", secret_key=SECRET + "-rotated", pseudonym_key="p" * 32)
    assert pseudonym_key(other_secret) == pseudonym_key(separate)


def test_a_short_pseudonym_key_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="PSEUDONYM_KEY must be at least 32"):
        Settings(mode="test", secret_key=SECRET, pseudonym_key="too-short")
