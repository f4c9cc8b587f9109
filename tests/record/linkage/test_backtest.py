"""Back-test on a small synthetic ICS against its ground truth.

Measured pairwise F1: 0.99998 at 3,000 people seed 7 (12,776 records; the fixture here),
1.0 at 3,000 people seed 1, 0.99983 at 20,000 people seed 1, 0.99972 at 200,000 and
0.99966 at 1,000,000. The floor 0.998 sits well under all of these, so seed-to-seed
variation at this small size (a handful of false merges) does not make it flaky, yet it
is above the plain-Splink reference (0.99656 at 200,000 people) and the issue's 0.995
target, so a real regression in the engine fails it.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from wholesystem.record.linkage import evaluate, link

F1_FLOOR = 0.998


def test_backtest_f1(synth_records: pa.Table, synth_dir: Path) -> None:
    result = link(synth_records)
    metrics = evaluate(synth_records, result.clusters, synth_dir)
    assert metrics.records == synth_records.num_rows
    assert metrics.f1 >= F1_FLOOR, metrics
    assert metrics.precision >= 0.998
    assert metrics.recall >= 0.998
    assert metrics.purity >= 0.999
    assert result.stats["identities"] < result.stats["records"]
