"""Same seed, same bytes; different seed, different data; the manifest is a true fingerprint."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from wholesystem.synth import SynthConfig, generate, pipeline

from .conftest import Ics


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_gives_identical_bytes(ics: Ics, ics_again: Ics) -> None:
    first, second = _tree(ics.root), _tree(ics_again.root)
    assert first.keys() == second.keys()
    different = [name for name in first if first[name] != second[name]]
    assert different == []


def test_different_seed_gives_different_data(ics: Ics, ics_other_seed: Ics) -> None:
    a, b = _tree(ics.root), _tree(ics_other_seed.root)
    for rel in ("truth/people.csv", "extracts/R9A/apc/apc.csv", "footprint.json"):
        assert a[rel] != b[rel], rel


def test_manifest_matches_files(ics: Ics) -> None:
    manifest = json.loads((ics.root / "manifest.json").read_text())
    files = {str(p.relative_to(ics.root)) for p in ics.root.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == files - {"manifest.json"}
    for rel, entry in manifest["files"].items():
        data = (ics.root / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], rel
        assert len(data) == entry["bytes"], rel
        lines = data.count(b"\n")
        if rel.endswith(".csv"):
            assert lines == entry["rows"] + 1, rel  # header
        elif rel.endswith(".ndjson"):
            assert lines == entry["rows"], rel


def test_manifest_records_inputs_and_no_clock(ics: Ics) -> None:
    manifest = json.loads((ics.root / "manifest.json").read_text())
    assert manifest["seed"] == ics.config.seed
    assert manifest["people"] == ics.config.people
    assert manifest["end_date"] == "2026-03-31"
    assert manifest["start_date"] == "2021-04-01"
    assert manifest["generator_version"]
    text = json.dumps(manifest)
    for word in ("timestamp", "generated_at", "created"):
        assert word not in text


@pytest.mark.slow
def test_two_processes_write_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small chunks so that a small population still spans several chunks
    monkeypatch.setattr(pipeline, "CHUNK_SIZE", 1_000)
    config = SynthConfig(people=2_500, seed=3)
    generate(config, tmp_path / "one", progress=False, workers=1)
    generate(config, tmp_path / "two", progress=False, workers=2)
    assert _tree(tmp_path / "one") == _tree(tmp_path / "two")


def test_rerun_replaces_previous_output(tmp_path: Path) -> None:
    config = SynthConfig(people=300, seed=5)
    out = tmp_path / "ics"
    generate(config, out, progress=False)
    (out / "extracts" / "stray.txt").write_text("left over")
    generate(config, out, progress=False)
    assert not (out / "extracts" / "stray.txt").exists()
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_failed_run_leaves_previous_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = SynthConfig(people=300, seed=5)
    out = tmp_path / "ics"
    generate(config, out, progress=False)
    before = _tree(out)

    def boom(*_args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline.returns, "beds_return", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        generate(SynthConfig(people=400, seed=6), out, progress=False)
    assert _tree(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["ics"]
