"""Model cards: who may read them and what they show."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session, sessionmaker

from tests.population.web.conftest import SignIn
from wholesystem.population.registry import (
    CalibrationBin,
    ModelMetrics,
    ModelVersion,
    SubgroupMetrics,
    TopK,
    register,
)


def _metrics(auroc: float) -> ModelMetrics:
    return ModelMetrics(
        auroc=auroc,
        auprc=0.41,
        calibration_slope=0.98,
        calibration_intercept=-0.02,
        brier=0.0712,
        top=(TopK(0.005, 0.08, 0.71), TopK(0.01, 0.14, 0.64), TopK(0.05, 0.39, 0.45)),
    )


_BINS = (
    # a lowest tenth with 3 admitted (suppressed) and a highest with 412
    CalibrationBin(0.001, 0.004, 18_100, 3, 0.0025),
    CalibrationBin(0.004, 0.009, 18_100, 120, 0.0065),
    CalibrationBin(0.30, 0.97, 18_100, 412, 0.4210),
)


def _version(name: str, *, active: bool) -> ModelVersion:
    return ModelVersion(
        version=name,
        created_at=datetime(2025, 4, 2, 9, 30, tzinfo=UTC),
        created_by="admin",
        train_index_date=date(2023, 3, 31),
        validation_index_date=date(2024, 3, 31),
        features=("age", "emergency_admissions_12m", "efi"),
        n_train=180_000,
        n_validate=181_000,
        excluded_opted_out=1_203,
        metrics=ModelMetrics(**{**_metrics(0.812).__dict__, "calibration": _BINS}),
        baseline=ModelMetrics(
            auroc=0.733,
            auprc=0.301,
            calibration_slope=1.04,
            calibration_intercept=0.01,
            brier=0.0755,
            top=(TopK(0.005, 0.06, 0.52), TopK(0.01, 0.1, 0.5), TopK(0.05, 0.3, 0.37)),
        ),
        subgroups=(
            SubgroupMetrics("age_band", "85+", 5_000, _metrics(0.701)),
            SubgroupMetrics("ethnicity_group", "Other", 5, _metrics(0.555)),
            SubgroupMetrics("sex", "F", 90_000, _metrics(math.nan)),
        ),
        active=active,
    )


def test_models_list_and_card(sign_in: SignIn, factory: sessionmaker[Session]) -> None:
    with factory() as s:
        register(s, _version("2025-04-02.1", active=True))
        s.commit()
    client = sign_in("analyst")
    text = client.get("/population/models").text
    assert 'href="/population/models/2025-04-02.1"' in text
    assert "0.812" in text
    card = client.get("/population/models/2025-04-02.1").text
    for shown in ("0.812", "0.410", "0.980", "-0.020", "0.0712", "Top 0.5%", "0.080", "0.710"):
        assert shown in card
    assert "0.733" in card
    assert "0.0755" in card
    assert "42.1%" in card
    assert "2.3%" in card
    assert "31 March 2023" in card
    assert "emergency_admissions_12m" in card
    assert "1,205" in card  # opted-out count, rounded to 5
    assert "0.701" in card  # the 85+ subgroup
    assert "0.555" not in card  # a group of 5 is too small to publish
    assert "Too few people to publish" in card
    assert client.get("/population/models/nope").status_code == 404


def test_model_cards_for_analysts_admins_and_board_only(sign_in: SignIn) -> None:
    for user in ("analyst", "admin", "board"):
        assert sign_in(user).get("/population/models").status_code == 200
    for user in ("carer", "cllr"):
        assert sign_in(user).get("/population/models").status_code == 403


def test_no_models_yet_says_so(sign_in: SignIn) -> None:
    text = sign_in("analyst").get("/population/models").text
    assert 'data-testid="empty-state"' in text


def _csv(client: object, url: str) -> list[dict[str, str]]:
    response = client.get(url)  # type: ignore[attr-defined]
    assert response.status_code == 200, url
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_every_model_card_table_has_a_csv(sign_in: SignIn, factory: sessionmaker[Session]) -> None:
    with factory() as s:
        register(s, _version("2025-04-02.1", active=True))
        s.commit()
    client = sign_in("analyst")
    card = client.get("/population/models/2025-04-02.1").text
    base = "/population/models/2025-04-02.1"
    for table in ("validation", "top", "calibration", "age_band", "sex", "ethnicity_group"):
        assert f'href="{base}/{table}.csv"' in card, table

    validation = {r["measure"]: r for r in _csv(client, f"{base}/validation.csv")}
    assert float(validation["auroc"]["model"]) == 0.812
    assert float(validation["auroc"]["baseline_parr_style"]) == 0.733
    assert float(validation["brier"]["model"]) == 0.0712

    top = _csv(client, f"{base}/top.csv")
    assert [float(r["top_share"]) for r in top] == [0.005, 0.01, 0.05]
    assert float(top[0]["model_ppv"]) == 0.71
    assert float(top[0]["baseline_ppv"]) == 0.52

    bins = _csv(client, f"{base}/calibration.csv")
    assert [r["risk_group"] for r in bins] == ["1", "2", "3"]
    assert bins[0]["admitted"] == "*"
    assert bins[0]["observed_rate"] == ""
    assert bins[2]["people"] == "18100"
    assert bins[2]["admitted"] == "410"
    assert float(bins[2]["observed_rate"]) == round(412 / 18_100, 6)
    assert float(bins[2]["mean_predicted_risk"]) == 0.421

    ages = _csv(client, f"{base}/age_band.csv")
    assert ages == [
        {
            **ages[0],
            "group": "85+",
            "people": "5000",
            "auroc": "0.701",
            "top_0.5pct_ppv": "0.71",
        }
    ]
    ethnic = _csv(client, f"{base}/ethnicity_group.csv")
    assert ethnic[0]["people"] == "*"
    assert ethnic[0]["auroc"] == ""
    sex = _csv(client, f"{base}/sex.csv")
    assert sex[0]["auroc"] == ""
    assert sex[0]["auprc"] == "0.41"
    assert _csv(client, f"{base}/deprivation_quintile.csv") == []  # no such groups recorded


def test_model_card_csvs_refuse_bad_names_and_other_roles(
    sign_in: SignIn, factory: sessionmaker[Session]
) -> None:
    with factory() as s:
        register(s, _version("2025-04-02.1", active=True))
        s.commit()
    analyst = sign_in("analyst")
    bad = analyst.get("/population/models/2025-04-02.1/people.csv")
    assert bad.status_code == 404
    assert "no table" in bad.text
    assert analyst.get("/population/models/nope/top.csv").status_code == 404
    assert sign_in("carer").get("/population/models/2025-04-02.1/top.csv").status_code == 403
