"""The signed-in dashboard: tiles, drill-down, metric pages, snapshots, board report."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.metrics.web.conftest import PERIODS, WriteSnapshot, sample_rows
from tests.web.conftest import csrf_from
from wholesystem.access.models import AuditEvent
from wholesystem.config import Settings
from wholesystem.metrics.catalogue import CATALOGUE
from wholesystem.store.db import make_engine, make_session_factory

SignIn = Callable[[str], TestClient]


def _csv(response: object) -> list[dict[str, str]]:
    text = response.text  # type: ignore[attr-defined]
    return list(csv.DictReader(io.StringIO(text)))


def _audited(settings: Settings, action: str) -> list[AuditEvent]:
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_session_factory(engine)() as s:
            return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))
    finally:
        engine.dispose()


def _tile(html: str, metric_id: str) -> str:
    match = re.search(
        rf'<div class="nhsuk-card ws-tile[^"]*" data-metric="{metric_id}".*?</li>', html, re.S
    )
    assert match, metric_id
    return match.group(0)


def test_without_a_snapshot_the_dashboard_says_so(client: TestClient, sign_in: SignIn) -> None:
    sign_in("carer")
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "No snapshot of the system's metrics has been published yet" in page.text
    assert "Publish a snapshot now" not in page.text  # a care-team member may not publish
    sign_in("admin")
    assert "Publish a snapshot now" in client.get("/dashboard").text


def test_dashboard_tiles_icons_failures_and_stamps(
    client: TestClient, sign_in: SignIn, snapshot_writer: WriteSnapshot
) -> None:
    sid = snapshot_writer(published_by="analyst-1", cut_off=date(2026, 3, 31))
    sign_in("carer")
    page = client.get("/dashboard")
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="data-as-at"' in html
    stamp = re.search(r'data-testid="snapshot-stamp">(.*?)</p>', html, re.S)
    assert stamp
    assert f"Snapshot {sid}" in stamp.group(1)
    assert "31 March 2026" in stamp.group(1)
    assert "analyst-1" in stamp.group(1)
    # A&E: three months far below target and below the lower limit -> failing, concern (L).
    ae = _tile(html, "ae_4hr")
    assert "ws-tile--failing" in ae
    assert "Failing" in ae
    assert "68.0%" in ae
    assert "March 2026" in ae
    assert "Target: at least 78.0%" in ae
    assert "Special cause concern (lower)" in ae
    assert 'aria-label="Special cause concern (lower)"' in ae
    assert ">L</text>" in ae  # the letter, not only the colour
    # Emergency admissions: common cause, well under its target -> pass assurance (P).
    ea = _tile(html, "emergency_admissions_rate")
    assert "ws-tile--failing" not in ea
    assert "Will consistently meet the target" in ea
    assert ">P</text>" in ea
    # No values -> said, not blank.
    assert "No values for Testshire Integrated Care System" in _tile(html, "ae_12hr")
    # Grouped by domain, failing listed first.
    assert html.index("Failing the agreed rule") < html.index('id="domain-urgent-care"')
    assert 'data-testid="active-filters"' in html


def test_area_filter_breadcrumb_and_levels(
    client: TestClient, sign_in: SignIn, snapshot_writer: WriteSnapshot
) -> None:
    snapshot_writer()
    sign_in("carer")
    place = client.get("/dashboard?area=PL1").text
    # Breadcrumb: system -> place, the system a link back up.
    assert re.search(
        r'href="/dashboard">\s*Dashboard: Testshire Integrated Care System\s*</a>', place
    )
    assert "Testshire North" in re.search(
        r'data-testid="active-filters">(.*?)</p>', place, re.S
    ).group(1)  # type: ignore[union-attr]
    # Organisation-level metrics are not valid at place level, and say so.
    ae = _tile(place, "ae_4hr")
    assert 'data-status="not_valid"' in ae
    assert "Not measured for places" in ae
    # Population metric at the place: a value, and a drill-down to its neighbourhood.
    assert "4.3" in _tile(place, "emergency_admissions_rate")  # (62 + 5) / 15,500 x 1,000
    assert 'href="/dashboard?area=U00001"' in place
    hood = client.get("/dashboard?area=U00001").text
    assert re.search(r'href="/dashboard\?area=PL1">\s*Testshire North\s*</a>', hood)
    assert "valid down to place level" in _tile(hood, "readmissions_30d")
    org = client.get("/dashboard?area=RA1").text
    assert "68.0%" in _tile(org, "ae_4hr")
    assert client.get("/dashboard?area=NOPE").status_code == 404
    assert client.get("/dashboard?snapshot=999").status_code == 404


def test_dashboard_csv_has_the_same_filters_and_is_audited(
    client: TestClient, sign_in: SignIn, snapshot_writer: WriteSnapshot, app_settings: Settings
) -> None:
    sid = snapshot_writer()
    sign_in("carer")
    rows = _csv(client.get("/dashboard.csv?area=PL1"))
    by_metric = {r["metric_id"]: r for r in rows}
    assert len(rows) == len(CATALOGUE)
    assert {r["area_code"] for r in rows} == {"PL1"}
    assert by_metric["ae_4hr"]["status"] == "not_valid"
    ea = by_metric["emergency_admissions_rate"]
    assert ea["period"] == "2026-03-01"
    assert abs(Decimal(ea["value"]) - Decimal(67) / Decimal(15500) * 1000) < Decimal("0.00001")
    assert ea["snapshot_id"] == str(sid)
    events = _audited(app_settings, "export")
    assert any(e.object_type == "metric_dashboard" and e.object_id == f"{sid}:PL1" for e in events)


def test_metric_page_chart_table_and_drill_down(
    client: TestClient, sign_in: SignIn, snapshot_writer: WriteSnapshot
) -> None:
    snapshot_writer()
    sign_in("carer")
    html = client.get("/dashboard/metrics/ae_4hr").text
    svg = re.search(
        r'<svg xmlns="http://www.w3.org/2000/svg" class="ws-spc-chart".*?</svg>', html, re.S
    )
    assert svg
    root = ElementTree.fromstring(svg.group(0))  # noqa: S314 - our own output
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title") is not None
    assert "24 months from April 2024 to March 2026" in (root.findtext(f"{ns}desc") or "")
    assert 'style="' not in svg.group(0)  # the CSP forbids inline styles
    # Three concern points drawn as downward triangles (shape, not only colour).
    assert svg.group(0).count('fill="#fab428"') >= 3
    # Definition, target basis, failure rule, source.
    for text in (
        "all attendances",
        "NHS England 2025/26 priorities",
        "misses the target for 3",
        "ecds",
    ):
        assert text in html
    assert "Special-cause concern: 3 months below the lower limit" in html
    # The data table: one row per period, with limits and point types.
    table = html[html.index("The data behind the chart") :]
    assert table.count('<tr class="nhsuk-table__row">') >= 24
    assert "Special cause: concern" in table
    # Drill-down: at system level, the organisations with values.
    assert 'href="/dashboard/metrics/ae_4hr?area=RA1"' in html
    place_metric = client.get("/dashboard/metrics/emergency_admissions_rate?area=PL1").text
    assert 'href="/dashboard/metrics/emergency_admissions_rate?area=U00001"' in place_metric
    not_valid = client.get("/dashboard/metrics/ae_4hr?area=PL1").text
    assert 'data-testid="not-valid"' in not_valid
    assert client.get("/dashboard/metrics/no_such_metric").status_code == 404


def test_metric_csv_matches_the_spc_engine(
    client: TestClient, sign_in: SignIn, snapshot_writer: WriteSnapshot
) -> None:
    from wholesystem.metrics.spc import Improvement, analyse

    snapshot_writer()
    sign_in("carer")
    rows = _csv(client.get("/dashboard/metrics/ae_4hr.csv?area=RA1"))
    assert [r["period"] for r in rows] == [p.isoformat() for p in PERIODS]
    expected = analyse(
        PERIODS, [float(r["value"]) for r in rows], improvement=Improvement.up, target=78.0
    )
    assert [r["point_type"] for r in rows] == [p.point_type.value for p in expected.points]
    assert float(rows[0]["upl"]) == expected.points[0].upl
    assert rows[-1]["numerator"]
    assert rows[-1]["denominator"]


def test_rebases_stored_as_data_split_the_limits(
    client: TestClient, sign_in: SignIn, snapshot_writer: WriteSnapshot, app_settings: Settings
) -> None:
    from wholesystem.metrics.models import MetricRebase
    from wholesystem.store.db import session_scope

    snapshot_writer()
    engine = make_engine(app_settings.resolved_database_url)
    with session_scope(make_session_factory(engine)) as s:
        s.add(
            MetricRebase(
                metric_id="ae_4hr",
                area_code=None,
                rebase_date=date(2025, 4, 1),
                reason="new streaming model",
                agreed_by="board",
            )
        )
    engine.dispose()
    sign_in("carer")
    rows = _csv(client.get("/dashboard/metrics/ae_4hr.csv"))
    means = {r["mean"] for r in rows}
    assert len(means) == 2
    assert rows[11]["mean"] != rows[12]["mean"]
    html = client.get("/dashboard/metrics/ae_4hr").text
    assert "rebased at 2025-04-01" in html


def _target(metric: str, area: str, period: date) -> bool:
    return metric == "ae_4hr" and area == "RA1" and period == PERIODS[-1]


def test_snapshots_list_compare_and_csv(
    client: TestClient, sign_in: SignIn, snapshot_writer: WriteSnapshot
) -> None:
    first = snapshot_writer(published_by="analyst-a")
    changed = [
        (
            m,
            a,
            k,
            p,
            n,
            d,
            (v + 1 if v is not None and m == "ae_4hr" and a == "RA1" and p == PERIODS[-1] else v),
        )
        for m, a, k, p, n, d, v in sample_rows()
    ]
    second = snapshot_writer(changed, published_by="analyst-b", note="corrected A&E March")
    sign_in("carer")
    page = client.get("/dashboard/snapshots").text
    assert f'Snapshot {second}</a> <strong class="nhsuk-tag nhsuk-tag--green">Current' in page
    assert "analyst-a" in page
    assert "corrected A&amp;E March" in page
    snaps_csv = _csv(client.get("/dashboard/snapshots.csv"))
    assert [r["snapshot_id"] for r in snaps_csv] == [str(second), str(first)]
    assert all(len(r["content_hash"]) == 64 for r in snaps_csv)
    compare = client.get(f"/dashboard/snapshots/compare?a={first}&b={second}").text
    assert 'data-testid="change-count">1 values changed' in compare
    assert "Testshire Hospitals NHS Foundation Trust" in compare
    assert "+1.0%" in compare
    rows = _csv(client.get(f"/dashboard/snapshots/compare.csv?a={first}&b={second}"))
    assert len(rows) == 1
    assert rows[0]["metric_id"] == "ae_4hr"
    assert rows[0]["area_code"] == "RA1"
    same = client.get(f"/dashboard/snapshots/compare?a={first}&b={first}").text
    assert "the same content hash" in same
    assert client.get(f"/dashboard/snapshots/compare?a={first}&b=999").status_code == 404
    # Earlier snapshots stay readable.
    old = client.get(f"/dashboard/metrics/ae_4hr?area=RA1&snapshot={first}").text
    assert "68.0%" in old


def test_publishing_needs_the_permission_and_a_csrf_token(
    client: TestClient, sign_in: SignIn
) -> None:
    sign_in("carer")
    page = client.get("/dashboard/snapshots").text
    assert "Publish a new snapshot" not in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/dashboard").text)
    forged = client.post(
        "/dashboard/snapshots/publish",
        data={"csrf_token": token.group(1) if token else "x"},
        follow_redirects=False,
    )
    assert forged.status_code == 403


def test_publish_with_an_empty_lake_explains_and_changes_nothing(
    client: TestClient, sign_in: SignIn
) -> None:
    sign_in("admin")
    page = client.get("/dashboard/snapshots").text
    assert "Publish a new snapshot" in page
    response = client.post(
        "/dashboard/snapshots/publish", data={"csrf_token": csrf_from(page)}, follow_redirects=False
    )
    assert response.status_code == 409
    assert "nothing to publish" in response.text.lower() or "no metric" in response.text.lower()
    assert "No snapshot has been published yet" in client.get("/dashboard/snapshots").text


def test_publishing_from_the_web_writes_a_snapshot_and_raises_concerns(
    client: TestClient, sign_in: SignIn, app_settings: Settings
) -> None:
    from tests.metrics.lakefixture import ORG_CODES, write_returns, write_small_lake
    from wholesystem.governance.concerns.models import Concern
    from wholesystem.governance.demo import load_demo_governance
    from wholesystem.metrics.returns import load_returns

    lake = write_small_lake(app_settings.resolved_lake_dir)
    load_returns(lake, write_returns(app_settings.data_dir / "returns"), ORG_CODES)
    engine = make_engine(app_settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        load_demo_governance(s)  # the bodies whose members own concerns
        s.commit()
    engine.dispose()
    sign_in("admin")
    page = client.get("/dashboard/snapshots").text
    response = client.post(
        "/dashboard/snapshots/publish", data={"csrf_token": csrf_from(page)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/snapshots?published=1"
    engine = make_engine(app_settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        raised = s.scalars(select(Concern).where(Concern.source == "metric")).all()
    engine.dispose()
    # the small lake has failing metrics (the board report test's two among them)
    assert raised
    assert {c.raised_by for c in raised} == {"admin"}


def test_board_report_is_print_ready(
    client: TestClient, sign_in: SignIn, snapshot_writer: WriteSnapshot
) -> None:
    snapshot_writer()
    sign_in("carer")
    html = client.get("/dashboard/board-report").text
    assert "nhsuk-header__navigation" not in html  # no navigation
    assert "Failing metrics (2)" in html
    summary = html[html.index("Failing metrics") : html.index('class="ws-report-domain"')]
    assert "A&amp;E 4-hour performance" in summary
    assert "Special-cause concern: 3 months below the lower limit" in summary
    assert html.count('class="ws-report-domain"') >= 5  # one page-break section per domain
    assert html.count('class="ws-spc-chart"') >= 3
    assert 'data-testid="snapshot-stamp"' in html
    css = client.get("/static/wholesystem.css").text
    assert "@media print" in css
    assert "page-break-before: always" in css


def test_pages_need_sign_in(client: TestClient, snapshot_writer: WriteSnapshot) -> None:
    snapshot_writer()
    for path in ("/dashboard", "/dashboard/metrics/ae_4hr", "/dashboard/board-report"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")


@pytest.mark.parametrize(
    "path", ["/dashboard", "/dashboard/metrics/ae_4hr", "/dashboard/board-report"]
)
def test_navigation_shows_the_dashboard(
    client: TestClient, sign_in: SignIn, snapshot_writer: WriteSnapshot, path: str
) -> None:
    snapshot_writer()
    sign_in("carer")
    html = client.get("/").text
    assert 'href="/dashboard"' in html
    assert client.get(path).status_code == 200
