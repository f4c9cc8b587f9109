"""Pseudonyms for analysts: a keyed hash (HMAC-SHA256) of the person id.

Analysts see a pseudonym in place of the person id (DESIGN.md, Information governance).
The same person always gets the same pseudonym under one key, so extracts can be joined
over time; without the key a pseudonym cannot be turned back into a person id, nor
recomputed from a guessed id (a plain hash of ``WP0000000001`` could be, by trying every
id).

The key is derived, never used raw: ``HMAC-SHA256(root, "wholesystem/pseudonym/v1")``,
where ``root`` is ``Settings.pseudonym_key`` when set, otherwise ``Settings.secret_key``.
The label separates this use from every other use of the same root secret (CSRF
signing uses it directly), so a value computed for one purpose is of no help for the
other. Changing the root (or the label's version) changes every pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from wholesystem.config import Settings

__all__ = [
    "PSEUDONYM_LABEL",
    "PSEUDONYM_PATTERN",
    "PSEUDONYM_PREFIX",
    "is_pseudonym",
    "pseudonym_key",
    "pseudonymise",
]

PSEUDONYM_PREFIX = "PS"
PSEUDONYM_HEX_DIGITS = 16
PSEUDONYM_LABEL = b"wholesystem/pseudonym/v1"
PSEUDONYM_PATTERN = re.compile(rf"{PSEUDONYM_PREFIX}[0-9a-f]{{{PSEUDONYM_HEX_DIGITS}}}")
_MIN_KEY_BYTES = 16


def pseudonym_key(settings: Settings) -> bytes:
    """The 32-byte pseudonym key derived from ``settings`` (see the module docstring)."""
    root = settings.pseudonym_key if settings.pseudonym_key is not None else settings.secret_key
    return hmac.new(
        root.get_secret_value().encode("utf-8"), PSEUDONYM_LABEL, hashlib.sha256
    ).digest()


def pseudonymise(person_id: str, key: bytes) -> str:
    """``PS`` and the first 16 hex digits (64 bits) of HMAC-SHA256(key, person id).

    The id is stripped of surrounding spaces first, so ``" WP1 "`` and ``"WP1"`` agree.
    64 bits keep the chance of two people sharing a pseudonym negligible for a
    population of millions (about n²/2⁶⁵: 6e-8 for 1.5 million people).
    """
    if len(key) < _MIN_KEY_BYTES:
        raise ValueError(f"pseudonym key must be at least {_MIN_KEY_BYTES} bytes")
    person = person_id.strip()
    if not person:
        raise ValueError("person id is blank")
    digest = hmac.new(key, person.encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX_DIGITS]


def is_pseudonym(value: str) -> bool:
    """Whether ``value`` has the shape of a pseudonym."""
    return PSEUDONYM_PATTERN.fullmatch(value) is not None
