"""Shared fixtures: small synthetic ICSs generated once per test session."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from wholesystem.synth import SynthConfig, SynthManifest, generate

PEOPLE = 3_000
SEED = 7


@dataclass(frozen=True)
class Ics:
    root: Path
    config: SynthConfig
    manifest: SynthManifest

    def rows(self, rel: str) -> list[dict[str, str]]:
        with (self.root / rel).open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    def header(self, rel: str) -> list[str]:
        with (self.root / rel).open(newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle))

    def extracts(self, dataset: str) -> Iterator[tuple[str, Path]]:
        """(org code, path) of every extract file of ``dataset``."""
        for path in sorted((self.root / "extracts").glob(f"*/{dataset}/{dataset}.*")):
            yield path.parent.parent.name, path

    def dataset_rows(self, dataset: str) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for org, path in self.extracts(dataset):
            for row in self.rows(str(path.relative_to(self.root))):
                row["_org"] = org
                out.append(row)
        return out


def _make(base: Path, name: str, config: SynthConfig) -> Ics:
    root = base / name
    manifest = generate(config, root, progress=False)
    return Ics(root, config, manifest)


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synth")


@pytest.fixture(scope="session")
def ics(synth_dir: Path) -> Ics:
    """The default-noise ICS most tests read."""
    return _make(synth_dir, "ics", SynthConfig(people=PEOPLE, seed=SEED))


@pytest.fixture(scope="session")
def ics_again(synth_dir: Path) -> Ics:
    return _make(synth_dir, "ics_again", SynthConfig(people=PEOPLE, seed=SEED))


@pytest.fixture(scope="session")
def ics_other_seed(synth_dir: Path) -> Ics:
    return _make(synth_dir, "ics_other", SynthConfig(people=PEOPLE, seed=SEED + 1))


@pytest.fixture(scope="session")
def ics_clean(synth_dir: Path) -> Ics:
    """No identity noise at all."""
    return _make(synth_dir, "ics_clean", SynthConfig(people=2_000, seed=11, noise_scale=0))


@pytest.fixture(scope="session")
def truth_people(ics: Ics) -> dict[str, dict[str, str]]:
    return {row["person_id"]: row for row in ics.rows("truth/people.csv")}


@pytest.fixture(scope="session")
def record_person(ics: Ics) -> dict[tuple[str, str, str], str]:
    """(dataset, org, local id) -> true person id."""
    return {
        (r["dataset"], r["org_code"], r["local_patient_id"]): r["person_id"]
        for r in ics.rows("truth/records.csv")
    }
