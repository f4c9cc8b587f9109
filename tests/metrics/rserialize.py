"""Read the R objects that testthat's ``expect_snapshot_value(style = "serialize")`` stores.

Such a snapshot is R's XDR serialization (``serialize(x, NULL, version = 2)``) in base64. This
reader handles what a ``ptd_spc_df`` data frame holds: lists, pairlists (attributes), symbols,
logical, integer, double and character vectors. It lets the golden tests use NHSRplotthedots'
own stored expectations, verbatim, with full-precision doubles.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

__all__ = ["RVector", "SpcSnapshot", "load_spc_snapshot", "unserialize"]

_NA_INTEGER = -(2**31)
_NILVALUE, _REF, _SYM, _LIST, _CHAR = 254, 255, 1, 2, 9
_LGL, _INT, _REAL, _STR, _VEC = 10, 13, 14, 16, 19
_HAS_ATTR, _HAS_TAG = 1 << 9, 1 << 10

RValue = object


@dataclass(frozen=True)
class RVector:
    """An R vector (or list) with its attributes."""

    kind: str
    values: list[RValue]
    attributes: dict[str, RValue] = field(default_factory=dict)


@dataclass(frozen=True)
class _Symbol:
    name: str


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0
        self.refs: list[RValue] = []

    def integer(self) -> int:
        (value,) = struct.unpack_from(">i", self.data, self.at)
        self.at += 4
        return int(value)

    def double(self) -> float:
        (value,) = struct.unpack_from(">d", self.data, self.at)
        self.at += 8
        return float(value)

    def length(self) -> int:
        n = self.integer()
        return (self.integer() << 32) + self.integer() if n == -1 else n

    def attributes(self, flags: int) -> dict[str, RValue]:
        if not flags & _HAS_ATTR:
            return {}
        pairs = self.item()
        assert isinstance(pairs, list)
        return {str(tag): value for tag, value in pairs}

    def pairlist(self, flags: int) -> list[tuple[str | None, RValue]]:
        items: list[tuple[str | None, RValue]] = []
        while True:
            if flags & _HAS_ATTR:
                self.attributes(flags)
            tag = self.item() if flags & _HAS_TAG else None
            items.append((tag.name if isinstance(tag, _Symbol) else None, self.item()))
            flags = self.integer()
            if flags & 0xFF == _NILVALUE:
                return items
            assert flags & 0xFF == _LIST, hex(flags)

    def item(self) -> RValue:
        flags = self.integer()
        kind = flags & 0xFF
        if kind == _NILVALUE:
            return None
        if kind == _REF:
            index = flags >> 8 or self.integer()
            return self.refs[index - 1]
        if kind == _SYM:
            symbol = _Symbol(str(self.item()))
            self.refs.append(symbol)
            return symbol
        if kind == _LIST:
            return self.pairlist(flags)
        if kind == _CHAR:
            n = self.integer()
            if n == -1:
                return None
            text = self.data[self.at : self.at + n].decode("utf-8")
            self.at += n
            return text
        if kind in (_LGL, _INT):
            raw = [self.integer() for _ in range(self.length())]
            values: list[RValue] = [
                None if v == _NA_INTEGER else (bool(v) if kind == _LGL else v) for v in raw
            ]
            return RVector("logical" if kind == _LGL else "integer", values, self.attributes(flags))
        if kind == _REAL:
            doubles: list[RValue] = [self.double() for _ in range(self.length())]
            return RVector("double", doubles, self.attributes(flags))
        if kind in (_STR, _VEC):
            items = [self.item() for _ in range(self.length())]
            return RVector("character" if kind == _STR else "list", items, self.attributes(flags))
        raise ValueError(f"unsupported R type {kind} at byte {self.at}")


def unserialize(text: str) -> RValue:
    """An R object from base64 XDR serialization (whitespace is ignored)."""
    data = base64.b64decode("".join(text.split()), validate=True)
    assert data[:2] == b"X\n", "not XDR serialization"
    reader = _Reader(data)
    reader.at = 2
    version = reader.integer()
    reader.integer()  # R version that wrote it
    reader.integer()  # minimal R version to read it
    if version == 3:
        reader.at += reader.integer()  # native encoding name
    value = reader.item()
    assert reader.at == len(data), "trailing bytes: the snapshot was not read whole"
    return value


@dataclass(frozen=True)
class SpcSnapshot:
    """One facet of a stored ``ptd_spc()`` result, column by column."""

    facet: str
    dates: list[date]
    y: list[float]
    mean: list[float]
    lpl: list[float]
    upl: list[float]
    relative_to_mean: list[int]
    outside_limits: list[bool]
    close_to_limits: list[bool]
    point_type: list[str]
    rebase_group: list[int]
    options: dict[str, RValue]

    def _option(self, name: str) -> list[RValue]:
        value = self.options[name]
        return value if isinstance(value, list) else []

    @property
    def improvement_direction(self) -> str:
        return str(self._option("improvement_direction")[0])

    @property
    def has_target(self) -> bool:
        return self.options["target"] is not None

    @property
    def screen_outliers(self) -> bool:
        return self._option("screen_outliers") == [True]

    @property
    def rebase(self) -> list[date]:
        """``rebase`` dates (R Dates: days since 1970-01-01)."""
        return [date(1970, 1, 1) + timedelta(days=int(d)) for d in _floats(self._option("rebase"))]

    @property
    def fix_after_n_points(self) -> int | None:
        fix = _floats(self._option("fix_after_n_points"))
        return int(fix[0]) if fix else None


def _column(frame: RVector, name: str) -> list[RValue]:
    names = frame.attributes["names"]
    assert isinstance(names, RVector)
    column = frame.values[names.values.index(name)]
    assert isinstance(column, RVector)
    return column.values


def _floats(values: list[RValue]) -> list[float]:
    assert all(isinstance(v, float) for v in values)
    return [float(v) for v in values if isinstance(v, float)]


def load_spc_snapshot(path: Path) -> list[SpcSnapshot]:
    """The facets of a ``ptd_spc_df`` snapshot, with its ``ptd_spc_options``."""
    frame = unserialize(path.read_text())
    assert isinstance(frame, RVector)
    options_vector = frame.attributes["options"]
    assert isinstance(options_vector, RVector)
    option_names = options_vector.attributes["names"]
    assert isinstance(option_names, RVector)
    options = {
        str(name): (value.values if isinstance(value, RVector) else value)
        for name, value in zip(option_names.values, options_vector.values, strict=True)
    }
    facets_column = frame.values[2]
    assert isinstance(facets_column, RVector)
    levels = facets_column.attributes.get("levels")
    facet_names = [
        str(levels.values[int(str(v)) - 1]) if isinstance(levels, RVector) else str(v)
        for v in facets_column.values
    ]
    columns = {
        name: _column(frame, name)
        for name in (
            "x",
            "y",
            "mean",
            "lpl",
            "upl",
            "relative_to_mean",
            "outside_limits",
            "close_to_limits",
            "point_type",
            "rebase_group",
        )
    }
    snapshots = []
    for facet in dict.fromkeys(facet_names):
        rows = [i for i, name in enumerate(facet_names) if name == facet]

        def pick(name: str, rows: list[int] = rows) -> list[RValue]:
            return [columns[name][i] for i in rows]

        snapshots.append(
            SpcSnapshot(
                facet=facet,
                dates=[datetime.fromtimestamp(t, UTC).date() for t in _floats(pick("x"))],
                y=_floats(pick("y")),
                mean=_floats(pick("mean")),
                lpl=_floats(pick("lpl")),
                upl=_floats(pick("upl")),
                relative_to_mean=[int(v) for v in _floats(pick("relative_to_mean"))],
                outside_limits=[v is True for v in pick("outside_limits")],
                close_to_limits=[v is True for v in pick("close_to_limits")],
                point_type=[str(v) for v in pick("point_type")],
                rebase_group=[int(v) for v in _floats(pick("rebase_group"))],
                options=options,
            )
        )
    return snapshots
