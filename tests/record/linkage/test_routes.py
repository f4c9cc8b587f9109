"""The linkage page on SQLite and PostgreSQL: figures, lists, why-linked, CSVs, IG and audit."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.record.linkage.test_report import N3, N4, write_lake
from tests.web.conftest import PASSWORD, app_settings, csrf_from  # noqa: F401 (fixture)
from wholesystem.access.models import AuditEvent
from wholesystem.access.pseudonyms import pseudonym_key
from wholesystem.config import Settings
from wholesystem.record.linkage import report
from wholesystem.record.linkage.masking import Mask
from wholesystem.record.linkage.pipeline import PERSON_INDEX_STEP
from wholesystem.record.linkage.routes import PAGE_SIZE
from wholesystem.store.db import make_engine, make_session_factory, session_scope
from wholesystem.store.lake import Lake
from wholesystem.store.runs import recorded_run
from wholesystem.web.app import create_app

# Given names in the hand-built lake's shared-number and duplicate lists.
NAMES = ("Eve", "Finn", "Gail", "Mary", "Cal")


@pytest.fixture
def linked(app_settings: Settings) -> Settings:  # noqa: F811
    """The hand-built lake, a recorded linkage run, and an analyst."""
    from wholesystem.access.users import create_user

    write_lake(app_settings.resolved_lake_dir)
    engine = make_engine(app_settings.resolved_database_url)
    factory = make_session_factory(engine)
    with session_scope(factory) as s:
        create_user(
            s,
            username="ana",
            display_name="Ana",
            role="analyst",
            organisation_code="QXX",
            password=PASSWORD,
            actor="test",
        )
    with recorded_run(factory, PERSON_INDEX_STEP) as run:
        run.summary = "11 source records linked into 7 persons"
    engine.dispose()
    return app_settings


@pytest.fixture
def client(linked: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(linked), base_url="https://testserver") as c:
        yield c


@pytest.fixture
def sign_in(client: TestClient) -> Callable[[str], TestClient]:
    def _sign_in(username: str) -> TestClient:
        token = csrf_from(client.get("/login").text)
        response = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return client

    return _sign_in


def audit_actions(settings: Settings) -> list[tuple[str, str, str]]:
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        rows = [
            (e.actor, e.action, e.object_id)
            for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))
            if e.action.startswith("linkage.")
        ]
    engine.dispose()
    return rows


def test_the_page_shows_the_figures(sign_in: Callable[[str], TestClient]) -> None:
    client = sign_in("ana")
    page = client.get("/linkage")
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="data-as-at"' in html
    assert "no load of this data" not in html  # stamped with the recorded run
    assert 'href="/linkage"' in html  # the navigation entry
    assert "NHS number (deterministic)" in html
    assert "2 NHS numbers: 1 on records of different persons, and 1 whose" in html
    for csv in ("summary", "methods", "sizes", "match-rates", "duplicates-by-source"):
        assert f'href="/linkage/{csv}.csv' in html
    for name in NAMES:
        assert name not in html
    summary = client.get("/linkage/summary.csv").text.splitlines()
    assert summary[0] == "measure,value"
    assert "Source records,12" in summary
    assert "Persons,7" in summary
    assert "Records not yet linked (ingested since the last run),1" in summary
    methods = client.get("/linkage/methods.csv").text.splitlines()
    assert methods[1:] == [
        "nhs,NHS number (deterministic),1,2",
        "model,Probabilistic (at least one model link),2,4",
        "identical,Identical details only,1,2",
        "singleton,Singleton (one record),3,3",
    ]
    assert client.get("/linkage/sizes.csv").text.splitlines()[1:3] == ["1,3,3", "2,4,8"]
    rates = client.get("/linkage/match-rates.csv?source=TR2").text.splitlines()
    assert rates[1] == "TR2,ecds,4,3,1,33.33,2,66.67,2,1,75.00"
    assert len(rates) == 4
    dupes = client.get("/linkage/duplicates-by-source.csv").text.splitlines()
    assert dupes == ["source,persons_with_several_local_ids,extra_local_ids", "GP1,1,1"]


def test_figures_follow_a_rebuilt_index(
    sign_in: Callable[[str], TestClient], linked: Settings
) -> None:
    client = sign_in("ana")
    assert "Source records,12" in client.get("/linkage/summary.csv").text.splitlines()
    lake = Lake(linked.resolved_lake_dir)
    table = lake.read_arrow("source_identity")
    lake.write_arrow("source_identity", table.filter(pc.not_equal(table["record_id"], "r12")))
    assert "Source records,11" in client.get("/linkage/summary.csv").text.splitlines()


def test_figures_follow_an_ingest_with_the_kept_tables(
    sign_in: Callable[[str], TestClient], linked: Settings
) -> None:
    """With the person-index step's kept tables, a record ingested since (not indexed)
    is counted on the page at once, and the kept lists still serve."""
    lake = Lake(linked.resolved_lake_dir)
    report.write_working_tables(lake)
    client = sign_in("ana")
    before = client.get("/linkage/summary.csv").text.splitlines()
    assert "Source records,12" in before
    assert "Records not yet linked (ingested since the last run),1" in before
    table = lake.read_arrow("source_identity")
    extra = {**table.slice(0, 1).to_pylist()[0], "record_id": "new1", "source": "TR9"}
    lake.write_arrow(
        "source_identity", pa.concat_tables([table, pa.Table.from_pylist([extra], table.schema)])
    )
    after = client.get("/linkage/summary.csv").text.splitlines()
    assert "Source records,13" in after
    assert "Records not yet linked (ingested since the last run),2" in after
    rates = client.get("/linkage/match-rates.csv").text
    assert "TR9" in rates
    assert client.get("/linkage").status_code == 200


def test_filters_live_in_the_url(sign_in: Callable[[str], TestClient]) -> None:
    client = sign_in("ana")
    html = client.get("/linkage?source=TR1").text
    assert "Clear filters" in html
    rates = html.split('data-testid="match-rates"')[1].split("</table>")[0]
    assert "TR1" in rates
    assert "GP1" not in rates
    assert "1 NHS numbers with a record matching these filters" in html
    bad = client.get("/linkage?dataset=nope")
    assert bad.status_code == 400
    assert "is not a dataset" in bad.text


def masked(settings: Settings) -> Mask:
    return Mask(pseudonym_key(settings))


# Every record id, local patient id and person id of the hand-built lake: none of them may
# reach an analyst (a record id carries the partner's local patient id).
RECORD_IDS = tuple(f"r{n:02d}" for n in range(1, 13))
LOCAL_IDS = ("g1", "t1", "t2", "e1", "g2", "g3", "e2", "g4", "t3", "g5", "e3", "e4")
PERSON_IDS = tuple(f"WP{n:010d}" for n in range(1, 10))
_IDS = re.compile(r"\b(?:r\d\d|[gte]\d|WP\d{10})\b")


def leaked_ids(text: str) -> set[str]:
    """Ids of the lake found in a response (the page's <main>, or all of a CSV)."""
    body = text.split("<main", 1)[1] if "<main" in text else text
    return {m for m in _IDS.findall(body) if m in RECORD_IDS + LOCAL_IDS + PERSON_IDS}


def test_analysts_see_lists_without_identity_values(
    sign_in: Callable[[str], TestClient], linked: Settings
) -> None:
    mask = masked(linked)
    client = sign_in("ana")
    shared = client.get("/linkage/shared-nhs-numbers")
    assert shared.status_code == 200
    html = shared.text
    # persons as the pseudonymised record view knows them, records under their own pseudonyms
    assert mask.person("WP0000000005") in html
    assert mask.person("WP0000000006") in html
    assert mask.record("r08") in html
    assert mask.record("r08") != mask.person("r08")
    assert "(withheld)" in html
    assert 'data-testid="withheld-note"' in html
    assert N3 not in html
    assert N4 not in html
    for name in NAMES:
        assert name not in html
    assert f"/linkage/pairs?a={mask.record('r08')}&amp;b={mask.record('r09')}" in html
    dupes = client.get("/linkage/duplicates").text
    assert mask.person("WP0000000003") in dupes
    assert "Cal" not in dupes
    csv = client.get("/linkage/shared-nhs-numbers.csv").text
    assert mask.record("r08") in csv
    assert N3 not in csv
    assert "(withheld)" in csv
    for name in NAMES:
        assert name not in csv
    dcsv = client.get("/linkage/duplicates.csv").text.splitlines()
    assert dcsv[1].startswith(
        f"GP1,{mask.person('WP0000000003')},2,{mask.record('r05')},gp_patients,(withheld),"
    )
    pair = client.get(
        "/linkage/pairs", params={"a": mask.record("r08"), "b": mask.record("r09")}
    ).text
    assert f"Two persons: {mask.person('WP0000000005')} and {mask.person('WP0000000006')}." in pair
    assert "Eve" not in pair
    assert "Finn" not in pair
    assert N3 not in pair
    actions = audit_actions(linked)
    # analysts' views are not identifiable; their exports are still audited
    assert [a for _, a, _ in actions if a != "linkage.export"] == []
    assert ("ana", "linkage.export", "linkage-shared-nhs-numbers.csv") in actions
    assert ("ana", "linkage.export", "linkage-duplicates.csv") in actions


def test_no_record_local_or_person_id_reaches_an_analyst(
    sign_in: Callable[[str], TestClient], linked: Settings
) -> None:
    mask = masked(linked)
    client = sign_in("ana")
    paths = [
        "/linkage",
        "/linkage/shared-nhs-numbers",
        "/linkage/shared-nhs-numbers?dataset=ecds",
        "/linkage/duplicates",
        "/linkage/duplicates?source=GP1",
        *(
            f"/linkage/{name}.csv"
            for name in (
                "summary",
                "methods",
                "sizes",
                "match-rates",
                "duplicates-by-source",
                "shared-nhs-numbers",
                "duplicates",
            )
        ),
    ]
    # every "why linked" link the lists offer, followed, page and CSV
    lists = client.get("/linkage/shared-nhs-numbers").text + client.get("/linkage/duplicates").text
    pair_links = sorted(set(re.findall(r'href="(/linkage/pairs\?[^"]+)"', lists)))
    assert len(pair_links) >= 3
    for link in pair_links:
        query = link.split("?", 1)[1].replace("&amp;", "&")
        paths += [f"/linkage/pairs?{query}", f"/linkage/pairs.csv?{query}"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert leaked_ids(response.text) == set(), path
    # the pair on the same person joined by the model: its path is pseudonymised too
    joined = client.get(
        "/linkage/pairs", params={"a": mask.record("r10"), "b": mask.record("r11")}
    ).text
    assert f"One person: both records are {mask.person('WP0000000007')}." in joined
    assert leaked_ids(joined) == set()


def test_analysts_cannot_name_records_by_id(
    sign_in: Callable[[str], TestClient], linked: Settings
) -> None:
    mask = masked(linked)
    client = sign_in("ana")
    for a, b in (
        ("r08", "r09"),  # real ids are not accepted from an analyst
        (mask.record("r08"), "r09"),
        (mask.person("WP0000000005"), mask.record("r09")),  # a person's pseudonym is no record
        # a record no list shows: its pseudonym resolves to nothing
        (mask.record("r03"), mask.record("r04")),
    ):
        response = client.get("/linkage/pairs", params={"a": a, "b": b})
        assert response.status_code == 404
        assert "not in the person index" in response.text
        assert client.get("/linkage/pairs.csv", params={"a": a, "b": b}).status_code == 404
    # a pseudonym under another key names nothing either
    other = Mask(b"k" * 32)
    response = client.get(
        "/linkage/pairs", params={"a": other.record("r08"), "b": other.record("r09")}
    )
    assert response.status_code == 404


def test_data_quality_managers_see_identity_values_and_are_audited(
    sign_in: Callable[[str], TestClient], linked: Settings
) -> None:
    client = sign_in("admin")
    html = client.get("/linkage/shared-nhs-numbers?page=1").text
    assert N3 in html
    assert N4 in html
    assert "Eve East" in html
    assert "Finn East" in html
    assert "(withheld)" not in html
    assert "Contradicted, joined into one person by the model" in html
    dupes = client.get("/linkage/duplicates?source=GP1").text
    assert "Cal Crow" in dupes
    assert "local id g3" in dupes
    csv = client.get("/linkage/shared-nhs-numbers.csv?dataset=ecds").text.splitlines()
    assert len(csv) == 3
    assert N4 in csv[1]
    assert "Mary" in csv[2]
    pair = client.get("/linkage/pairs", params={"a": "r10", "b": "r11"}).text
    assert "One person: both records are WP0000000007." in pair
    assert "Gail" in pair
    assert "Mary" in pair
    assert "+4.20 bits" in pair
    assert "Given name" in pair
    assert "-3.00" in pair
    assert "Their demographics contradict it" in pair
    actions = [(a, o) for actor, a, o in audit_actions(linked) if actor == "admin"]
    assert actions == [
        ("linkage.list.view", "shared_nhs_numbers"),
        ("linkage.list.view", "duplicates"),
        ("linkage.export", "linkage-shared-nhs-numbers.csv"),
        ("linkage.pair.view", "r10"),
    ]


def test_why_linked_page_and_csv(sign_in: Callable[[str], TestClient]) -> None:
    # any pair, named by record id, is for those who manage data quality
    client = sign_in("admin")
    page = client.get("/linkage/pairs", params={"a": "r03", "b": "r04"})
    assert page.status_code == 200
    assert 'data-testid="weights"' in page.text
    assert "+18.40 bits" in page.text
    assert "0.999990" in page.text
    assert "The contradiction rule" not in page.text  # no shared NHS number
    csv = client.get("/linkage/pairs.csv", params={"a": "r03", "b": "r04"}).text.splitlines()
    assert csv[0] == "comparison,match_weight"
    assert "dob,9.3" in csv
    assert "total,18.4" in csv
    assert "probability,0.99999" in csv
    nhs = client.get("/linkage/pairs", params={"a": "r01", "b": "r02"}).text
    assert "Same valid NHS number, and the demographics do not contradict it" in nhs
    assert "do not contradict it, so the number joins them" in nhs
    missing = client.get("/linkage/pairs", params={"a": "r01", "b": "r12"})
    assert missing.status_code == 404
    assert "not in the person index" in missing.text
    assert client.get("/linkage/pairs?a=r01").status_code in (400, 422)


def test_lists_are_paged(sign_in: Callable[[str], TestClient]) -> None:
    client = sign_in("ana")
    first = client.get("/linkage/shared-nhs-numbers").text
    assert "Showing 1 to 2 of 2 (page 1 of 1)." in first
    beyond = client.get("/linkage/shared-nhs-numbers?page=2").text
    assert "on this page" in beyond
    assert client.get("/linkage/duplicates?page=0").status_code in (400, 422)
    assert PAGE_SIZE >= 2


def test_guards_and_no_index(
    sign_in: Callable[[str], TestClient], client: TestClient, linked: Settings, tmp_path: Path
) -> None:
    assert client.get("/linkage", follow_redirects=False).status_code in (302, 303)
    sign_in("carer")
    for path in ("/linkage", "/linkage/shared-nhs-numbers", "/linkage/pairs?a=r01&b=r02"):
        assert client.get(path).status_code == 403
    assert client.get("/linkage/duplicates.csv").status_code == 403
    client.cookies.clear()
    sign_in("ana")
    for table in ("source_identity", "person_index", "person_link_evidence"):
        (linked.resolved_lake_dir / f"{table}.parquet").unlink()
    html = client.get("/linkage").text
    assert 'data-testid="not-built"' in html
    assert "wholesystem link-index" in html
    assert client.get("/linkage/summary.csv").status_code == 404
    assert client.get("/linkage/shared-nhs-numbers").status_code == 200


def test_sources_are_named_as_the_footprint_names_them(
    sign_in: Callable[[str], TestClient], linked: Settings
) -> None:
    """A source the footprint names (GP1 here, once added) shows by its name and code on
    the page, its filter, the lists and "why linked"; one it does not, by its code; the
    CSVs keep the codes."""
    from wholesystem.footprint.models import Organisation

    engine = make_engine(linked.resolved_database_url)
    with session_scope(make_session_factory(engine)) as s:
        s.add(Organisation(code="GP1", name="Dune Surgery", type="gp_practice"))
    engine.dispose()
    named = "Dune Surgery (GP1)"
    client = sign_in("ana")
    html = client.get("/linkage").text
    assert f'<option value="GP1">{named}</option>' in html
    assert f'<a href="/linkage/duplicates?source=GP1">{named}</a>' in html
    assert re.search(rf"<td[^>]*>(<strong>)?{re.escape(named)}(</strong>)?</td>", html)
    assert re.search(r"<td[^>]*>(<strong>)?TR2(</strong>)?</td>", html)
    dupes = client.get("/linkage/duplicates").text
    assert named in dupes
    [pair] = sorted(set(re.findall(r'href="(/linkage/pairs\?[^"]+)"', dupes)))[:1]
    assert named in client.get(pair.replace("&amp;", "&")).text
    assert client.get("/linkage/duplicates-by-source.csv").text.splitlines()[1] == "GP1,1,1"
