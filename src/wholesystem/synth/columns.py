"""Vectorised builders for the string/date columns written to CSV.

Dataset columns are held as :class:`Col` values (numpy codes plus a recipe) until the
rows are in their final order, then turned into Arrow arrays in one pass each.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "Col",
    "cat_array",
    "date_array",
    "datetime_tz_array",
    "id_array",
    "money_array",
    "number_text",
]

I64 = npt.NDArray[np.int64]
NULL = -(2**62)
"""Marker for a missing value in integer-coded columns."""
_FAR = 50_000_000  # any day at or beyond this is "no date"


@dataclass(frozen=True)
class Col:
    """A column awaiting its final row order.

    kinds: ``date`` (day numbers; >= FAR or NULL is empty), ``cat`` (indices into
    ``labels``; negative is empty), ``money`` (pence; NULL is empty), ``text`` (an Arrow
    string array), ``dtz`` (local minutes since 1970, written ISO 8601 with the UK offset),
    ``id`` (numbers written with ``labels[0]`` as prefix, zero-padded to ``width``),
    ``decimal`` (value * 10**width as integers; NULL is empty).
    """

    kind: str
    values: npt.NDArray[np.int64] | pa.Array
    labels: tuple[str, ...] = ()
    width: int = 0

    def take(self, order: I64) -> Col:
        if isinstance(self.values, pa.Array):
            return Col(self.kind, self.values.take(pa.array(order)), self.labels, self.width)
        return Col(self.kind, self.values[order], self.labels, self.width)

    def concat(self, other: Col) -> Col:
        if isinstance(self.values, pa.Array):
            assert isinstance(other.values, pa.Array)
            return Col(
                self.kind, pa.concat_arrays([self.values, other.values]), self.labels, self.width
            )
        assert not isinstance(other.values, pa.Array)
        return Col(self.kind, np.concatenate([self.values, other.values]), self.labels, self.width)

    def build(self) -> pa.Array:
        if self.kind == "text":
            assert isinstance(self.values, pa.Array)
            return self.values
        values = np.asarray(self.values)
        if self.kind == "date":
            return date_array(values)
        if self.kind == "cat":
            return cat_array(values, self.labels)
        if self.kind == "money":
            return money_array(values)
        if self.kind == "dtz":
            return datetime_tz_array(values)
        if self.kind == "id":
            return id_array(self.labels[0], values, self.width)
        if self.kind == "decimal":
            return number_text(values, self.width)
        raise ValueError(f"unknown column kind {self.kind}")


def date_array(days: I64) -> pa.Array:
    mask = (days >= _FAR) | (days == NULL)
    values = np.where(mask, 0, days).astype(np.int32)
    return pa.array(values, type=pa.int32(), mask=mask).cast(pa.date32())


@lru_cache(maxsize=256)
def _labels(labels: tuple[str, ...]) -> pa.Array:
    return pa.array(list(labels), type=pa.string())


def cat_array(idx: I64, labels: tuple[str, ...]) -> pa.Array:
    mask = idx < 0
    indices = pa.array(np.where(mask, 0, idx).astype(np.int32), mask=mask if mask.any() else None)
    return _labels(labels).take(indices)


def _int_text(values: I64) -> pa.Array:
    return pc.cast(pa.array(values, type=pa.int64()), pa.string())


def number_text(scaled: I64, decimals: int) -> pa.Array:
    """Decimal strings from integers scaled by 10**decimals (e.g. 1234, 2 -> '12.34')."""
    mask = scaled == NULL
    v = np.where(mask, 0, scaled)
    neg = v < 0
    a = np.abs(v)
    if decimals == 0:
        text = _int_text(a)
    else:
        unit = 10**decimals
        whole = _int_text(a // unit)
        frac = pc.utf8_lpad(_int_text(a % unit), decimals, "0")
        text = pc.binary_join_element_wise(whole, frac, ".")
    if neg.any():
        text = pc.if_else(pa.array(neg), pc.binary_join_element_wise("-", text, ""), text)
    if mask.any():
        text = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), text)
    return text


def money_array(pence: I64) -> pa.Array:
    """Pounds with exactly two decimal places ('1234.50')."""
    return number_text(pence, 2)


def id_array(prefix: str, numbers: I64, width: int) -> pa.Array:
    digits = pc.utf8_lpad(_int_text(numbers), width, "0")
    if not prefix:
        return digits
    return pc.binary_join_element_wise(prefix, digits, "")


@lru_cache(maxsize=8)
def _bst_table(first_year: int, last_year: int) -> tuple[I64, I64]:
    """Day numbers when British Summer Time starts and ends in each year."""
    starts: list[int] = []
    ends: list[int] = []
    for year in range(first_year, last_year + 1):
        for month, out in ((3, starts), (10, ends)):
            last = dt.date(year, month, 31)
            sunday = last - dt.timedelta(days=(last.weekday() + 1) % 7)
            out.append((sunday - dt.date(1970, 1, 1)).days)
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


def datetime_tz_array(local_minutes: I64) -> pa.Array:
    """ISO 8601 local date-times with the Europe/London offset: 2024-07-01T13:05:00+01:00."""
    if len(local_minutes) == 0:
        return pa.array([], type=pa.string())
    day = local_minutes // 1440
    years = day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    lo, hi = int(years.min()), int(years.max())
    starts, ends = _bst_table(lo, hi)
    k = years - lo
    minute_of_day = local_minutes - day * 1440
    # the clocks change at 01:00 GMT (01:00 local in March, 02:00 local in October)
    after_start = (day > starts[k]) | ((day == starts[k]) & (minute_of_day >= 120))
    before_end = (day < ends[k]) | ((day == ends[k]) & (minute_of_day < 60))
    summer = after_start & before_end
    first = int(day.min())
    labels = tuple(
        (dt.date(1970, 1, 1) + dt.timedelta(days=first + i)).isoformat()
        for i in range(int(day.max()) - first + 1)
    )
    date_text = cat_array(day - first, labels)
    # one label per minute of the day and clock offset: "T13:05:00+01:00"
    time_text = cat_array(minute_of_day + 1440 * summer, _time_labels())
    return pc.binary_join_element_wise(date_text, time_text, "")


@lru_cache(maxsize=1)
def _time_labels() -> tuple[str, ...]:
    return tuple(
        f"T{m // 60:02d}:{m % 60:02d}:00{offset}"
        for offset in ("+00:00", "+01:00")
        for m in range(1440)
    )
