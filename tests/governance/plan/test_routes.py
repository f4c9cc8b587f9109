"""Plan and risk pages: permissions, CSV, forms with CSRF, public views without sign-in."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_from


def test_public_plan_and_risks_need_no_sign_in_and_hide_internals(
    client: TestClient, ids: dict[str, int]
) -> None:
    page = client.get("/public/governance/plan")
    assert page.status_code == 200
    assert "Urgent and emergency care that flows" in page.text
    assert "Done at system level" in page.text
    assert "Done at place" in page.text
    assert 'data-testid="data-as-at"' in page.text
    csv = client.get("/public/governance/plan.csv")
    assert csv.text.startswith("plan_version,priority,objective_ref")
    assert "ae_4hr" in csv.text
    risks = client.get("/public/governance/risks")
    assert "Winter demand exceeds urgent care capacity" in risks.text
    assert 'data-testid="heat-map"' in risks.text
    assert "Daily system control centre call" not in risks.text  # controls stay internal
    public_csv = client.get("/public/governance/risks.csv?band=extreme")
    assert public_csv.text.startswith("reference,title,owner_organisation,score,band")
    assert all(",extreme," in line for line in public_csv.text.strip().splitlines()[1:])
    assert client.get("/public/governance/risks?likelihood=9").status_code == 400
    assert client.get("/public/governance/plan?version=99").status_code == 404


def test_internal_pages_need_a_sign_in_and_writes_need_the_lead(
    client: TestClient, sign_in: Callable[[str], TestClient], ids: dict[str, int]
) -> None:
    assert client.get("/governance/risks", follow_redirects=False).status_code in {302, 303, 401}
    sign_in("carer")
    objective = client.get(f"/governance/plan/objectives/{ids['objective']}")
    assert objective.status_code == 200
    assert "A&amp;E 4-hour performance" in objective.text
    assert "No value in the current published snapshot" in objective.text
    trajectory = client.get(f"/governance/plan/objectives/{ids['objective']}/trajectory.csv")
    assert trajectory.text.startswith("objective_ref,metric_id,metric,due_on,target")
    risk = client.get(f"/governance/risks/{ids['risk']}")
    assert "Daily system control centre call" in risk.text
    assert "Re-score this risk" not in risk.text
    filtered = client.get("/governance/risks.csv?objective=O2&trend=falling")
    assert filtered.text.count("\n") == 2  # header and the winter risk
    token = csrf_from(client.get("/governance/interests").text)
    refused = client.post(
        f"/governance/risks/{ids['risk']}/scores",
        data={"likelihood": "2", "consequence": "2", "rationale": "x", "csrf_token": token},
    )
    assert refused.status_code == 403
    assert client.get("/governance/plan/draft").status_code == 403


def test_the_lead_rescores_and_bad_input_is_refused_with_the_field(
    client: TestClient, sign_in: Callable[[str], TestClient], ids: dict[str, int]
) -> None:
    sign_in("gail")
    url = f"/governance/risks/{ids['risk']}"
    token = csrf_from(client.get(url).text)
    bad = client.post(
        f"{url}/scores",
        data={"likelihood": "6", "consequence": "4", "rationale": "x", "csrf_token": token},
    )
    assert bad.status_code == 400
    assert "likelihood: must be a whole number from 1 to 5" in bad.text
    ok = client.post(
        f"{url}/scores",
        data={"likelihood": "5", "consequence": "5", "rationale": "Worse", "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    history = client.get(f"{url}/history.csv").text
    assert history.strip().splitlines()[-1].split(",")[2:6] == ["5", "5", "25", "extreme"]
    assert "Rising" in client.get(url).text


def test_the_lead_drafts_and_publishes_a_new_version(
    client: TestClient, sign_in: Callable[[str], TestClient], ids: dict[str, int]
) -> None:
    sign_in("gail")
    token = csrf_from(client.get("/governance/plan").text)
    started = client.post(
        "/governance/plan/drafts",
        data={
            "title": "Northshire system plan",
            "vision": "Revised vision",
            "period_start": "2026-04-01",
            "period_end": "2029-03-31",
            "change_note": "Refresh",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert started.status_code == 303
    draft = client.get("/governance/plan/draft")
    assert "Draft version 2" in draft.text
    found = re.search(r'<select[^>]*id="priority"[^>]*>\s*<option value="(\d+)"', draft.text)
    assert found is not None
    bad = client.post(
        "/governance/plan/draft/objectives",
        data={"priority": found.group(1), "ref": "O10", "title": "x", "level": "system",
              "owner_org": "QXX", "owner": "1", "trajectories": "made_up 2027-03-31 5",
              "csrf_token": token},
    )  # fmt: skip
    assert bad.status_code == 400
    assert "&#39;made_up&#39; is not in the dashboard metric catalogue" in bad.text
    published = client.post(
        "/governance/plan/draft/publish", data={"csrf_token": token}, follow_redirects=False
    )
    assert published.status_code == 303
    page = client.get("/governance/plan")
    assert "Revised vision" in page.text
    assert client.get("/governance/plan/versions.csv").text.count("\n") == 3
