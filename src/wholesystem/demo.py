"""Build the demo ICS end to end: synthetic data, database, footprint, demo users."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from wholesystem.config import Mode, Settings

__all__ = ["DemoResult", "build_demo"]


@dataclass(frozen=True)
class DemoResult:
    data_dir: Path
    synth_reused: bool
    footprint: str
    logins: list[tuple[str, str, str, str]]
    url: str

    def report(self) -> str:
        """What `make run` prints: where things are and how to sign in."""
        width = max((len(u) for u, *_ in self.logins), default=8)
        pw_width = max((len(p) for _, p, *_ in self.logins), default=8)
        lines = [
            f"Demo ICS in {self.data_dir}"
            + (" (reused: same size and seed)" if self.synth_reused else ""),
            f"Footprint: {self.footprint}",
            "",
            "Demo logins (demo mode only):",
        ]
        for username, password, role, org in self.logins:
            lines.append(f"  {username:<{width}}  {password:<{pw_width}}  {role} at {org}")
        lines += ["", f"Open {self.url}"]
        return "\n".join(lines)


def _synth_is_current(out_dir: Path, people: int, seed: int) -> bool:
    manifest = out_dir / "manifest.json"
    if not manifest.exists():
        return False
    try:
        data = json.loads(manifest.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return bool(data.get("people") == people and data.get("seed") == seed)


def build_demo(settings: Settings, *, people: int, seed: int) -> DemoResult:
    """Generate (or reuse) the synthetic ICS, then run every pipeline step on it."""
    if settings.mode is Mode.production:
        raise ValueError("the demo is only built in demo or test mode (WHOLESYSTEM_MODE)")
    from wholesystem.access.demo import create_demo_users
    from wholesystem.finance.services import load_returns_file as load_finance_returns
    from wholesystem.finance.store import load_demo_finance
    from wholesystem.footprint.pipeline import load_footprint_file
    from wholesystem.footprint.queries import organisation_codes_by_type
    from wholesystem.governance.concerns.services import raise_metric_concerns_now
    from wholesystem.governance.demo import load_demo_governance
    from wholesystem.metrics.pipeline import load_returns_step, publish
    from wholesystem.metrics.snapshots import current_snapshot
    from wholesystem.population.pipeline import stratify
    from wholesystem.record.cli import ingest_progress
    from wholesystem.record.ingest import ingest_path
    from wholesystem.record.linkage.pipeline import build_person_index
    from wholesystem.record.linked import build_linked_tables
    from wholesystem.record.terms import use_extra_terms
    from wholesystem.store.db import open_database, session_scope, upgrade
    from wholesystem.store.lake import Lake
    from wholesystem.store.runs import recorded_run
    from wholesystem.synth import SynthConfig, generate

    use_extra_terms(settings.code_terms_file)
    url = settings.resolved_database_url
    upgrade(url)
    out_dir = settings.demo_dir
    reused = _synth_is_current(out_dir, people, seed)
    with open_database(url) as factory:
        if not reused:
            with recorded_run(factory, "synth") as run:
                manifest = generate(SynthConfig(people=people, seed=seed), out_dir)
                run.summary = f"Synthetic ICS of {people:,} people (seed {seed})"
                run.details = {"out": str(out_dir), "files": len(manifest.files)}
        footprint = load_footprint_file(factory, out_dir / "footprint.json")
        lake = Lake(settings.resolved_lake_dir)
        with ingest_progress() as tell:
            ingest_path(factory, lake, out_dir / "extracts", actor="demo", progress=tell)
        build_person_index(factory, lake, actor="demo")
        build_linked_tables(factory, lake, "demo")
        stratify(
            factory,
            lake,
            actor="demo",
            model_dir=settings.data_dir / "models",
            # the synthetic ICS's postcode -> IMD decile lookup (public reference data)
            deprivation=out_dir / "reference" / "postcode_deprivation.csv",
        )
        load_returns_step(factory, lake, out_dir / "returns", actor="demo")
        load_finance_returns(factory, out_dir / "returns" / "finance.csv", actor="demo")
        load_demo_finance(factory, actor="demo")  # example contracts and a settlement
        with session_scope(factory) as session:
            logins = create_demo_users(
                session, organisation_codes_by_type(session), mode=settings.mode
            )
        # Governance first: its decision register feeds the dashboard's place/system split.
        with session_scope(factory) as session:
            load_demo_governance(session)
        with session_scope(factory) as session:
            published = current_snapshot(session)
        # A rebuilt ICS gets a fresh snapshot; a reused one keeps its current snapshot, so
        # repeated `make run`s do not pile up identical snapshots.
        if published is None or not reused:
            publish(factory, lake, actor="demo", note="demo build")
            # a metric failing its agreed definition raises a concern with its owner
            raise_metric_concerns_now(factory, actor="demo")
    return DemoResult(
        data_dir=settings.data_dir.resolve(),
        synth_reused=reused,
        footprint=footprint,
        logins=logins,
        url=f"http://{settings.host}:{settings.port}",
    )
