"""Model cards: who may read them and what they show."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session, sessionmaker

from tests.population.web.conftest import SignIn
from wholesystem.population.registry import (
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
        metrics=_metrics(0.812),
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
    for shown in ("0.812", "0.410", "0.980", "-0.020", "0.0712", "Top 0.5%", "0.080 and 0.710"):
        assert shown in card
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
