"""R's default random numbers, so that reference tests built on ``set.seed()`` can be replayed.

``set.seed(seed); rnorm(n, mean, sd)`` with R's defaults: the Mersenne-Twister generator seeded
by R's scrambling of the seed, and normal deviates by inversion (two uniforms make one 2^-27-fine
uniform, then the normal quantile, Wichura's AS 241 as in Python's ``NormalDist.inv_cdf``).
Checked against R: ``set.seed(123); rnorm(3)`` is -0.56047565, -0.23017749, 1.55870831.
"""

from __future__ import annotations

from statistics import NormalDist

__all__ = ["RRandom"]

_MASK = 0xFFFFFFFF
_N, _M = 624, 397
_BIG = 134_217_728  # 2^27
_I2_32M1 = 2.328306437080797e-10  # 1 / (2^32 - 1)


class RRandom:
    """``set.seed(seed)`` followed by draws from ``runif``-style and ``rnorm`` streams."""

    def __init__(self, seed: int) -> None:
        scrambled = seed & _MASK
        for _ in range(50):
            scrambled = (69069 * scrambled + 1) & _MASK
        state = []
        for _ in range(_N + 1):
            scrambled = (69069 * scrambled + 1) & _MASK
            state.append(scrambled)
        self._mt = state[1:]  # state[0] is the position, reset to N: regenerate on first draw
        self._mti = _N
        self._normal = NormalDist()

    def _next(self) -> float:
        mt = self._mt
        if self._mti >= _N:
            for k in range(_N):
                y = (mt[k] & 0x80000000) | (mt[(k + 1) % _N] & 0x7FFFFFFF)
                mt[k] = mt[(k + _M) % _N] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
            self._mti = 0
        y = mt[self._mti]
        self._mti += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        return y * 2.3283064365386963e-10

    def unif_rand(self) -> float:
        """A uniform deviate in (0, 1), as R's ``unif_rand`` (``fixup`` keeps it off 0 and 1)."""
        value = self._next()
        if value <= 0.0:
            return 0.5 * _I2_32M1
        if 1.0 - value <= 0.0:
            return 1.0 - 0.5 * _I2_32M1
        return value

    def rnorm(self, n: int, mean: float = 0.0, sd: float = 1.0) -> list[float]:
        """``rnorm(n, mean, sd)``."""
        draws = []
        for _ in range(n):
            u = self.unif_rand()
            u = int(_BIG * u) + self.unif_rand()
            draws.append(mean + sd * self._normal.inv_cdf(u / _BIG))
        return draws
