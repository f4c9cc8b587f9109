"""``wholesystem stratify``: score everyone, write tiers and segments, report the model."""

from __future__ import annotations

import getpass
import math
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["DEPRIVATION_FILE", "register", "run_stratify"]

DEPRIVATION_FILE = "reference/postcode_deprivation.csv"
"""Where a postcode to IMD decile lookup is looked for under a data folder (the synthetic
ICS writes its own there: ``wholesystem.synth.pipeline.DEPRIVATION_FILE``)."""


def _actor() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "system"
    return f"cli:{name}"[:64]


def _f(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def run_stratify(
    *,
    index_date: date | None = None,
    evaluate: bool = False,
    retrain: bool = False,
    truth: Path | None = None,
    deprivation: Path | None = None,
) -> None:
    """Run the step over the configured database and lake, printing what it did."""
    from wholesystem.config import get_settings
    from wholesystem.population.model import ModelFileError
    from wholesystem.population.pipeline import StratifyError, stratify
    from wholesystem.store.db import open_database
    from wholesystem.store.lake import Lake, LakeError

    settings = get_settings()
    lake = Lake(settings.resolved_lake_dir)
    truth_dir = truth
    if deprivation is None:
        # a postcode lookup kept with the data, else the synthetic ICS's own reference file
        for candidate in (
            settings.data_dir / DEPRIVATION_FILE,
            settings.demo_dir / DEPRIVATION_FILE,
        ):
            if candidate.exists():
                deprivation = candidate
                break
    if evaluate and truth_dir is None:
        candidate = settings.demo_dir / "truth"
        truth_dir = candidate if candidate.exists() else None
    try:
        with open_database(settings.resolved_database_url) as factory:
            result = stratify(
                factory,
                lake,
                actor=_actor(),
                index_date=index_date,
                evaluate=evaluate,
                retrain=retrain,
                model_dir=settings.data_dir / "models",
                truth_dir=truth_dir,
                deprivation=deprivation,
            )
    except (LakeError, StratifyError, ModelFileError) as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(result.describe())
    typer.echo(
        "Tiers:    " + ", ".join(f"{k} {v:,}" for k, v in sorted(result.tier_counts.items()))
    )
    typer.echo(
        "Segments: " + ", ".join(f"{k} {v:,}" for k, v in sorted(result.segment_counts.items()))
    )
    if not evaluate:
        return
    m = result.model
    typer.echo(
        f"Model {m.version}: trained at {m.train_index_date} ({m.n_train:,} people), "
        f"validated at {m.validation_index_date} ({m.n_validate:,} people; "
        f"{m.excluded_opted_out:,} opted out left out)"
    )
    rows = [("model", m.metrics)] + ([("baseline (PARR-style)", m.baseline)] if m.baseline else [])
    for name, x in rows:
        tops = "; ".join(
            f"top {t.share:.1%}: sensitivity {_f(t.sensitivity)} PPV {_f(t.ppv)}" for t in x.top
        )
        typer.echo(
            f"  {name}: AUROC {_f(x.auroc)}, AUPRC {_f(x.auprc)}, calibration slope "
            f"{_f(x.calibration_slope)} intercept {_f(x.calibration_intercept)}, "
            f"Brier {_f(x.brier)}; {tops}"
        )
    for s in m.subgroups:
        typer.echo(
            f"    {s.dimension}={s.group} (n={s.n:,}): AUROC {_f(s.metrics.auroc)}, "
            f"slope {_f(s.metrics.calibration_slope)}, Brier {_f(s.metrics.brier)}"
        )
    if result.truth is not None:
        t = result.truth
        typer.echo(
            f"  Synthetic truth on the same {t.n:,} people: true-probability AUROC "
            f"{_f(t.truth_auroc)}, model {_f(t.model_auroc)} (ratio {_f(t.ratio)})"
        )
    elif evaluate:
        typer.echo("  No synthetic truth found (give --truth DIR with risk.csv and records.csv).")


def register(app: typer.Typer) -> None:
    """Add ``stratify`` to ``app``."""

    @app.command("stratify")
    def stratify_cmd(
        index_date: Annotated[
            str | None,
            typer.Option(
                "--index-date",
                help="score at this date (YYYY-MM-DD); default: "
                "the last day of activity in the lake",
            ),
        ] = None,
        evaluate: Annotated[
            bool, typer.Option("--evaluate", help="print the validation figures")
        ] = False,
        retrain: Annotated[
            bool, typer.Option("--retrain", help="train a new model even if one is active")
        ] = False,
        truth: Annotated[
            Path | None,
            typer.Option(
                "--truth",
                help="synthetic ground truth folder (risk.csv, "
                "records.csv); default <data_dir>/demo/truth when present",
            ),
        ] = None,
        deprivation: Annotated[
            Path | None,
            typer.Option(
                "--deprivation",
                help="CSV of postcode,imd_decile to derive the deprivation quintile; "
                f"default <data_dir>/{DEPRIVATION_FILE}, else <data_dir>/demo/"
                f"{DEPRIVATION_FILE} (the synthetic ICS's), when present",
            ),
        ] = None,
    ) -> None:
        """Build features, train or load the risk model, score everyone, write tiers and
        segments (lake table population_person)."""
        day = None
        if index_date is not None:
            try:
                day = date.fromisoformat(index_date)
            except ValueError:
                typer.echo(f"Error: --index-date {index_date!r} is not YYYY-MM-DD", err=True)
                raise typer.Exit(code=2) from None
        run_stratify(
            index_date=day,
            evaluate=evaluate,
            retrain=retrain,
            truth=truth,
            deprivation=deprivation,
        )
