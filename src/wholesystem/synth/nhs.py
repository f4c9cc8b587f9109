"""Synthetic NHS numbers: modulus-11 valid, in the range never issued to real patients.

NHS numbers from 900 000 0000 to 999 999 9999 are never issued (NHS England uses them
for test patients). The generator takes them from the 999 block first (as NHS test
numbers do) and moves on to 998, 997, ... only when a population needs more than the
~909,000 valid numbers one block holds. Which person gets which number is a seeded
shuffle of the pool, so numbers carry no information about the person.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "check_digit",
    "format_numbers",
    "invalidate",
    "is_valid",
    "number_pool",
]

_WEIGHTS = np.array([10, 9, 8, 7, 6, 5, 4, 3, 2], dtype=np.int64)
_BLOCK = 1_000_000


def check_digit(base9: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Modulus-11 check digit of nine-digit bases; 10 means no valid number exists."""
    digits = (base9[:, None] // (10 ** np.arange(8, -1, -1, dtype=np.int64))) % 10
    total = digits @ _WEIGHTS
    check = 11 - total % 11
    return np.where(check == 11, 0, check).astype(np.int64)


def is_valid(number: str) -> bool:
    """True for a ten-digit NHS number (spaces allowed) with a correct check digit."""
    digits = number.replace(" ", "")
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def number_pool(count: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """``count`` distinct valid numbers from the 999 block down, in shuffled order."""
    chosen: list[npt.NDArray[np.int64]] = []
    have = 0
    prefix = 999
    while have < count:
        if prefix < 900:
            raise ValueError(f"cannot make {count:,} synthetic NHS numbers")
        base = prefix * _BLOCK + np.arange(_BLOCK, dtype=np.int64)
        check = check_digit(base)
        ok = check != 10
        numbers = base[ok] * 10 + check[ok]
        chosen.append(numbers)
        have += len(numbers)
        prefix -= 1
    pool = np.concatenate(chosen)
    return pool[rng.permutation(len(pool))[:count]]


def invalidate(
    numbers: npt.NDArray[np.int64], shift: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """The same numbers with the check digit replaced by another digit (1 <= shift <= 9)."""
    last = numbers % 10
    return numbers - last + (last + shift) % 10


def format_numbers(
    numbers: npt.NDArray[np.int64], spaced: npt.NDArray[np.bool_], missing: npt.NDArray[np.bool_]
) -> pa.Array:
    """Ten-digit strings, '999 123 4567' where ``spaced``, null where ``missing``."""
    plain = pc.cast(pa.array(numbers, type=pa.int64()), pa.string())
    if spaced.any():
        spaced_text = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(plain, 0, 3),
            pc.utf8_slice_codeunits(plain, 3, 6),
            pc.utf8_slice_codeunits(plain, 6, 10),
            " ",
        )
        plain = pc.if_else(pa.array(spaced), spaced_text, plain)
    if missing.any():
        plain = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), plain)
    return plain
