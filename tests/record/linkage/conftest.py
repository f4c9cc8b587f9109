from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from wholesystem.record.linkage.evaluate import source_records_from_synth
from wholesystem.synth import SynthConfig, generate

BACKTEST_PEOPLE = 3000


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("linkage-synth") / "ics"
    generate(SynthConfig(people=BACKTEST_PEOPLE, seed=7), out, progress=False, workers=1)
    return out


@pytest.fixture(scope="session")
def synth_records(synth_dir: Path) -> pa.Table:
    return source_records_from_synth(synth_dir)


def nhs(base9: int) -> str:
    """A valid NHS number from a nine-digit base (skipping bases with no check digit)."""
    while True:
        digits = f"{base9:09d}"
        total = sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        if check != 10:
            return digits + str(check)
        base9 += 1
